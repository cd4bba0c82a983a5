"""NIQE (Mittal et al. 2013, "Making a 'Completely Blind' Image Quality Analyzer") in torch.

Follows the official MATLAB release (as used by PIRM 2018 for the Perceptual Index and
ported by BasicSR/pyiqa): the image (Y of YCbCr, rounded to 8-bit levels, as MATLAB's
``rgb2ycbcr`` on uint8 gives) is cropped to whole 96x96 blocks; at two scales (the second
made by MATLAB bicubic halving) local mean/contrast normalisation with the 7x7 Gaussian
window (replicate borders) gives MSCN coefficients; per block, an AGGD fit of the
coefficients (alpha on the grid 0.2:0.001:10, mean beta) and of the products of
neighbours along 4 directions (alpha, mean, beta_l, beta_r) gives 18 features per scale.
The 36-dimensional block features are fitted by a Gaussian (NaN-aware) and compared with
the pristine model: NIQE = sqrt((mu_p - mu_d)^T pinv((S_p + S_d) / 2) (mu_p - mu_d)).

Everything per image is vectorised over blocks; it runs on CPU or GPU in float64.
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srdistill.errors import DataError
from srdistill.ops.color import luma_8bit
from srdistill.ops.imresize import imresize

SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
MAX_PARAMS_BYTES = 1 << 20


def find_params_file(path: str | Path | None = None) -> Path:
    """The pristine-model file (the release's modelparameters.mat and window as BasicSR
    ships them, niqe_pris_params.npz): ``path``, or where srdistill.weights looks."""
    from srdistill.weights import require_weight

    return require_weight("niqe", path)


@lru_cache(maxsize=4)
def load_params(path: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The pristine model; a present but broken file is an error, never a silent n/a."""
    from srdistill.safe_load import require_regular_file

    found = require_regular_file(find_params_file(path), "NIQE parameter file", DataError)
    if found.stat().st_size > MAX_PARAMS_BYTES:  # the real file is about 11 KB
        raise DataError(
            f"NIQE parameter file {found} is {found.stat().st_size:,} bytes, far more than the "
            "pristine model's 36 means and 36x36 covariance; replace it with niqe_pris_params"
        )
    try:
        with np.load(found, allow_pickle=False) as f:
            mu = torch.from_numpy(np.asarray(f["mu_pris_param"], dtype=np.float64)).reshape(-1)
            cov = torch.from_numpy(np.asarray(f["cov_pris_param"], dtype=np.float64))
            window = torch.from_numpy(np.asarray(f["gaussian_window"], dtype=np.float64))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        first = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise DataError(
            f"NIQE parameter file {found} is unreadable or incomplete ({first}); replace it "
            "with the release's niqe_pris_params (see docs/metrics.md)"
        ) from None
    if mu.shape != (36,) or cov.shape != (36, 36) or window.shape != (7, 7):
        raise DataError(
            f"NIQE parameter file {found} has shapes {tuple(mu.shape)}, {tuple(cov.shape)}, "
            f"{tuple(window.shape)}; expected (36,), (36, 36), (7, 7)"
        )
    return mu, cov, window


@lru_cache(maxsize=4)
def _gamma_table(device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The AGGD grid and, per grid value, every gamma-function constant the fit needs.

    Computed once with scipy's gamma exactly as the reference does, so the fitted shape
    (always a grid value) and the derived constants match it bit for bit.
    """
    from scipy.special import gamma

    gam = np.arange(0.2, 10.001, 0.001)  # the reference grid, 9801 values
    r_gam = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))  # increasing in gam
    beta_factor = np.sqrt(gamma(1 / gam) / gamma(3 / gam))
    mean_factor = gamma(2 / gam) / gamma(1 / gam)
    return tuple(torch.from_numpy(t).to(device) for t in (gam, r_gam, beta_factor, mean_factor))


def _nearest_on_grid(r_gam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """argmin_i (r_gam[i] - x)^2 for increasing r_gam, by binary search; ties go to the
    lower index as argmin's do. NaN inputs give index 0 (callers mask them)."""
    hi = torch.searchsorted(r_gam, x.contiguous()).clamp(1, len(r_gam) - 1)
    lo = hi - 1
    take_lo = (r_gam[lo] - x) ** 2 <= (r_gam[hi] - x) ** 2
    return torch.where(take_lo, lo, hi)


def aggd_fit(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric generalised Gaussian fit per row of ``x`` (n, m).

    Returns alpha, beta_l, beta_r and the AGGD mean (beta_r - beta_l) G(2/a) / G(1/a).
    Rows with no negative (or no positive) values give NaN, as the reference does.
    """
    gam, r_gam, beta_factor, mean_factor = _gamma_table(str(x.device))
    # The negative and positive parts: their squares' sums, their counts and
    # |x| = pos - neg, in a few passes.
    neg, pos = x.clamp(max=0), x.clamp(min=0)
    neg_sq = (neg * neg).sum(1)
    pos_sq = (pos * pos).sum(1)
    left_std = torch.sqrt(neg_sq / (x < 0).sum(1))
    right_std = torch.sqrt(pos_sq / (x > 0).sum(1))
    gammahat = left_std / right_std
    m = x.shape[1]
    rhat = ((pos.sum(1) - neg.sum(1)) / m) ** 2 / ((neg_sq + pos_sq) / m)
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    idx = _nearest_on_grid(r_gam, torch.nan_to_num(rhatnorm, nan=0.0))
    invalid = torch.isnan(rhatnorm)
    alpha = torch.where(invalid, torch.nan, gam[idx])
    bl, br = left_std * beta_factor[idx], right_std * beta_factor[idx]
    mean = torch.where(invalid, torch.nan, (br - bl) * mean_factor[idx])
    return alpha, bl, br, mean


def _neighbour_products(blocks: torch.Tensor) -> torch.Tensor:
    """(4, n, b, b): each block times itself rolled by each of ``SHIFTS`` (np.roll within
    the block, as the release's circshift), written piecewise instead of rolling."""
    out = torch.empty((len(SHIFTS), *blocks.shape), dtype=blocks.dtype, device=blocks.device)
    for k, (dy, dx) in enumerate(SHIFTS):
        # rolled[i, j] = block[i - dy, j - dx] (indices mod b): split each axis where the
        # index wraps, then multiply the matching pieces.
        for ys, yr in _roll_pieces(blocks.shape[1], dy):
            for xs, xr in _roll_pieces(blocks.shape[2], dx):
                torch.mul(blocks[:, ys, xs], blocks[:, yr, xr], out=out[k][:, ys, xs])
    return out


def _roll_pieces(n: int, shift: int) -> list[tuple[slice, slice]]:
    """Pairs (destination, source) of slices with rolled[dest] = x[source] for a roll by
    ``shift`` along an axis of length ``n``."""
    s = shift % n
    if s == 0:
        return [(slice(0, n), slice(0, n))]
    return [(slice(s, n), slice(0, n - s)), (slice(0, s), slice(n - s, n))]


def block_features(blocks: torch.Tensor) -> torch.Tensor:
    """The 18 NIQE features of each MSCN block (n, b, b) -> (n, 18)."""
    n = blocks.shape[0]
    alpha, bl, br, _ = aggd_fit(blocks.reshape(n, -1))
    feats = [alpha, (bl + br) / 2]
    pairs = _neighbour_products(blocks)
    a, l, r, mean = (t.view(4, n) for t in aggd_fit(pairs.reshape(4 * n, -1)))
    for k in range(4):
        feats += [a[k], mean[k], l[k], r[k]]
    return torch.stack(feats, dim=1)


def _filter_replicate(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """imfilter(x, window, 'replicate') for a stack of images (..., H, W), up to rounding:
    the window as two 7-tap passes (its rank-one factors). ``_mscn`` makes the exactly
    flat neighbourhoods, where rounding decides, bit-exact."""
    k = window.shape[0] // 2
    h, w = x.shape[-2:]
    padded = F.pad(x.reshape(-1, 1, h, w), (k, k, k, k), mode="replicate")
    size = window.shape[0]
    column = window[:, k] / window[k, k].sqrt()
    row = window[k, :] / window[k, k].sqrt()
    out = F.conv2d(F.conv2d(padded, row.view(1, 1, 1, size)), column.view(1, 1, size, 1))
    return out.reshape(x.shape)


def _matlab_order_filter(
    img: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, window: torch.Tensor
) -> torch.Tensor:
    """imfilter's value at the given pixels (replicate borders), summed the way MATLAB
    does: one product per tap, the taps in column-major order of the window (the order
    of its nonzero elements, h(h ~= 0)), accumulated one after another."""
    k = window.shape[0] // 2
    h, w = img.shape
    acc = torch.zeros(rows.shape, dtype=img.dtype, device=img.device)
    for c in range(window.shape[1]):
        cc = (cols + (c - k)).clamp(0, w - 1)
        for r in range(window.shape[0]):
            acc = acc + img[(rows + (r - k)).clamp(0, h - 1), cc] * float(window[r, c])
    return acc


def _mscn(img: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Mean-subtracted contrast-normalised coefficients (Eq. 1 of the NIQE paper), with
    MATLAB's local mean and contrast (imfilter, replicate borders).

    Where a pixel equals its local mean in exact arithmetic (a flat neighbourhood, a
    linear ramp, any pattern symmetric about it), the coefficient is ~1e-14 and its sign
    or zero, which the AGGD fit counts, is decided by the order in which the 49 products
    are summed. MATLAB's imfilter filters a double image separably only from 150 kernel
    elements on (getSeparableFilterThreshold), so there the 7x7 window is one 2-D kernel
    whose taps are accumulated in column-major order; those pixels' means are recomputed
    in exactly that order. Everywhere else the order moves the mean by ~1e-16 relative,
    far below the coefficient, and a fast separable filter gives it.
    """
    mu, mean_sq = _filter_replicate(torch.stack([img, img * img]), window)
    # Genuine |x - mu| on 8-bit levels (or their bicubic half) is orders of magnitude
    # above 1e-8; rounding noise of the mean is ~1e-13.
    rows, cols = ((img - mu).abs() < 1e-8).nonzero(as_tuple=True)
    if rows.numel():
        mu[rows, cols] = _matlab_order_filter(img, rows, cols, window)
    sigma = torch.sqrt((mean_sq - mu * mu).abs())
    return (img - mu) / (sigma + 1)


def _blocks(img: torch.Tensor, size: int) -> torch.Tensor:
    h, w = img.shape
    nh, nw = h // size, w // size
    return (
        img[: nh * size, : nw * size]
        .reshape(nh, size, nw, size)
        .permute(0, 2, 1, 3)
        .reshape(-1, size, size)
    )


def niqe_of_luma(y: torch.Tensor, params: str | None = None, block_size: int = 96) -> float:
    """NIQE of one grey/Y image (H, W) with values on the [0, 255] scale."""
    mu_p, cov_p, window = load_params(params)
    y = y.to(torch.float64)
    h, w = y.shape
    nh, nw = h // block_size, w // block_size
    if nh * nw < 2:  # one block gives no covariance (the reference fails there too)
        raise ValueError(
            f"NIQE needs at least two {block_size}x{block_size} blocks, got a {w}x{h} image"
        )
    img = y[: nh * block_size, : nw * block_size]
    feats = []
    for scale in (1, 2):
        feats.append(block_features(_blocks(_mscn(img, window), block_size // scale)))
        if scale == 1:
            # computequality.m halves the 0-255 image itself. On whole-number levels the
            # x0.5 bicubic weights are dyadic, so flat areas stay exactly flat (dividing
            # by 255 first, as the common ports do, can move them by an ulp).
            img = imresize(img[None], 0.5)[0]
    dist = torch.cat(feats, dim=1)
    mu_d = torch.nanmean(dist, dim=0)
    clean = dist[torch.isfinite(dist).all(dim=1)]
    if clean.shape[0] < 2 or not bool(torch.isfinite(mu_d).all()):
        # Flat (or two-level) blocks have no spread to fit a distribution to; with fewer
        # than two measurable blocks the covariance, and so NIQE, is undefined.
        raise ValueError(
            f"NIQE cannot score this image: {clean.shape[0]} of its {dist.shape[0]} "
            f"{block_size}x{block_size} blocks have measurable texture (flat or two-level "
            "areas give no statistics); it needs at least 2"
        )
    cov_d = torch.cov(clean.T)
    diff = (mu_p.to(dist) - mu_d)[None]
    inv = torch.linalg.pinv((cov_p.to(dist) + cov_d) / 2)
    return float(torch.sqrt(diff @ inv @ diff.T).item())


def niqe(
    img: torch.Tensor,
    crop_border: int = 0,
    *,
    y_channel: bool = True,
    params: str | None = None,
    block_size: int = 96,
) -> float:
    """NIQE of a float RGB (or grey) image in [0, 1], CHW; lower is better.

    Default conventions are PIRM 2018's: Y channel of BT.601 YCbCr rounded to 8-bit levels,
    ``crop_border`` pixels (the scale) removed from each side. ``y_channel=False`` scores
    the MATLAB-style grey conversion of RGB (0.299 R + 0.587 G + 0.114 B), rounded too.
    """
    luma = luma_8bit(img, y_channel)
    if crop_border > 0:
        luma = luma[crop_border:-crop_border, crop_border:-crop_border]
    return niqe_of_luma(luma, params, block_size)

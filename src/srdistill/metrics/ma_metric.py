"""Ma et al. 2017, "Learning a no-reference quality metric for single-image super-resolution"
(CVIU 158): feature extraction and the authors' trained two-stage regression.

The score of a grey image (PIRM 2018: the Y channel of YCbCr at 8-bit levels) is
``[1, s1, s2, s3] @ linear`` where ``s_i`` is the prediction of a random forest
(Breiman's regression forest as in the ``randomforest-matlab`` package, 2000 trees in
the release) on one of three feature groups:

1. local frequency (18): at three scales of a Gaussian pyramid (3x3, sigma 0.5, keeping
   every second pixel from the second), every 3x3 block with a 2-pixel border (7x7,
   MATLAB ``blkproc`` layout, zero padding) is DCT-transformed; per block the generalised
   Gaussian shape of the AC coefficients, their coefficient of variation and the variance
   of that coefficient over three orientation bands; pooled per scale as the mean of the
   10 % most telling blocks (lowest shape, highest variation) and the mean of all.
2. global frequency (45): a 2-level, 6-orientation steerable pyramid of the image at
   0-255 values, each band divisively normalised by its 3x3 neighbourhood, its parent
   (the coarser band of the same orientation, where the release gives one) and the other
   orientations of its scale (DIIVINE's Gaussian-scale-mixture normalisation); the
   generalised Gaussian shape of each normalised band (12) and of each orientation across
   both scales (6); the mean contrast-structure term of SSIM (0-255 constants) between each
   raw band, resized to the high-pass residual's size, and that raw residual (12), and
   between the normalised orientations of the finest scale (15).
3. spatial (75): singular values of the matrix of non-overlapping 5x5 patches, per scale.

The trained model is the authors' file (``model.mat`` of github.com/chaoma99/sr-metric);
it is read as released and never approximated. The features follow the release's MATLAB
files (feature_all.m, block_dct.m, global_gsm.m, norm_sender_normalized.m,
ssim_index_new.m and matlabPyrTools' buildSFpyr); tests/metrics/matlab_ma.py transcribes
those files line by line, and the tests hold every feature to it within 1e-6 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from srdistill.errors import CheckpointError
from srdistill.metrics.psnr_ssim import gaussian_filter_valid
from srdistill.ops.imresize import imresize
from srdistill.ops.steerable import steerable_pyramid

FEATURE_SIZES = (18, 45, 75)
_EPS = 1e-7  # the release's guard against division by zero (gama_gen_gauss.m, coeff_var)
_ORIENTATION_EPS = 1e-8  # oriented*_dct_rho_config3.m use a smaller one


# --- generalised Gaussian shape ---------------------------------------------------------


@lru_cache(maxsize=2)
def _ggd_table(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Shapes 0.03:0.001:10 and their ratio Gamma(1/g)Gamma(3/g)/Gamma(2/g)^2 (decreasing)."""
    from scipy.special import gammaln

    shapes = 0.03 + 0.001 * np.arange(9971)
    ratio = np.exp(gammaln(1 / shapes) + gammaln(3 / shapes) - 2 * gammaln(2 / shapes))
    return torch.from_numpy(shapes).to(device), torch.from_numpy(ratio).to(device)


def ggd_shape(x: torch.Tensor) -> torch.Tensor:
    """Generalised Gaussian shape of the samples along the last dimension, by moment
    matching (variance over squared mean absolute deviation) on the grid 0.03:0.001:10."""
    shapes, ratio = _ggd_table(str(x.device))
    x = x.to(torch.float64)
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1)
    mad = (x - mean).abs().mean(dim=-1)
    rho = var / (mad**2 + _EPS)
    # ratio decreases with the shape: search the increasing reversed table, then take the
    # nearer neighbour (the lower shape on a tie, like argmin over the table).
    rev = ratio.flip(0)
    j = torch.searchsorted(rev, rho.contiguous()).clamp(1, rev.numel() - 1)
    below, above = rev[j - 1], rev[j]
    take_above = (above - rho).abs() <= (rho - below).abs()
    idx_rev = torch.where(take_above, j, j - 1)
    return shapes[ratio.numel() - 1 - idx_rev]


# --- feature group 1: block DCT ---------------------------------------------------------


def _gaussian_pyramid(img: torch.Tensor, scales: int = 3) -> list[torch.Tensor]:
    """3x3 Gaussian (sigma 0.5), zero-padded 'same' filtering, keep rows/cols 2, 4, ..."""
    t = torch.arange(3, dtype=torch.float64) - 1
    g = torch.exp(-(t**2) / (2 * 0.5**2))
    kernel = torch.outer(g, g)
    kernel = (kernel / kernel.sum()).to(img)[None, None]
    out = [img]
    for _ in range(scales - 1):
        img = F.conv2d(img[None, None], kernel, padding=1)[0, 0][1::2, 1::2]
        out.append(img)
    return out


@lru_cache(maxsize=4)
def _dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix (MATLAB ``dct``/``dct2``)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    m = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


def _orientation_masks() -> torch.Tensor:
    """The three orientation bands of a 7x7 DCT block (near-horizontal frequencies,
    the diagonal band, near-vertical frequencies), 16 coefficients each."""
    first = torch.zeros(7, 7, dtype=torch.bool)
    for row, start in ((0, 1), (1, 2), (2, 4), (3, 5)):
        first[row, start:] = True
    diagonal = torch.zeros(7, 7, dtype=torch.bool)
    for row, (lo, hi) in enumerate(((1, 2), (2, 4), (2, 5), (3, 7), (4, 7), (4, 7)), start=1):
        diagonal[row, lo:hi] = True
    return torch.stack([first, diagonal, first.t()])


def dct_blocks(img: torch.Tensor, step: int = 3, border: int = 2) -> torch.Tensor:
    """DCT of every ``step``-pixel block with a ``border`` of neighbours, laid out as
    MATLAB's ``blkproc`` does (zero padding bottom/right to whole blocks, then around);
    returns (blocks, 7, 7)."""
    h, w = img.shape
    nh, nw = math.ceil(h / step), math.ceil(w / step)
    padded = F.pad(img, (border, nw * step - w + border, border, nh * step - h + border))
    size = step + 2 * border
    blocks = padded.unfold(0, size, step).unfold(1, size, step).reshape(-1, size, size)
    d = _dct_matrix(size).to(img)
    return d @ blocks @ d.t()


def _variation(x: torch.Tensor, eps: float = _EPS) -> torch.Tensor:
    """std(|x|) / mean(|x|) along the last dimension (the release's 'rho')."""
    a = x.abs()
    return a.std(dim=-1) / (a.mean(dim=-1) + eps)


def _mean_of_lowest_tenth(values: torch.Tensor) -> torch.Tensor:
    """block_dct.m: mean of sorted(1:ceil(n*0.1))."""
    n = values.numel()
    return torch.sort(values).values[: math.ceil(n * 0.1)].mean()


def _mean_of_highest_tenth(values: torch.Tensor) -> torch.Tensor:
    """block_dct.m: mean of sorted(fix(n*0.9):end) (1-based), i.e. n - fix(0.9 n) + 1
    values -- one more than a tenth when 0.9 n is whole."""
    n = values.numel()
    return torch.sort(values).values[math.trunc(n * 0.9) - 1 :].mean()


def local_frequency_features(img: torch.Tensor) -> torch.Tensor:
    """Six DCT statistics of one scale (image in [0, 1])."""
    coeffs = dct_blocks(img)
    ac = coeffs.reshape(coeffs.shape[0], -1)[:, 1:]
    shape = ggd_shape(ac)
    variation = _variation(ac)
    masks = _orientation_masks().to(img.device)
    per_band = torch.stack([_variation(coeffs[:, m], _ORIENTATION_EPS) for m in masks], dim=-1)
    orientation = per_band.var(dim=-1)
    return torch.stack(
        [
            _mean_of_lowest_tenth(shape),
            shape.mean(),
            _mean_of_highest_tenth(variation),
            variation.mean(),
            _mean_of_highest_tenth(orientation),
            orientation.mean(),
        ]
    )


# --- feature group 3: singular values of patches ----------------------------------------


def spatial_features(img: torch.Tensor, patch: int = 5) -> torch.Tensor:
    """Singular values (descending) of the (patch*patch, patches) matrix of distinct
    patches, zero-padded bottom/right as MATLAB's ``im2col(..., 'distinct')``."""
    h, w = img.shape
    padded = F.pad(img, (0, (-w) % patch, 0, (-h) % patch))
    cols = padded.unfold(0, patch, patch).unfold(1, patch, patch).reshape(-1, patch * patch)
    return torch.linalg.svdvals(cols)


# --- feature group 2: steerable pyramid statistics --------------------------------------


def _has_parent(level: int, orientation: int, levels: int, orientations: int) -> bool:
    """norm_sender_normalized.m: band number nband = level * Nor + orientation + 2 (1-based,
    after the high-pass) has a parent when nband < Nband - Nor, Nband counting every band
    but the high-pass. With 2 levels that leaves the finest scale's last orientation,
    and the whole coarsest scale, without one."""
    nband = level * orientations + orientation + 2
    total = levels * orientations + 1  # oriented bands and the low-pass
    return nband < total - orientations


def _divisive_normalisation(bands: list[list[torch.Tensor]], guard: int = 16) -> list[torch.Tensor]:
    """DIIVINE's normalisation of every band by its Gaussian-scale-mixture neighbourhood
    (3x3 spatial neighbours, the parent band where there is one, the other orientations
    of the same scale); returns the normalised bands, finest scale first, with a guard band
    of ``guard / 2**level`` pixels removed and their mean subtracted."""
    levels, orientations = len(bands), len(bands[0])
    out = []
    for level in range(levels):
        for o in range(orientations):
            band = bands[level][o]
            h, w = band.shape
            windows = band.unfold(0, 3, 1).unfold(1, 3, 1).reshape(h - 2, w - 2, 9)
            columns = [windows]
            n = 9
            if _has_parent(level, o, levels, orientations):
                # imresize(parent, 2) (bicubic), then its top-left h x w.
                parent = imresize(bands[level + 1][o][None, None], 2.0)[0, 0][:h, :w]
                columns.append(parent[1:-1, 1:-1, None])
                n += 1
            # The other orientations enter the covariance but not the count n (as released).
            columns += [bands[level][k][1:-1, 1:-1, None] for k in range(orientations) if k != o]
            y = torch.cat(columns, dim=-1).reshape((h - 2) * (w - 2), -1)
            cov = y.t() @ y / y.shape[0]
            # Clip negative eigenvalues (rounding) and rescale to keep the total variance.
            evals, evecs = torch.linalg.eigh(cov)
            positive = evals.clamp_min(0)
            total = positive.sum()
            evals = positive * evals.sum() / (total if total != 0 else 1.0)
            cov = evecs @ torch.diag(evals) @ evecs.t()
            z = torch.sqrt(((y @ torch.linalg.pinv(cov)) * y).sum(dim=1) / n)
            centre = band[1:-1, 1:-1].reshape(-1)
            centre = centre - centre.mean()
            g = torch.where(z != 0, centre / torch.where(z != 0, z, 1.0), 0.0).reshape(h - 2, w - 2)
            gb = guard // 2**level
            g = g[gb:-gb, gb:-gb]
            out.append(g - g.mean())
    return out


_CS_C2 = (0.03 * 255.0) ** 2  # ssim_index_new.m's C2 for 0-255 data


def _local_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Local means and variances (11x11 Gaussian, 'valid') of a stack of images."""
    mu, sq = gaussian_filter_valid(torch.cat([x, x * x])).chunk(2)
    return mu, sq - mu * mu


def _mean_cs(a: torch.Tensor, b: torch.Tensor, moments_a: tuple, moments_b: tuple) -> torch.Tensor:
    """Third output of ssim_index_new.m for each pair (a[k], b[k]): the mean of the
    contrast-structure map (2 sigma_ab + C2) / (sigma_a^2 + sigma_b^2 + C2)."""
    (mu_a, var_a), (mu_b, var_b) = moments_a, moments_b
    cov = gaussian_filter_valid(a * b) - mu_a * mu_b
    return ((2 * cov + _CS_C2) / (var_a + var_b + _CS_C2)).flatten(1).mean(dim=1)


def global_frequency_features(luma: torch.Tensor) -> torch.Tensor:
    """45 steerable-pyramid statistics (global_gsm.m) of an image on the 0-255 scale."""
    pyramid = steerable_pyramid(luma, levels=2, orientations=6)
    bands = _divisive_normalisation(pyramid.bands)
    n_or = len(pyramid.bands[0])
    feats = [ggd_shape(b.reshape(-1)) for b in bands]
    feats += [
        ggd_shape(torch.cat([bands[o].reshape(-1), bands[o + n_or].reshape(-1)]))
        for o in range(n_or)
    ]
    # Each raw band, resized to the high-pass residual, against that residual; the
    # moments of every image are filtered once and shared by all its pairs.
    hp = pyramid.highpass
    raw = torch.stack(
        [
            imresize(b[None, None], size=tuple(hp.shape))[0, 0]
            for level in pyramid.bands
            for b in level
        ]
    )
    hp_moments = tuple(m.expand(len(raw), -1, -1) for m in _local_moments(hp[None]))
    feats += list(_mean_cs(raw, hp[None], _local_moments(raw), hp_moments))
    # The normalised orientations of the finest scale, pairwise.
    finest = torch.stack(bands[:n_or])
    mu, var = _local_moments(finest)
    i, j = torch.triu_indices(n_or, n_or, offset=1)
    feats += list(_mean_cs(finest[i], finest[j], (mu[i], var[i]), (mu[j], var[j])))
    return torch.stack(feats)


def ma_features(luma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three feature vectors (18, 45, 75) of a 2-D grey image on the 0-255 scale."""
    if luma.dim() != 2:
        raise ValueError(f"ma_features needs a 2-D image, got shape {tuple(luma.shape)}")
    if min(luma.shape) < 64:
        raise ValueError(
            f"image {tuple(luma.shape)} is too small for Ma's features (64x64 at least)"
        )
    luma = luma.to(torch.float64)
    scales = _gaussian_pyramid(luma / 255.0)
    local = torch.cat([local_frequency_features(s) for s in scales])
    spatial = torch.cat([spatial_features(s) for s in scales])
    return local, global_frequency_features(luma), spatial


# --- the trained regression -------------------------------------------------------------


@dataclass
class RegressionForest:
    """A trained regression forest in randomforest-matlab's layout: per node and tree
    (nodes x trees arrays) 1-based children (0 = none), status (-1 = leaf), split
    threshold, 1-based split feature and node prediction."""

    left: np.ndarray
    right: np.ndarray
    status: np.ndarray
    threshold: np.ndarray
    feature: np.ndarray
    value: np.ndarray
    coef: np.ndarray | None = None  # optional bias correction: coef[0] + coef[1] * y

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Mean over trees of each row's leaf value; x is (samples, features)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        n_trees = self.left.shape[1]
        trees = np.broadcast_to(np.arange(n_trees), (x.shape[0], n_trees))
        rows = np.broadcast_to(np.arange(x.shape[0])[:, None], trees.shape)
        node = np.zeros(trees.shape, dtype=np.int64)
        for _ in range(self.left.shape[0]):
            leaf = (self.status[node, trees] == -1) | (self.left[node, trees] <= 0)
            if leaf.all():
                break
            feature = np.where(leaf, 1, self.feature[node, trees]).astype(np.int64) - 1
            go_left = x[rows, feature] <= self.threshold[node, trees]
            child = np.where(go_left, self.left[node, trees], self.right[node, trees])
            node = np.where(leaf, node, child.astype(np.int64) - 1)
        y = self.value[node, trees].mean(axis=1)
        if self.coef is not None and np.any(self.coef):
            y = self.coef[0] + self.coef[1] * y
        return y


@dataclass
class MaModel:
    forests: tuple[RegressionForest, RegressionForest, RegressionForest]
    linear: np.ndarray  # (4,): intercept and one weight per forest

    def score(self, features: tuple[torch.Tensor, ...]) -> float:
        preds = [
            float(f.predict(v.detach().cpu().numpy()[None])[0])
            for f, v in zip(self.forests, features, strict=True)
        ]
        return float(np.dot(np.concatenate([[1.0], preds]), self.linear))


def _field(struct: dict, name: str) -> np.ndarray:
    """A struct field by case-insensitive name (KeyError when absent)."""
    lower = {k.lower(): v for k, v in struct.items()}
    return np.asarray(lower[name.lower()])


def forest_from_struct(struct: dict) -> RegressionForest:
    """A RegressionForest from one regRF_train struct (fields as in the release)."""

    def matrix(name: str) -> np.ndarray:
        a = _field(struct, name)
        return a.reshape(a.shape[0], -1) if a.ndim >= 1 else a.reshape(1, 1)

    coef = None
    try:
        coef = np.asarray(_field(struct, "coef"), dtype=np.float64).reshape(-1)
    except KeyError:
        pass
    forest = RegressionForest(
        left=matrix("lDau").astype(np.int64),
        right=matrix("rDau").astype(np.int64),
        status=matrix("nodestatus").astype(np.int64),
        threshold=matrix("upper").astype(np.float64),
        feature=matrix("mbest").astype(np.int64),
        value=matrix("avnode").astype(np.float64),
        coef=coef if coef is not None and coef.size >= 2 else None,
    )
    shapes = {
        a.shape
        for a in (
            forest.left,
            forest.right,
            forest.status,
            forest.threshold,
            forest.feature,
            forest.value,
        )
    }
    if len(shapes) != 1:
        raise ValueError(f"forest arrays differ in shape: {sorted(shapes)}")
    return forest


def stand_in_forest_struct(n_features: int, n_trees: int, depth: int, seed: int) -> dict:
    """A forest in randomforest-matlab's layout (nodes x trees, 1-based) with the release's
    shape but random splits and leaves: full binary trees of ``depth``. Its predictions
    mean nothing; it exists to time prediction and to test the loader without the
    authors' file."""
    rng = np.random.default_rng(seed)
    nodes = 2 ** (depth + 1) - 1
    left = np.zeros((nodes, n_trees))
    right = np.zeros((nodes, n_trees))
    status = np.full((nodes, n_trees), -1.0)
    for k in range(2**depth - 1):  # internal nodes, breadth-first
        left[k], right[k], status[k] = 2 * k + 2, 2 * k + 3, -3
    split_on = rng.integers(1, n_features + 1, size=(nodes, n_trees))
    return {
        "lDau": left,
        "rDau": right,
        "nodestatus": status,
        "upper": rng.normal(size=(nodes, n_trees)),
        "avnode": rng.uniform(0, 10, size=(nodes, n_trees)),
        "mbest": np.where(status == -1, 0, split_on),
        "ndbigtree": np.full(n_trees, nodes),
        "ntree": n_trees,
        "coef": np.zeros(2),
    }


@lru_cache(maxsize=2)
def load_ma_model(path: str) -> MaModel:
    """Read the authors' ``model.mat`` (fields ``rf`` -- three regRF_train forests -- and
    ``linear``); any other file is a one-line error saying what was expected."""
    import scipy.io

    try:
        data = scipy.io.loadmat(path, simplify_cells=True)
    except NotImplementedError as exc:  # MATLAB v7.3 (HDF5) files
        raise CheckpointError(
            f"{path} is a MATLAB v7.3 file; re-save it with save(..., '-v7') or use the "
            f"release's model.mat as published"
        ) from exc
    except Exception as exc:
        raise CheckpointError(f"{path} is not a readable MATLAB .mat file ({exc})") from exc
    try:
        model = data["model"]
        forests = model["rf"]
        if len(forests) != 3:
            raise ValueError(f"expected 3 forests, found {len(forests)}")
        linear = np.asarray(model["linear"], dtype=np.float64).reshape(-1)
        if linear.size != 4:
            raise ValueError(f"expected 4 linear weights, found {linear.size}")
        parsed = tuple(forest_from_struct(f) for f in forests)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path} is not the Ma et al. 2017 model (model.rf with 3 regression forests and "
            f"model.linear with 4 weights; problem: {exc}); use model.mat from "
            f"github.com/chaoma99/sr-metric"
        ) from exc
    for forest, size in zip(parsed, FEATURE_SIZES, strict=True):
        used = forest.feature[(forest.status != -1) & (forest.left > 0)]
        if used.size and (used.min() < 1 or used.max() > size):
            raise CheckpointError(
                f"{path}: a forest splits on feature {int(used.max())} but its group has "
                f"{size}; this is not the Ma et al. 2017 model"
            )
    return MaModel(parsed, linear)  # type: ignore[arg-type]


def ma_of_luma(luma: torch.Tensor, model_path: str | Path) -> float:
    """Ma score (higher is better, roughly 0-10) of a 2-D grey image on the 0-255 scale."""
    return load_ma_model(str(model_path)).score(ma_features(luma))

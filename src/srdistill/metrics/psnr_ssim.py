"""PSNR and SSIM as the SR literature computes them.

Conventions (the ones behind published SRResNet/EDSR tables):
- both images are rounded to 8 bits first (SR output is saved as PNG before scoring);
- by default only the Y channel of BT.601 YCbCr is scored, on a [0, 255] scale
  (MATLAB ``rgb2ycbcr``), without rounding Y itself;
- ``crop_border`` pixels (usually the scale) are removed from every side;
- SSIM is Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
  'valid' filtering (no padding), mean of the SSIM map.
"""

from __future__ import annotations

import torch

from srdistill.ops.color import rgb_to_y


def to_metric_space(x: torch.Tensor, crop_border: int, y_channel: bool) -> torch.Tensor:
    """Round to 8 bits, take Y if asked, scale to [0, 255] in float64, crop borders.

    Returns an NCHW float64 tensor.
    """
    if x.dim() == 3:
        x = x.unsqueeze(0)
    x = (x.detach().to(torch.float64).clamp(0, 1) * 255).round() / 255
    if y_channel and x.shape[1] == 3:
        x = rgb_to_y(x)
    x = x * 255
    if crop_border > 0:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
    return x


def _check_pair(sr: torch.Tensor, hr: torch.Tensor) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"SR and HR shapes differ: {tuple(sr.shape)} vs {tuple(hr.shape)}")


def psnr(
    sr: torch.Tensor, hr: torch.Tensor, crop_border: int = 0, y_channel: bool = True
) -> torch.Tensor:
    """PSNR in dB between float images in [0, 1] (CHW -> scalar, NCHW -> shape (N,)).

    Both inputs are rounded to 8 bits first, as the literature does with saved SR images;
    then Y channel (default) on [0, 255], ``crop_border`` pixels removed from each side.
    Identical images give ``inf``.
    """
    _check_pair(sr, hr)
    a = to_metric_space(sr, crop_border, y_channel)
    b = to_metric_space(hr, crop_border, y_channel)
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    value = 10 * torch.log10(255.0**2 / mse)
    return value[0] if sr.dim() == 3 else value


def _gaussian_taps(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_filter_valid(x: torch.Tensor) -> torch.Tensor:
    """'valid' 11x11 Gaussian filtering (sigma 1.5) over the last two dimensions, as two
    1-D passes (the window is separable), each a running sum of shifted copies: in
    float64 this is much faster on CPU than conv2d."""
    g = _gaussian_taps().tolist()
    n = len(g)
    h, w = x.shape[-2:]
    rows = x[..., 0 : h - n + 1, :] * g[0]
    for i in range(1, n):
        rows += x[..., i : h - n + 1 + i, :] * g[i]
    out = rows[..., :, 0 : w - n + 1] * g[0]
    for j in range(1, n):
        out += rows[..., :, j : w - n + 1 + j] * g[j]
    return out


def ssim_map_valid(a: torch.Tensor, b: torch.Tensor, data_range: float) -> torch.Tensor:
    """The SSIM map of two same-shape images (filtered over the last two dimensions):
    11x11 Gaussian window (sigma 1.5), 'valid' positions, K1 = 0.01, K2 = 0.03. The five
    local moments are filtered together in one separable pass."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b, aa, bb, ab = gaussian_filter_valid(torch.stack([a, b, a * a, b * b, a * b]))
    var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )


def ssim(
    sr: torch.Tensor, hr: torch.Tensor, crop_border: int = 0, y_channel: bool = True
) -> torch.Tensor:
    """SSIM (Wang et al. 2004) between float images in [0, 1].

    Same rounding, Y-channel and cropping conventions as ``psnr``; 11x11 Gaussian window
    with sigma 1.5, K1 = 0.01, K2 = 0.03, data range 255, 'valid' filtering. For RGB
    scoring (``y_channel=False``) the per-channel SSIMs are averaged.
    """
    _check_pair(sr, hr)
    a = to_metric_space(sr, crop_border, y_channel)
    b = to_metric_space(hr, crop_border, y_channel)
    window = _gaussian_taps().numel()
    if min(a.shape[-2:]) < window:
        raise ValueError(
            f"SSIM needs at least {window}x{window} pixels after the {crop_border}-pixel "
            f"border crop (its Gaussian window); got {a.shape[-1]}x{a.shape[-2]}"
        )
    ssim_map = ssim_map_valid(a, b, data_range=255.0)
    value = ssim_map.flatten(1).mean(dim=1)
    return value[0] if sr.dim() == 3 else value

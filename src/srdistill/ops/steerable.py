"""Real steerable pyramid built in the Fourier domain (Simoncelli & Freeman 1995).

Follows the construction of matlabPyrTools' ``buildSFpyr`` (the pyramid DIIVINE and Ma et
al. 2017 use): a radial raised-cosine split into a high-pass residual and a low-pass
band, then per level ``orientations`` oriented bands (angular masks ``cos^(K-1)``,
normalised so that their squares sum to one) and a low-pass band cropped to half size in
the Fourier domain. Masks are sampled from lookup tables with linear interpolation, as
``pointOp`` does, so the bands match the MATLAB pyramid's up to float rounding.

The masks form a tight frame: the energy of the image equals the energy of the
high-pass band plus that of every band and of the final low-pass band, each counted on
the grid it is sampled on (the pixel energy of a band at level l, sampled at 1/2**l of the
size, counts 1/4**l); taking real parts loses a little at the Nyquist frequencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

_RCOS_SAMPLES = 256
_ANGLE_LUT_SIZE = 1024


@dataclass
class SteerablePyramid:
    highpass: torch.Tensor  # full size
    bands: list[list[torch.Tensor]]  # bands[level][orientation]; level 0 is full size
    lowpass: torch.Tensor  # size / 2**levels (rounded up)


def _raised_cosine(width: float, position: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``rcosFn``: a cos^2 ramp from 0 to 1 over ``width`` octaves centred on ``position``."""
    n = _RCOS_SAMPLES
    x = math.pi * torch.arange(-n - 1, 2, dtype=torch.float64) / (2 * n)
    y = torch.cos(x) ** 2
    y[0] = y[1]
    y[-1] = y[-2]
    return position + (2 * width / math.pi) * (x + math.pi / 4), y


def _lookup(values: torch.Tensor, lut: torch.Tensor, origin: float, step: float) -> torch.Tensor:
    """``pointOp``: ``lut`` sampled at ``origin + k * step``, linearly interpolated (and
    linearly extrapolated past its ends, which the raised cosines keep flat)."""
    pos = (values - origin) / step
    i0 = pos.floor().clamp(0, lut.numel() - 2).long()
    frac = pos - i0
    return lut[i0] * (1 - frac) + lut[i0 + 1] * frac


def _polar_grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """log2 radius and angle of each frequency of an fftshift-ed spectrum (MATLAB layout)."""
    cy, cx = math.ceil((h + 0.5) / 2), math.ceil((w + 0.5) / 2)  # 1-based centre (DC)
    yr = (torch.arange(1, h + 1, dtype=torch.float64) - cy) / (h / 2)
    xr = (torch.arange(1, w + 1, dtype=torch.float64) - cx) / (w / 2)
    yy, xx = torch.meshgrid(yr, xr, indexing="ij")
    angle = torch.atan2(yy, xx)
    radius = torch.sqrt(xx**2 + yy**2)
    radius[cy - 1, cx - 1] = radius[cy - 1, cx - 2]  # avoid log(0) at DC, as the reference
    return torch.log2(radius), angle


def _real_ifft(spectrum: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifft2(torch.fft.ifftshift(spectrum)).real


def steerable_pyramid(
    image: torch.Tensor, levels: int = 2, orientations: int = 6
) -> SteerablePyramid:
    """Decompose a 2-D image (float) into a steerable pyramid; computed in float64."""
    if image.dim() != 2:
        raise ValueError(f"steerable_pyramid needs a 2-D image, got shape {tuple(image.shape)}")
    h, w = image.shape
    if min(h, w) < 2 ** (levels + 2):
        raise ValueError(f"image {h}x{w} is too small for a {levels}-level steerable pyramid")
    img = image.to(torch.float64)
    log_rad, angle = _polar_grid(h, w)
    log_rad, angle = log_rad.to(img.device), angle.to(img.device)
    x_rcos, y_rcos = _raised_cosine(1.0, -0.5)
    y_rcos = y_rcos.sqrt().to(img.device)
    yi_rcos = torch.sqrt((1.0 - y_rcos**2).clamp_min(0))
    step = float(x_rcos[1] - x_rcos[0])
    spectrum = torch.fft.fftshift(torch.fft.fft2(img))
    highpass = _real_ifft(spectrum * _lookup(log_rad, y_rcos, float(x_rcos[0]), step))
    lo = spectrum * _lookup(log_rad, yi_rcos, float(x_rcos[0]), step)

    order = orientations - 1
    const = (
        (2 ** (2 * order)) * math.factorial(order) ** 2 / (orientations * math.factorial(2 * order))
    )
    n = _ANGLE_LUT_SIZE
    x_cos = math.pi * torch.arange(-(2 * n + 1), n + 2, dtype=torch.float64) / n
    y_cos = (math.sqrt(const) * torch.cos(x_cos) ** order).to(img.device)
    cos_step = float(x_cos[1] - x_cos[0])
    phase = (-1j) ** order
    bands: list[list[torch.Tensor]] = []
    x0 = float(x_rcos[0])
    for _ in range(levels):
        x0 -= 1.0  # one octave down
        himask = _lookup(log_rad, y_rcos, x0, step)
        level = []
        for b in range(orientations):
            origin = float(x_cos[0]) + math.pi * b / orientations
            anglemask = _lookup(angle, y_cos, origin, cos_step)
            level.append(_real_ifft(phase * lo * anglemask * himask))
        bands.append(level)
        # Keep the central half of the spectrum (the low-pass support) for the next level.
        dh, dw = lo.shape
        cy, cx = math.ceil((dh + 0.5) / 2), math.ceil((dw + 0.5) / 2)
        lh, lw = math.ceil((dh - 0.5) / 2), math.ceil((dw - 0.5) / 2)
        sy = cy - math.ceil((lh + 0.5) / 2)
        sx = cx - math.ceil((lw + 0.5) / 2)
        log_rad = log_rad[sy : sy + lh, sx : sx + lw]
        angle = angle[sy : sy + lh, sx : sx + lw]
        lo = lo[sy : sy + lh, sx : sx + lw] * _lookup(log_rad, yi_rcos, x0, step)
    return SteerablePyramid(highpass, bands, _real_ifft(lo))

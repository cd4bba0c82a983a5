"""The metrics as a user calls them: ``from srdistill.metrics import psnr, ssim, niqe, ma, pi``.

Each function scores one image (no-reference: ``niqe``, ``ma``, ``pi``) or one pair
(``psnr``, ``ssim``) and returns a float. An image is a torch tensor (CHW or HW) or a
numpy array (HWC or HW), RGB or grey, either float in [0, 1] or uint8. The PIRM 2018 /
SR-literature conventions are keyword arguments: ``y_channel`` (score the Y of YCbCr,
default) and ``crop_border`` (pixels removed from each side, usually the scale). Anything
else is a one-line ValueError saying what was expected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from srdistill.errors import CheckpointError

ImageLike = torch.Tensor | np.ndarray

_EXPECTED = "an RGB or grey image: tensor CHW/HW or array HWC/HW, float in [0, 1] or uint8"


def _from_numpy(x: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``x``'s memory when it can; a copy when ``x`` is read-only (e.g.
    ``np.asarray(PIL image)``), which torch would otherwise warn about."""
    if not x.flags.writeable:
        x = np.array(x, order="C")
    return torch.from_numpy(np.ascontiguousarray(x))


def as_image(x: ImageLike, name: str = "image") -> torch.Tensor:
    """``x`` as a float64 CHW tensor in [0, 1] (C = 1 or 3), or a one-line ValueError."""
    if isinstance(x, np.ndarray):
        if x.ndim == 3:
            if x.shape[2] not in (1, 3):
                raise ValueError(
                    f"{name}: an array must be HWC with 1 or 3 channels, got shape {x.shape}"
                )
            x = _from_numpy(x).permute(2, 0, 1)
        elif x.ndim == 2:
            x = _from_numpy(x)[None]
        else:
            raise ValueError(f"{name}: expected {_EXPECTED}; got an array of shape {x.shape}")
    elif isinstance(x, torch.Tensor):
        if x.dim() == 4 and x.shape[0] == 1:
            x = x[0]
        if x.dim() == 2:
            x = x[None]
        if x.dim() != 3 or x.shape[0] not in (1, 3):
            shape = tuple(x.shape)
            raise ValueError(f"{name}: expected {_EXPECTED}; got a tensor of shape {shape}")
        x = x.detach().cpu()
    else:
        raise ValueError(f"{name}: expected {_EXPECTED}; got {type(x).__name__}")
    if x.dtype == torch.uint8:
        return x.to(torch.float64) / 255.0
    if not x.is_floating_point():
        raise ValueError(f"{name}: dtype {x.dtype} is not supported; use float in [0, 1] or uint8")
    if x.numel() == 0:
        raise ValueError(f"{name}: the image is empty")
    low, high = (float(v) for v in torch.aminmax(x))  # NaN shows in both
    if not (0.0 <= low and high <= 1.0):
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name}: the image holds NaN or infinite values")
        hint = " (0-255 values? divide by 255 or pass uint8)" if high > 1.0 else ""
        raise ValueError(f"{name}: float values must lie in [0, 1], found {low:g}..{high:g}{hint}")
    return x.to(torch.float64)


def _check_crop(crop_border: int, img: torch.Tensor) -> None:
    if not isinstance(crop_border, int) or crop_border < 0:
        raise ValueError(f"crop_border must be a non-negative integer, got {crop_border!r}")
    if 2 * crop_border >= min(img.shape[-2:]):
        raise ValueError(
            f"crop_border {crop_border} leaves nothing of a {img.shape[-1]}x{img.shape[-2]} image"
        )


def _single(img: ImageLike, crop_border: int) -> torch.Tensor:
    x = as_image(img)
    _check_crop(crop_border, x)
    return x


def _pair(sr: ImageLike, hr: ImageLike, crop_border: int) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = as_image(sr, "sr"), as_image(hr, "hr")
    if a.shape != b.shape:
        raise ValueError(f"sr and hr differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    _check_crop(crop_border, a)
    return a, b


def psnr(sr: ImageLike, hr: ImageLike, *, crop_border: int = 0, y_channel: bool = True) -> float:
    """PSNR in dB of ``sr`` against ``hr`` (both rounded to 8 bits first); inf if equal."""
    from srdistill.metrics.psnr_ssim import psnr as psnr_tensor

    a, b = _pair(sr, hr, crop_border)
    return float(psnr_tensor(a, b, crop_border, y_channel))


def ssim(sr: ImageLike, hr: ImageLike, *, crop_border: int = 0, y_channel: bool = True) -> float:
    """SSIM (Wang et al. 2004; 11x11 Gaussian window, data range 255) of ``sr`` vs ``hr``."""
    from srdistill.metrics.psnr_ssim import ssim as ssim_tensor

    a, b = _pair(sr, hr, crop_border)
    return float(ssim_tensor(a, b, crop_border, y_channel))


def niqe(
    img: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    params: str | Path | None = None,
) -> float:
    """NIQE (lower is better) as the MATLAB release computes it; needs the pristine model
    (``srdistill weights list`` says where it is looked for) and at least two 96x96
    blocks after cropping."""
    from srdistill.metrics.niqe_metric import find_params_file
    from srdistill.metrics.niqe_metric import niqe as niqe_tensor
    from srdistill.metrics.perceptual import MetricUnavailable

    x = _single(img, crop_border)
    try:
        path = find_params_file(params)
    except CheckpointError as missing:
        raise MetricUnavailable(str(missing)) from None
    return niqe_tensor(x, crop_border, y_channel=y_channel, params=str(path))


def ma(
    img: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    model: str | Path | None = None,
) -> float:
    """Ma et al. 2017 score (higher is better); raises MetricUnavailable, saying where to
    put it, when the authors' model file is not here."""
    from srdistill.metrics.perceptual import ma_score

    x = _single(img, crop_border)
    return ma_score(x, crop_border, y_channel=y_channel, model=model)


def pi(
    img: ImageLike,
    *,
    crop_border: int = 0,
    y_channel: bool = True,
    params: str | Path | None = None,
    model: str | Path | None = None,
) -> float:
    """PIRM 2018 Perceptual Index, ((10 - Ma) + NIQE) / 2 (lower is better)."""
    from srdistill.metrics.perceptual import perceptual_index

    conventions = {"crop_border": crop_border, "y_channel": y_channel}
    ma_value = ma(img, model=model, **conventions)  # first: fails fast without the model
    return perceptual_index(niqe(img, params=params, **conventions), ma_value)

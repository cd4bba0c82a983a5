"""MATLAB-compatible ``imresize`` (bicubic, antialiased), vectorised in torch.

Standard SR benchmarks make LR images with MATLAB's ``imresize(hr, 1/scale, 'bicubic')``.
PIL's and torch's bicubic differ from it (kernel a = -0.75 or no antialiasing), which
shifts PSNR by tenths of a dB, so the kernel is reproduced here.

Each axis is resized by multiplying with a dense (out x in) weight matrix built the way
MATLAB's ``contributions`` does: cubic kernel with a = -0.5, widened by 1/scale when
shrinking (antialiasing), symmetric padding at the borders, weights normalised to sum 1.
Resizing is then two matrix products, which is exact, fast and runs on any device.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch


def cubic(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``)."""
    absx = x.abs()
    absx2 = absx * absx
    absx3 = absx2 * absx
    near = (1.5 * absx3 - 2.5 * absx2 + 1) * (absx <= 1)
    far = (-0.5 * absx3 + 2.5 * absx2 - 4 * absx + 2) * ((absx > 1) & (absx <= 2))
    return near + far


@lru_cache(maxsize=256)
def _weights_cpu(in_len: int, out_len: int, scale: float, antialias: bool) -> torch.Tensor:
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width /= scale
    # Output pixel centres mapped into input coordinates (1-based, as in MATLAB).
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - kernel_width / 2)
    taps = math.ceil(kernel_width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    distance = u[:, None] - indices
    if scale < 1 and antialias:
        weights = scale * cubic(distance * scale)
    else:
        weights = cubic(distance)
    weights = weights / weights.sum(dim=1, keepdim=True)
    # Symmetric padding: index sequence 1..n, n..1 repeated (MATLAB's 'symmetric').
    period = 2 * in_len
    idx0 = torch.remainder(indices.long() - 1, period)
    idx0 = torch.where(idx0 >= in_len, period - 1 - idx0, idx0)
    matrix = torch.zeros(out_len, in_len, dtype=torch.float64)
    matrix.scatter_add_(1, idx0, weights)
    return matrix


def resize_weights(
    in_len: int,
    out_len: int,
    scale: float,
    antialias: bool = True,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The (out_len x in_len) matrix that resizes one axis as MATLAB's imresize does."""
    return _weights_cpu(in_len, out_len, float(scale), antialias).to(device=device, dtype=dtype)


def output_size(in_len: int, scale: float) -> int:
    """MATLAB's output length: ``ceil(in_len * scale)``."""
    # Round away float noise first (e.g. 255 * (1/3) -> 85.00000000000001).
    return math.ceil(round(in_len * scale, 8))


def imresize(
    x: torch.Tensor,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """Resize ``x`` (CHW or NCHW float tensor, values typically in [0, 1]) like MATLAB.

    Give either ``scale`` (e.g. 1/4 to downscale by 4; any positive number) or the output
    ``size`` (height, width). The result is not clamped or rounded: callers that want
    saved-image semantics round to 8 bits themselves (see ``quantize``).
    """
    if (scale is None) == (size is None):
        raise ValueError("imresize needs exactly one of scale or size")
    if not x.is_floating_point():
        raise TypeError(f"imresize needs a float tensor, got {x.dtype}")
    squeeze = x.dim() == 3
    if squeeze:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"imresize needs a CHW or NCHW tensor, got shape {tuple(x.shape)}")
    in_h, in_w = x.shape[-2:]
    if size is None:
        assert scale is not None
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        scale_h = scale_w = float(scale)
        out_h, out_w = output_size(in_h, scale), output_size(in_w, scale)
    else:
        out_h, out_w = size
        scale_h, scale_w = out_h / in_h, out_w / in_w
    # float64 weights keep the result independent of the order of the two products.
    compute_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    w_h = resize_weights(in_h, out_h, scale_h, antialias, dtype=compute_dtype, device=x.device)
    w_w = resize_weights(in_w, out_w, scale_w, antialias, dtype=compute_dtype, device=x.device)
    y = torch.matmul(w_h, torch.matmul(x.to(compute_dtype), w_w.t()))
    y = y.to(x.dtype)
    return y.squeeze(0) if squeeze else y


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit grid and clamp to [0, 1], as saving to PNG would."""
    return (x.clamp(0, 1) * 255).round() / 255


def degrade(hr: torch.Tensor, scale: int, *, round_to_8bit: bool = True) -> torch.Tensor:
    """The benchmark degradation: MATLAB bicubic downscale by ``scale``.

    ``hr`` must already be cropped to a multiple of ``scale`` (see ``mod_crop``).
    With ``round_to_8bit`` the LR image is rounded as saved benchmark LR images are.
    """
    lr = imresize(hr, 1 / scale)
    return quantize(lr) if round_to_8bit else lr


def mod_crop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right edges so height and width are multiples of ``scale``."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]

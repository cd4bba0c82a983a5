"""Colour conversion as MATLAB's ``rgb2ycbcr`` (ITU-R BT.601, studio swing).

With RGB in [0, 1]: Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, so Y lies in
[16/255, 235/255]. PSNR/SSIM in the SR literature are computed on this Y channel.
"""

from __future__ import annotations

import torch

_RGB_TO_YCBCR = torch.tensor(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=torch.float64,
)
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)


def _channel_dim(x: torch.Tensor) -> int:
    if x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"expected an RGB tensor (3,H,W) or (N,3,H,W), got {tuple(x.shape)}")
    return -3


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to YCbCr in [0, 1] (Y in [16, 235]/255, Cb/Cr in [16, 240]/255)."""
    dim = _channel_dim(x)
    m = _RGB_TO_YCBCR.to(device=x.device, dtype=x.dtype)
    out = torch.tensordot(x.movedim(dim, -1), m.t(), dims=1) + _OFFSET.to(x.device, x.dtype)
    return (out / 255).movedim(-1, dim)


def ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Inverse of ``rgb_to_ycbcr``."""
    dim = _channel_dim(x)
    m = torch.linalg.inv(_RGB_TO_YCBCR).to(device=x.device, dtype=x.dtype)
    ycc = x.movedim(dim, -1) * 255 - _OFFSET.to(x.device, x.dtype)
    return torch.tensordot(ycc, m.t(), dims=1).movedim(-1, dim)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Y channel of BT.601 YCbCr as MATLAB computes it, on a [0, 1] scale.

    Input RGB (3,H,W) or (N,3,H,W) in [0, 1]; output (1,H,W) or (N,1,H,W) with values in
    [16/255, 235/255]. Multiply by 255 for MATLAB's [16, 235] range.
    """
    dim = _channel_dim(x)
    w = _RGB_TO_YCBCR[0].to(device=x.device, dtype=x.dtype).view(3, 1, 1)
    return ((x * w).sum(dim=dim, keepdim=True) + 16.0) / 255.0


def luma_8bit(img: torch.Tensor, y_channel: bool = True) -> torch.Tensor:
    """A float RGB (or grey) CHW image in [0, 1] as MATLAB's no-reference metrics see it:
    rounded to 8 bits, then the Y of YCbCr (or, with ``y_channel=False``, the grey
    0.299 R + 0.587 G + 0.114 B), rounded again; a 2-D float64 tensor on the 0-255 scale."""
    x = (img.detach().to(torch.float64).clamp(0, 1) * 255).round() / 255
    if x.shape[0] == 3:
        if y_channel:
            luma = rgb_to_y(x)[0] * 255
        else:
            weights = torch.tensor([0.299, 0.587, 0.114], dtype=torch.float64, device=x.device)
            luma = (x * weights.view(3, 1, 1)).sum(0) * 255
    else:
        luma = x[0] * 255
    return luma.round()

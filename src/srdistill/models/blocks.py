"""Building blocks shared by EDSR-family networks (EDSR, RCAN)."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from srdistill.models.chain import ChainNetwork

# DIV2K's mean RGB on [0, 1] images: EDSR and RCAN subtract it at the input and add it back
# at the output (their MeanShift with rgb_range 1). Constants, not parameters: they are not
# trained and not stored.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Module):
    """Adds ``sign`` x the DIV2K mean to each channel (a buffer that is not saved)."""

    def __init__(self, sign: float = -1.0) -> None:
        super().__init__()
        shift = sign * torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1)
        self.register_buffer("shift", shift, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift.to(x.dtype)


def subpixel_upsampler(scale: int, num_features: int) -> nn.Sequential:
    """EDSR's upsampler: conv F -> r^2 F and PixelShuffle(r) per stage (r = 2 per factor
    of 2, or one r = 3 stage), no activation."""
    layers: list[nn.Module] = []
    if scale == 3:
        layers += [nn.Conv2d(num_features, 9 * num_features, 3, padding=1), nn.PixelShuffle(3)]
    elif scale >= 2 and scale & (scale - 1) == 0:
        for _ in range(int(math.log2(scale))):
            layers += [nn.Conv2d(num_features, 4 * num_features, 3, padding=1), nn.PixelShuffle(2)]
    else:
        raise ValueError(f"unsupported scale {scale}: use 2, 3, 4 or 8")
    return nn.Sequential(*layers)


class GlobalSkipReconstruction(nn.Module):
    """The end of EDSR and RCAN: body conv, + head features (global skip), upsampler, tail
    conv to RGB, + the DIV2K mean. One per exit in a multi-exit network."""

    def __init__(self, scale: int, num_features: int) -> None:
        super().__init__()
        self.body_end = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.upsample = subpixel_upsampler(scale, num_features)
        self.tail = nn.Conv2d(num_features, 3, 3, padding=1)
        self.add_mean = MeanShift(1.0)

    def forward(self, features: torch.Tensor, head_features: torch.Tensor) -> torch.Tensor:
        return self.add_mean(self.tail(self.upsample(self.body_end(features) + head_features)))


def mean_shifted_head(num_features: int) -> nn.Sequential:
    """EDSR's head: subtract the DIV2K mean, conv3x3 3 -> F."""
    return nn.Sequential(MeanShift(-1.0), nn.Conv2d(3, num_features, 3, padding=1))


class GlobalSkipChain(ChainNetwork):
    """A chain network ending in ``GlobalSkipReconstruction`` (EDSR, RCAN). Subclasses
    build ``head`` (``mean_shifted_head``), ``body`` and ``recon`` in that order, and set
    ``scale`` and ``num_features``."""

    WIDTH_SLICEABLE: ClassVar[bool] = True
    num_features: int

    def reconstruct(
        self, recon: nn.Module, features: torch.Tensor, head_out: torch.Tensor, lr: torch.Tensor
    ) -> torch.Tensor:
        return recon(features, head_out)

    def new_reconstruction(self) -> nn.Module:
        return GlobalSkipReconstruction(self.scale, self.num_features)

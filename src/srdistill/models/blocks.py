"""Building blocks shared by the architectures (upsampler; EDSR-family head, reconstruction)."""

from __future__ import annotations

import math
from collections.abc import Callable
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


def subpixel_upsampler(
    scale: int, num_features: int, activation: Callable[[], nn.Module] | None = None
) -> nn.Sequential:
    """Sub-pixel upsampling: per stage conv F -> r^2 F, PixelShuffle(r) and, if given, an
    activation (r = 2 per factor of 2, or one r = 3 stage). EDSR and RCAN use none,
    SRResNet a PReLU."""
    if scale == 3:
        factors = [3]
    elif scale >= 2 and scale & (scale - 1) == 0:
        factors = [2] * int(math.log2(scale))
    else:
        raise ValueError(f"unsupported scale {scale}: use 2, 3, 4 or 8")
    layers: list[nn.Module] = []
    for r in factors:
        layers += [nn.Conv2d(num_features, r * r * num_features, 3, padding=1), nn.PixelShuffle(r)]
        if activation is not None:
            layers.append(activation())
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

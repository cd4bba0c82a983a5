"""EDSR (Lim et al., CVPR-W 2017): residual blocks without batch norm.

    head   MeanShift(-DIV2K mean), conv3x3 3 -> F
    body   B blocks: conv3x3, ReLU, conv3x3, x res_scale, + skip
    recon  conv3x3, + head features, upsampler (conv + PixelShuffle, no activation),
           conv3x3 F -> 3, + DIV2K mean

The paper's two models: EDSR-baseline (16 blocks x 64, res_scale 1; 1.5 M parameters at
x4) and EDSR (32 x 256, res_scale 0.1; 43 M). The body is a chain, so ``multi_exit_edsr``
exists, and a narrower EDSR is the leading channel slice of a wider one (CSD's students).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from srdistill.config import ModelOptions, RunConfig, check_range
from srdistill.errors import ConfigError
from srdistill.models.blocks import GlobalSkipChain, GlobalSkipReconstruction, mean_shifted_head
from srdistill.models.registry import Architecture, register_architecture, register_network


class ResidualBlock(nn.Module):
    def __init__(self, num_features: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(self.act(self.conv1(x)))


@register_network
class EDSR(GlobalSkipChain):
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "num_blocks": (int, 1, 1000),
        "num_features": (int, 1, 4096),
        "res_scale": (float, 0.0, 1.0),
    }

    def __init__(
        self, scale: int = 4, num_blocks: int = 16, num_features: int = 64, res_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.res_scale = float(res_scale)
        self.head = mean_shifted_head(num_features)
        self.body = nn.Sequential(
            *[ResidualBlock(num_features, self.res_scale) for _ in range(num_blocks)]
        )
        self.recon = GlobalSkipReconstruction(scale, num_features)

    @property
    def label(self) -> str:
        return f"EDSR-{self.num_blocks}x{self.num_features}"

    def spec(self) -> dict:
        return {
            "arch": "EDSR",
            "scale": self.scale,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
            "res_scale": self.res_scale,
        }


@dataclass
class EDSROptions(ModelOptions):
    """``model:`` options of edsr (and multi_exit_edsr, which adds ``exits``)."""

    arch: str = "edsr"
    num_blocks: int = 16
    num_features: int = 64
    res_scale: float = 1.0  # 0.1 in the paper's 32 x 256 EDSR, which is unstable without it

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_blocks", self.num_blocks, 1, 1000)
        check_range("model.num_features", self.num_features, 1, 4096)
        if not 0 < self.res_scale <= 1:
            raise ConfigError(f"model.res_scale must lie in (0, 1]; got {self.res_scale}")


def _build(scale: int, o: Any) -> EDSR:
    return EDSR(scale, o.num_blocks, o.num_features, o.res_scale)


register_architecture(
    Architecture("edsr", EDSROptions, _build, "EDSR (Lim et al. 2017)", depth_option="num_blocks")
)

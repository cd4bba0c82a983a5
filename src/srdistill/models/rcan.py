"""RCAN (Zhang et al., ECCV 2018): residual groups of channel-attention blocks.

    head   MeanShift(-DIV2K mean), conv3x3 3 -> F
    body   G residual groups, each: B RCABs, conv3x3, + group input
           RCAB: conv3x3, ReLU, conv3x3, channel attention (global average pool,
           1x1 F -> F/r, ReLU, 1x1 F/r -> F, sigmoid, rescale), + block input
    recon  conv3x3, + head features, upsampler, conv3x3 F -> 3, + DIV2K mean

The paper's model is 10 groups x 20 blocks x 64 features, reduction 16 (15.6 M parameters
at x4); the chain is the groups, so ``multi_exit_rcan`` puts exits after groups.
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


class ChannelAttention(nn.Module):
    def __init__(self, num_features: int, reduction: int) -> None:
        super().__init__()
        self.weights = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(num_features, num_features // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_features // reduction, num_features, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)


class RCAB(nn.Module):
    def __init__(self, num_features: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(num_features, num_features, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_features, num_features, 3, padding=1),
            ChannelAttention(num_features, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    def __init__(self, num_blocks: int, num_features: int, reduction: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[RCAB(num_features, reduction) for _ in range(num_blocks)])
        self.conv = nn.Conv2d(num_features, num_features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(self.blocks(x))


@register_network
class RCAN(GlobalSkipChain):
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "num_groups": (int, 1, 100),
        "num_blocks": (int, 1, 200),
        "num_features": (int, 1, 4096),
        "reduction": (int, 1, 4096),
    }
    DEPTH_KEY: ClassVar[str] = "num_groups"

    def __init__(
        self,
        scale: int = 4,
        num_groups: int = 10,
        num_blocks: int = 20,
        num_features: int = 64,
        reduction: int = 16,
    ) -> None:
        super().__init__()
        if num_features // reduction < 1:
            raise ValueError(f"num_features {num_features} is below the reduction {reduction}")
        self.scale, self.num_groups, self.num_blocks = scale, num_groups, num_blocks
        self.num_features, self.reduction = num_features, reduction
        self.head = mean_shifted_head(num_features)
        self.body = nn.Sequential(
            *[ResidualGroup(num_blocks, num_features, reduction) for _ in range(num_groups)]
        )
        self.recon = GlobalSkipReconstruction(scale, num_features)

    @property
    def label(self) -> str:
        return f"RCAN-{self.num_groups}x{self.num_blocks}x{self.num_features}"

    def spec(self) -> dict:
        return {
            "arch": "RCAN",
            "scale": self.scale,
            "num_groups": self.num_groups,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
            "reduction": self.reduction,
        }


@dataclass
class RCANOptions(ModelOptions):
    """``model:`` options of rcan (and multi_exit_rcan: ``exits`` after residual groups)."""

    arch: str = "rcan"
    num_groups: int = 10
    num_blocks: int = 20  # RCABs per group
    num_features: int = 64
    reduction: int = 16  # channel attention squeezes F to F / reduction

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_groups", self.num_groups, 1, 100)
        check_range("model.num_blocks", self.num_blocks, 1, 200)
        check_range("model.num_features", self.num_features, 1, 4096)
        if not 1 <= self.reduction <= self.num_features:
            raise ConfigError(
                f"model.reduction must lie in 1..model.num_features ({self.num_features}); "
                f"got {self.reduction}"
            )


def _build(scale: int, o: Any) -> RCAN:
    return RCAN(scale, o.num_groups, o.num_blocks, o.num_features, o.reduction)


register_architecture(
    Architecture("rcan", RCANOptions, _build, "RCAN (Zhang et al. 2018)", depth_option="num_groups")
)

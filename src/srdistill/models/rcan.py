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

from srdistill.errors import ConfigError
from srdistill.models.blocks import (
    GlobalSkipChain,
    GlobalSkipReconstruction,
    check_rgb_range,
    global_skip_range,
    global_skip_rules,
    global_skip_scale,
    mean_shifted_head,
)
from srdistill.models.foreign import (
    ForeignLayout,
    ImportRequest,
    Rule,
    State,
    count_indexed,
    load_exact,
    register_layout,
    rename,
    shape,
)
from srdistill.models.registry import Architecture, register_architecture, register_network
from srdistill.schema import ModelOptions, RunConfig, check_range


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
        "rgb_range": (float, 1.0, 255.0),
    }
    DEPTH_KEY: ClassVar[str] = "num_groups"

    def __init__(
        self,
        scale: int = 4,
        num_groups: int = 10,
        num_blocks: int = 20,
        num_features: int = 64,
        reduction: int = 16,
        rgb_range: float = 1.0,
    ) -> None:
        super().__init__()
        if num_features // reduction < 1:
            raise ValueError(f"num_features {num_features} is below the reduction {reduction}")
        self.scale, self.num_groups, self.num_blocks = scale, num_groups, num_blocks
        self.num_features, self.reduction = num_features, reduction
        self.rgb_range = float(rgb_range)
        self.head = mean_shifted_head(num_features, self.rgb_range)
        self.body = nn.Sequential(
            *[ResidualGroup(num_blocks, num_features, reduction) for _ in range(num_groups)]
        )
        self.recon = GlobalSkipReconstruction(scale, num_features, self.rgb_range)

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
            "rgb_range": self.rgb_range,
        }


@dataclass
class RCANOptions(ModelOptions):
    """``model:`` options of rcan (and multi_exit_rcan: ``exits`` after residual groups)."""

    arch: str = "rcan"
    num_groups: int = 10
    num_blocks: int = 20  # RCABs per group
    num_features: int = 64
    reduction: int = 16  # channel attention squeezes F to F / reduction
    rgb_range: float = 1.0  # 255 for the authors' weights (see EDSROptions.rgb_range)

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_groups", self.num_groups, 1, 100)
        check_range("model.num_blocks", self.num_blocks, 1, 200)
        check_range("model.num_features", self.num_features, 1, 4096)
        if not 1 <= self.reduction <= self.num_features:
            raise ConfigError(
                f"model.reduction must lie in 1..model.num_features ({self.num_features}); "
                f"got {self.reduction}"
            )
        check_rgb_range(self.rgb_range)


def _build(scale: int, o: Any) -> RCAN:
    return RCAN(scale, o.num_groups, o.num_blocks, o.num_features, o.reduction, o.rgb_range)


register_architecture(
    Architecture("rcan", RCANOptions, _build, "RCAN (Zhang et al. 2018)", depth_option="num_groups")
)


# --- weight files of the official RCAN (yulunzhang/RCAN) and of BasicSR -------------------

_RCAN_BLOCK_RULES: dict[str, list[Rule]] = {
    "official": [
        (r"body\.(\d+)\.body\.(\d+)\.body\.([02])\.(\w+)", r"body.\1.blocks.\2.body.\3.\4"),
        (
            r"body\.(\d+)\.body\.(\d+)\.body\.3\.conv_du\.([02])\.(\w+)",
            lambda m: f"body.{m[1]}.blocks.{m[2]}.body.3.weights.{int(m[3]) + 1}.{m[4]}",
        ),
        (r"body\.(\d+)\.body\.(\d+)\.(weight|bias)", r"body.\1.conv.\3"),  # group end
    ],
    "basicsr": [
        (
            r"body\.(\d+)\.residual_group\.(\d+)\.rcab\.([02])\.(\w+)",
            r"body.\1.blocks.\2.body.\3.\4",
        ),
        (
            r"body\.(\d+)\.residual_group\.(\d+)\.rcab\.3\.attention\.([13])\.(\w+)",
            r"body.\1.blocks.\2.body.3.weights.\3.\4",
        ),
        (r"body\.(\d+)\.conv\.(\w+)", r"body.\1.conv.\2"),
    ],
}
_RCAN_COUNTS = {  # (groups, blocks of group 0, the attention's squeeze conv)
    "official": (
        r"body\.(\d+)\.body\.0\.body\.0\.weight",
        r"body\.0\.body\.(\d+)\.body\.0\.weight",
        "body.0.body.0.body.3.conv_du.0.weight",
    ),
    "basicsr": (
        r"body\.(\d+)\.residual_group\.0\.rcab\.0\.weight",
        r"body\.0\.residual_group\.(\d+)\.rcab\.0\.weight",
        "body.0.residual_group.0.rcab.3.attention.1.weight",
    ),
}


def _from_rcan(layout: str) -> object:
    groups_key, blocks_key, squeeze_key = _RCAN_COUNTS[layout]
    first = "head.0.weight" if layout == "official" else "conv_first.weight"

    def convert(state: State, request: ImportRequest) -> RCAN:
        features = shape(state, first)[0]
        groups, blocks = count_indexed(state, groups_key), count_indexed(state, blocks_key)
        reduction = features // shape(state, squeeze_key)[0]
        scale = global_skip_scale(state, layout, features, request)
        rgb_range = global_skip_range(state, layout, request)
        net = RCAN(scale, groups, blocks, features, reduction, rgb_range)
        rules = _RCAN_BLOCK_RULES[layout] + global_skip_rules(layout)
        return load_exact(net, rename(state, rules, request.source), request.source)

    return convert


register_layout(
    ForeignLayout(
        "RCAN (yulunzhang/RCAN)",
        lambda s: "head.0.weight" in s and "body.0.body.0.body.0.weight" in s,
        _from_rcan("official"),  # type: ignore[arg-type]
    )
)
register_layout(
    ForeignLayout(
        "RCAN (BasicSR)",
        lambda s: "conv_first.weight" in s and "body.0.residual_group.0.rcab.0.weight" in s,
        _from_rcan("basicsr"),  # type: ignore[arg-type]
    )
)

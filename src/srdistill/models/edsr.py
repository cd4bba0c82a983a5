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
    State,
    count_indexed,
    load_exact,
    register_layout,
    rename,
    shape,
)
from srdistill.models.registry import Architecture, register_architecture, register_network
from srdistill.schema import ModelOptions, RunConfig, check_range


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
        "rgb_range": (float, 1.0, 255.0),
    }

    def __init__(
        self,
        scale: int = 4,
        num_blocks: int = 16,
        num_features: int = 64,
        res_scale: float = 1.0,
        rgb_range: float = 1.0,
    ) -> None:
        super().__init__()
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.res_scale, self.rgb_range = float(res_scale), float(rgb_range)
        self.head = mean_shifted_head(num_features, self.rgb_range)
        self.body = nn.Sequential(
            *[ResidualBlock(num_features, self.res_scale) for _ in range(num_blocks)]
        )
        self.recon = GlobalSkipReconstruction(scale, num_features, self.rgb_range)

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
            "rgb_range": self.rgb_range,
        }


@dataclass
class EDSROptions(ModelOptions):
    """``model:`` options of edsr (and multi_exit_edsr, which adds ``exits``)."""

    arch: str = "edsr"
    num_blocks: int = 16
    num_features: int = 64
    res_scale: float = 1.0  # 0.1 in the paper's 32 x 256 EDSR, which is unstable without it
    # The pixel range inside the network: 255 for the authors' weights (weights import sets
    # it); a student started from such a network (plain.init_from) must match it.
    rgb_range: float = 1.0

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_blocks", self.num_blocks, 1, 1000)
        check_range("model.num_features", self.num_features, 1, 4096)
        if not 0 < self.res_scale <= 1:
            raise ConfigError(f"model.res_scale must lie in (0, 1]; got {self.res_scale}")
        check_rgb_range(self.rgb_range)


def _build(scale: int, o: Any) -> EDSR:
    return EDSR(scale, o.num_blocks, o.num_features, o.res_scale, o.rgb_range)


register_architecture(
    Architecture("edsr", EDSROptions, _build, "EDSR (Lim et al. 2017)", depth_option="num_blocks")
)


# --- weight files of EDSR-PyTorch (official) and of BasicSR -------------------------------


def _res_scale(features: int, request: ImportRequest) -> float:
    # Not stored in the file: the paper's large EDSR (256 features) is trained with 0.1,
    # EDSR-baseline (64) with 1.
    value = 0.1 if features >= 256 else 1.0
    request.notes.append(f"res_scale {value} (the EDSR paper's value for {features} features)")
    return value


def _from_edsr(layout: str) -> object:
    block = (
        [
            (
                r"body\.(\d+)\.body\.([02])\.(\w+)",
                lambda m: f"body.{m[1]}.conv{int(m[2]) // 2 + 1}.{m[3]}",
            )
        ]
        if layout == "official"
        else [(r"body\.(\d+)\.(conv[12])\.(\w+)", r"body.\1.\2.\3")]
    )
    first = "head.0.weight" if layout == "official" else "conv_first.weight"
    counted = (
        r"body\.(\d+)\.body\.0\.weight" if layout == "official" else r"body\.(\d+)\.conv1\.weight"
    )

    def convert(state: State, request: ImportRequest) -> EDSR:
        features = shape(state, first)[0]
        blocks = count_indexed(state, counted)
        scale = global_skip_scale(state, layout, features, request)
        rgb_range = global_skip_range(state, layout, request)
        net = EDSR(scale, blocks, features, _res_scale(features, request), rgb_range)
        renamed = rename(state, block + global_skip_rules(layout), request.source)
        return load_exact(net, renamed, request.source)

    return convert


register_layout(
    ForeignLayout(
        "EDSR (sanghyun-son/EDSR-PyTorch)",
        lambda s: "head.0.weight" in s and "body.0.body.0.weight" in s and "tail.1.weight" in s,
        _from_edsr("official"),  # type: ignore[arg-type]
    )
)
register_layout(
    ForeignLayout(
        "EDSR (BasicSR)",
        lambda s: "conv_first.weight" in s and "body.0.conv1.weight" in s,
        _from_edsr("basicsr"),  # type: ignore[arg-type]
    )
)

"""RFDN (Liu et al., ECCV-W 2020): residual feature distillation, winner of AIM 2020
efficient SR.

    fea_conv   conv3x3 3 -> F
    B RFDBs    residual feature distillation block: three steps, each a conv1x1 F -> F/2
               ("distilled", LeakyReLU 0.05) beside a conv3x3 F -> F + input (LeakyReLU);
               a last conv3x3 F -> F/2; the four F/2 maps concatenated, conv1x1 2F -> F,
               then enhanced spatial attention (ESA)
               ESA: conv1x1 F -> F/4; a strided conv3x3 (no padding), max-pool 7 / 3,
               three conv3x3 at that coarse size, bilinear upsampling back, + conv1x1 of
               the F/4 map, conv1x1 -> F, sigmoid, rescale the block's features
    fuse       concat of all B block outputs, conv1x1 BF -> F + LeakyReLU, conv3x3, + fea
    upsampler  conv3x3 F -> 3 r^2, PixelShuffle(r)

The AIM 2020 network (the authors' ``RFDN_AIM.pth``) is 4 blocks x 50 at x4, 550 K
parameters, and was trained on pixel values in [0, 255] (its ``test.py`` feeds uint8 RGB
as floats without dividing): ``rgb_range`` 255 scales the input and output around the
same weights, so images stay in [0, 1] everywhere else. ESA's max-pool needs an LR input
of at least 15 x 15 pixels. The fuse step reads every block: no exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from srdistill.errors import ConfigError, DataError
from srdistill.models.blocks import FusedBlocksNetwork, check_rgb_range
from srdistill.models.foreign import (
    ForeignLayout,
    ImportRequest,
    State,
    check_scale,
    count_indexed,
    load_exact,
    register_layout,
    rename,
    scale_of_subpixel,
    shape,
    shifted,
)
from srdistill.models.registry import Architecture, register_architecture, register_network
from srdistill.schema import ModelOptions, RunConfig, check_range

MIN_LR_SIZE = 15  # ESA: strided 3x3 (no padding) then a 7-pixel max-pool must fit


class EnhancedSpatialAttention(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        f = num_features // 4
        self.conv1 = nn.Conv2d(num_features, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, num_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        coarse = F.max_pool2d(self.conv2(reduced), kernel_size=7, stride=3)
        coarse = torch.relu(self.conv_max(coarse))
        coarse = self.conv3_(torch.relu(self.conv3(coarse)))
        coarse = F.interpolate(coarse, x.shape[-2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(coarse + self.conv_f(reduced)))


class RFDB(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        f, d = num_features, num_features // 2
        self.c1_d, self.c1_r = nn.Conv2d(f, d, 1), nn.Conv2d(f, f, 3, padding=1)
        self.c2_d, self.c2_r = nn.Conv2d(f, d, 1), nn.Conv2d(f, f, 3, padding=1)
        self.c3_d, self.c3_r = nn.Conv2d(f, d, 1), nn.Conv2d(f, f, 3, padding=1)
        self.c4 = nn.Conv2d(f, d, 3, padding=1)
        self.act = nn.LeakyReLU(0.05, inplace=True)
        self.c5 = nn.Conv2d(4 * d, f, 1)
        self.esa = EnhancedSpatialAttention(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distilled, r = [], x
        for keep, refine in (
            (self.c1_d, self.c1_r),
            (self.c2_d, self.c2_r),
            (self.c3_d, self.c3_r),
        ):
            distilled.append(self.act(keep(r)))
            r = self.act(refine(r) + r)
        distilled.append(self.act(self.c4(r)))
        return self.esa(self.c5(torch.cat(distilled, dim=1)))


@register_network
class RFDN(FusedBlocksNetwork):
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "num_blocks": (int, 1, 100),
        "num_features": (int, 8, 4096),
        "rgb_range": (float, 1.0, 255.0),
    }

    def __init__(
        self, scale: int = 4, num_blocks: int = 4, num_features: int = 50, rgb_range: float = 1.0
    ) -> None:
        super().__init__()
        if num_features % 2 or num_features < 8:
            raise ValueError(f"num_features must be even and at least 8; got {num_features}")
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.rgb_range = float(rgb_range)
        self.build_shell([RFDB(num_features) for _ in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tracing = torch.jit.is_tracing() or torch.compiler.is_compiling()
        if not tracing and min(x.shape[-2:]) < MIN_LR_SIZE:
            raise DataError(
                f"RFDN needs an input of at least {MIN_LR_SIZE}x{MIN_LR_SIZE} pixels (its "
                f"attention pools 7-pixel windows); got {x.shape[-1]}x{x.shape[-2]}: use a "
                "larger image or tile"
            )
        return super().forward(x)

    @property
    def label(self) -> str:
        return f"RFDN-{self.num_blocks}x{self.num_features}"

    def spec(self) -> dict:
        return {
            "arch": "RFDN",
            "scale": self.scale,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
            "rgb_range": self.rgb_range,
        }


@dataclass
class RFDNOptions(ModelOptions):
    """``model:`` options of rfdn."""

    arch: str = "rfdn"
    num_blocks: int = 4
    num_features: int = 50
    rgb_range: float = 1.0  # 255 for the authors' AIM 2020 weights

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_blocks", self.num_blocks, 1, 100)
        check_range("model.num_features", self.num_features, 8, 4096)
        if self.num_features % 2:
            raise ConfigError(
                f"model.num_features must be even (RFDN distils half its channels per "
                f"step); got {self.num_features}"
            )
        check_rgb_range(self.rgb_range)
        lr_patch = cfg.data.patch_size // max(cfg.scale, 1)
        if lr_patch < MIN_LR_SIZE:
            raise ConfigError(
                f"RFDN needs LR patches of at least {MIN_LR_SIZE} px; data.patch_size "
                f"{cfg.data.patch_size} at x{cfg.scale} gives {lr_patch}: raise data.patch_size"
            )


def _build(scale: int, o: Any) -> RFDN:
    return RFDN(scale, o.num_blocks, o.num_features, o.rgb_range)


register_architecture(Architecture("rfdn", RFDNOptions, _build, "RFDN (Liu et al. 2020)"))


# --- the authors' weight files (njulj/RFDN, trained_model/RFDN_AIM.pth) -------------------


def _is_authors_rfdn(state: State) -> bool:
    return "fea_conv.weight" in state and "B1.c1_d.weight" in state


def _from_authors_rfdn(state: State, request: ImportRequest) -> RFDN:
    src = request.source
    features = shape(state, "fea_conv.weight")[0]
    blocks = count_indexed(state, r"B(\d+)\.c1_d\.weight")
    scale = check_scale(scale_of_subpixel(shape(state, "upsampler.0.weight")[0], 3, src), request)
    rgb_range = request.rgb_range or 255.0
    if request.rgb_range is None:
        request.notes.append(
            "pixel range 255 (the authors' test.py feeds uint8 values undivided); "
            "pass --rgb-range 1 for an RFDN trained on [0, 1] images"
        )
    renamed = rename(
        state,
        [
            (r"B(\d+)\.(\w+(?:\.\w+)?)\.(weight|bias)", shifted("blocks.{}.{}.{}", 1)),
            (r"fea_conv\.(\w+)", r"fea_conv.\1"),
            (r"c\.0\.(\w+)", r"fuse.0.\1"),
            (r"LR_conv\.(\w+)", r"lr_conv.\1"),
            (r"upsampler\.0\.(\w+)", r"upsample.0.\1"),
        ],
        src,
    )
    return load_exact(RFDN(scale, blocks, features, rgb_range), renamed, src)


register_layout(ForeignLayout("RFDN (njulj/RFDN)", _is_authors_rfdn, _from_authors_rfdn))

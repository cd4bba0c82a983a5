"""IMDN (Hui et al., ACM MM 2019): the efficient student.

Why IMDN: it won the AIM 2019 constrained-SR challenge, it is the network the later
efficient ones (RFDN, the NTIRE efficient-SR entries) refine, it has 715 K parameters at
x4 (a realistic student for an EDSR or RCAN teacher), and it uses only convolutions,
splits, concatenation and pooling, so it exports to ONNX and runs unchanged on CPU.
SPAN's re-parameterised convolutions differ between training and inference, which would
make its feature taps and exported graph two different networks.

    fea_conv   conv3x3 3 -> F
    B IMDBs    information multi-distillation block: three conv3x3 + LeakyReLU(0.05) steps
               each keep F/4 channels ("distilled") and pass 3F/4 on; a fourth conv3x3
               makes F/4 more; the four are concatenated, weighted by contrast-aware
               channel attention (CCA: std + mean pooling, 1x1 F -> F/16, ReLU, 1x1, sigmoid),
               fused by a 1x1 conv, + block input
    fuse       concat of all B block outputs, conv1x1 BF -> F + LeakyReLU, conv3x3, + fea
    upsampler  conv3x3 F -> 3 r^2, PixelShuffle(r) (one stage for any scale)

The fuse step reads every block, so the body is not a chain: IMDN has no exits and no
width slicing (its F/4 splits do not nest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from srdistill.errors import ConfigError
from srdistill.models.blocks import FusedBlocksNetwork
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


class ContrastChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.weights = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        contrast = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return x * self.weights(contrast + mean)


class IMDB(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.distilled = num_features // 4
        self.remaining = num_features - self.distilled
        f, r, d = num_features, self.remaining, self.distilled
        self.c1 = nn.Conv2d(f, f, 3, padding=1)
        self.c2 = nn.Conv2d(r, f, 3, padding=1)
        self.c3 = nn.Conv2d(r, f, 3, padding=1)
        self.c4 = nn.Conv2d(r, d, 3, padding=1)
        self.act = nn.LeakyReLU(0.05, inplace=True)
        self.attention = ContrastChannelAttention(4 * d)
        self.c5 = nn.Conv2d(4 * d, f, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = (self.distilled, self.remaining)
        d1, r1 = torch.split(self.act(self.c1(x)), split, dim=1)
        d2, r2 = torch.split(self.act(self.c2(r1)), split, dim=1)
        d3, r3 = torch.split(self.act(self.c3(r2)), split, dim=1)
        d4 = self.c4(r3)
        return x + self.c5(self.attention(torch.cat([d1, d2, d3, d4], dim=1)))


@register_network
class IMDN(FusedBlocksNetwork):
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "num_blocks": (int, 1, 100),
        "num_features": (int, 16, 4096),
    }

    def __init__(self, scale: int = 4, num_blocks: int = 6, num_features: int = 64) -> None:
        super().__init__()
        if num_features % 4 or num_features < 16:
            raise ValueError(
                f"num_features must be a multiple of 4, at least 16; got {num_features}"
            )
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.build_shell([IMDB(num_features) for _ in range(num_blocks)])

    @property
    def label(self) -> str:
        return f"IMDN-{self.num_blocks}x{self.num_features}"

    def spec(self) -> dict:
        return {
            "arch": "IMDN",
            "scale": self.scale,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
        }


@dataclass
class IMDNOptions(ModelOptions):
    """``model:`` options of imdn."""

    arch: str = "imdn"
    num_blocks: int = 6
    num_features: int = 64

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_blocks", self.num_blocks, 1, 100)
        check_range("model.num_features", self.num_features, 16, 4096)
        if self.num_features % 4:
            raise ConfigError(
                f"model.num_features must be a multiple of 4 (IMDN keeps a quarter of its "
                f"channels per step); got {self.num_features}"
            )


def _build(scale: int, o: Any) -> IMDN:
    return IMDN(scale, o.num_blocks, o.num_features)


register_architecture(Architecture("imdn", IMDNOptions, _build, "IMDN (Hui et al. 2019)"))


# --- the authors' weight files (Zheng222/IMDN, checkpoints/IMDN_x{2,3,4}.pth) -------------


def _is_authors_imdn(state: State) -> bool:
    return "fea_conv.weight" in state and "IMDB1.c1.weight" in state


def _from_authors_imdn(state: State, request: ImportRequest) -> IMDN:
    src = request.source
    features = shape(state, "fea_conv.weight")[0]
    blocks = count_indexed(state, r"IMDB(\d+)\.c1\.weight")
    scale = check_scale(scale_of_subpixel(shape(state, "upsampler.0.weight")[0], 3, src), request)
    renamed = rename(
        state,
        [
            (
                r"IMDB(\d+)\.cca\.conv_du\.(\d)\.(\w+)",
                shifted("blocks.{}.attention.weights.{}.{}", 1),
            ),
            (r"IMDB(\d+)\.(c\d)\.(\w+)", shifted("blocks.{}.{}.{}", 1)),
            (r"fea_conv\.(\w+)", r"fea_conv.\1"),
            (r"c\.0\.(\w+)", r"fuse.0.\1"),
            (r"LR_conv\.(\w+)", r"lr_conv.\1"),
            (r"upsampler\.0\.(\w+)", r"upsample.0.\1"),
        ],
        src,
    )
    return load_exact(IMDN(scale, blocks, features), renamed, src)


register_layout(ForeignLayout("IMDN (Zheng222/IMDN)", _is_authors_imdn, _from_authors_imdn))

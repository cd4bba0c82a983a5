"""CARN-M (Ahn et al., ECCV 2018): the mobile cascading residual network.

    mean shift  subtract the DIV2K mean (a fixed 1x1 conv in the authors' file)
    entry       conv3x3 3 -> F
    3 blocks    cascading block: one efficient residual unit (group conv3x3, ReLU, group
                conv3x3, ReLU, conv1x1, + input, ReLU) applied three times with shared
                weights; after each use the features so far are concatenated and fused by
                a conv1x1 + ReLU (2F, 3F, 4F -> F)
    cascade     the same concatenate-and-fuse pattern around the three blocks
    upsampler   per stage group conv3x3 F -> r^2 F, ReLU, PixelShuffle(r)
    exit        conv3x3 F -> 3, + the mean

The authors train one multi-scale network (x2, x3 and x4 upsamplers on one body); a stored
CARN-M here has the upsampler of one scale (``weights import --scale`` picks it). Images
are RGB in [0, 1], as the authors' test code reads them. 294 K parameters with the x4
upsampler (the authors' multi-scale file holds 412 K).
The body is a cascade (every fuse reads all earlier outputs), so CARN-M has no exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from srdistill.errors import CheckpointError, ConfigError
from srdistill.models.blocks import DIV2K_RGB_MEAN, MeanShift
from srdistill.models.foreign import (
    ForeignLayout,
    ImportRequest,
    State,
    check_scale,
    load_exact,
    mean_shift_range,
    register_layout,
    rename,
    scale_of_subpixel,
    shape,
    shifted,
)
from srdistill.models.registry import Architecture, register_architecture, register_network
from srdistill.schema import ModelOptions, RunConfig, check_range


def fuse(in_channels: int, out_channels: int) -> nn.Sequential:
    """conv1x1 + ReLU that merges concatenated features (the authors' BasicBlock)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True))


class EfficientResidual(nn.Module):
    def __init__(self, num_features: int, groups: int) -> None:
        super().__init__()
        f = num_features
        self.body = nn.Sequential(
            nn.Conv2d(f, f, 3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(f, f, 3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.Conv2d(f, f, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + x)


def cascade(x: torch.Tensor, units: list[nn.Module], fusers: nn.ModuleList) -> torch.Tensor:
    """out_i = fuse_i(concat(x, unit_1(out_0), ..., unit_i(out_{i-1}))), out_0 = x."""
    concatenated, out = x, x
    for unit, fuser in zip(units, fusers, strict=True):
        concatenated = torch.cat([concatenated, unit(out)], dim=1)
        out = fuser(concatenated)
    return out


class CascadingBlock(nn.Module):
    def __init__(self, num_features: int, groups: int) -> None:
        super().__init__()
        self.unit = EfficientResidual(num_features, groups)  # used three times (shared)
        self.fusers = nn.ModuleList(fuse(k * num_features, num_features) for k in (2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cascade(x, [self.unit] * 3, self.fusers)


def carn_upsampler(scale: int, num_features: int, groups: int) -> nn.Sequential:
    factors = [3] if scale == 3 else [2] * {2: 1, 4: 2, 8: 3}[scale]
    layers: list[nn.Module] = []
    for r in factors:
        layers += [
            nn.Conv2d(num_features, r * r * num_features, 3, padding=1, groups=groups),
            nn.ReLU(inplace=True),
            nn.PixelShuffle(r),
        ]
    return nn.Sequential(*layers)


@register_network
class CARNM(nn.Module):
    IS_GENERATOR: ClassVar[bool] = True
    SPEC_KEYS: ClassVar[dict] = {
        "scale": (int, 2, 8),
        "num_features": (int, 4, 4096),
        "groups": (int, 1, 64),
    }

    def __init__(self, scale: int = 4, num_features: int = 64, groups: int = 4) -> None:
        super().__init__()
        if scale not in (2, 3, 4, 8):
            raise ValueError(f"unsupported scale {scale}: use 2, 3, 4 or 8")
        if num_features % groups:
            raise ValueError(f"num_features {num_features} is not a multiple of groups {groups}")
        self.scale, self.num_features, self.groups = scale, num_features, groups
        f = num_features
        self.sub_mean = MeanShift(-1.0)
        self.entry = nn.Conv2d(3, f, 3, padding=1)
        self.blocks = nn.ModuleList(CascadingBlock(f, groups) for _ in range(3))
        self.fusers = nn.ModuleList(fuse(k * f, f) for k in (2, 3, 4))
        self.upsample = carn_upsampler(scale, f, groups)
        self.exit = nn.Conv2d(f, 3, 3, padding=1)
        self.add_mean = MeanShift(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = cascade(self.entry(self.sub_mean(x)), list(self.blocks), self.fusers)
        return self.add_mean(self.exit(self.upsample(features)))

    @property
    def label(self) -> str:
        return f"CARN-M-{self.num_features}"

    def feature_taps(self) -> list[str]:
        return [f"fusers.{i}" for i in range(3)]

    def spec(self) -> dict:
        return {
            "arch": "CARNM",
            "scale": self.scale,
            "num_features": self.num_features,
            "groups": self.groups,
        }


@dataclass
class CARNMOptions(ModelOptions):
    """``model:`` options of carn_m."""

    arch: str = "carn_m"
    num_features: int = 64
    groups: int = 4  # group convolutions in the residual units and the upsampler

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_features", self.num_features, 4, 4096)
        check_range("model.groups", self.groups, 1, 64)
        if self.num_features % self.groups:
            raise ConfigError(
                f"model.num_features ({self.num_features}) must be a multiple of "
                f"model.groups ({self.groups})"
            )


def _build(scale: int, o: Any) -> CARNM:
    return CARNM(scale, o.num_features, o.groups)


register_architecture(Architecture("carn_m", CARNMOptions, _build, "CARN-M (Ahn et al. 2018)"))


# --- the authors' weight files (nmhkahn/CARN-pytorch, checkpoint/carn_m.pth) --------------


def _is_authors_carn(state: State) -> bool:
    return "entry.weight" in state and "b1.b1.body.0.weight" in state


def _upsampler_scales(state: State) -> dict[int, str]:
    """Scale -> key prefix of the upsampler for it (``up2``.. in multi-scale files)."""
    found = {}
    for key in state:
        if key.startswith("upsample.up") and key.endswith(".body.0.weight"):
            name = key.split(".")[1]
            found[int(name[2:]) if name[2:].isdigit() else 0] = name
    return found


def _from_authors_carn(state: State, request: ImportRequest) -> CARNM:
    src = request.source
    if "b1.b2.body.0.weight" in state or "b1.b1.body.4.weight" not in state:
        raise CheckpointError(
            f"{src} is the full CARN (plain residual units), not CARN-M; only CARN-M is "
            "supported (`srdistill weights import --help` lists the layouts)"
        )
    for key in ("sub_mean.shifter", "add_mean.shifter"):
        if f"{key}.weight" in state and mean_shift_range(state, key, DIV2K_RGB_MEAN, src) != 1:
            raise CheckpointError(f"{src}: {key} is for pixel range 255; CARN-M uses [0, 1]")
    features = shape(state, "entry.weight")[0]
    groups = features // shape(state, "b1.b1.body.0.weight")[1]
    ups = _upsampler_scales(state)
    if set(ups) == {0}:  # a single-scale file: its upsampler says the scale
        conv = shape(state, "upsample.up.body.0.weight")
        scale = scale_of_subpixel(conv[0], features, src)
        scale = check_scale(
            4 if scale == 2 and "upsample.up.body.3.weight" in state else scale, request
        )
        chosen = "up"
    else:
        if request.scale is None:
            have = ", ".join(f"x{s}" for s in sorted(ups))
            raise CheckpointError(
                f"{src} is a multi-scale CARN-M (upsamplers for {have}): choose one with --scale"
            )
        if request.scale not in ups:
            have = ", ".join(f"x{s}" for s in sorted(ups))
            raise CheckpointError(
                f"{src} has no x{request.scale} upsampler; it has {have}: pass one of those"
            )
        scale, chosen = request.scale, ups[request.scale]
        request.notes.append(f"x{scale} upsampler of the multi-scale file (others left out)")
    renamed = rename(
        state,
        [
            (r"(sub|add)_mean\.shifter\.\w+", ""),  # a fixed layer, checked above
            (r"entry\.(\w+)", r"entry.\1"),
            (r"exit\.(\w+)", r"exit.\1"),
            (r"b(\d)\.b1\.body\.(\d)\.(\w+)", shifted("blocks.{}.unit.body.{}.{}", 1)),
            (r"b(\d)\.c(\d)\.body\.0\.(\w+)", shifted("blocks.{}.fusers.{}.0.{}", 1, 2)),
            (r"c(\d)\.body\.0\.(\w+)", shifted("fusers.{}.0.{}", 1)),
            (rf"upsample\.{chosen}\.body\.(\d)\.(\w+)", r"upsample.\1.\2"),
            (r"upsample\.up\d?\.body\.\d\.\w+", ""),  # the other scales' upsamplers
        ],
        src,
    )
    return load_exact(CARNM(scale, features, groups), renamed, src)


register_layout(
    ForeignLayout("CARN-M (nmhkahn/CARN-pytorch)", _is_authors_carn, _from_authors_carn)
)

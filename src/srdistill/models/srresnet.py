"""SRResNet (Ledig et al. 2017) and its multi-exit, self-distillable form.

SRResNet, read top to bottom:
    head      conv 9x9 (3 -> F) + PReLU
    body      N residual blocks: conv3x3, BN, PReLU, conv3x3, BN, + skip
    recon     trunk conv3x3 + BN, + head features (global skip),
              upsampler (x2: one conv F->4F + PixelShuffle(2) + PReLU stage per factor 2;
              x3: one stage of F->9F + PixelShuffle(3)), tail conv 9x9 (F -> 3)

Option (not SRResNet, off in the paper presets): ``bicubic_skip`` adds the bicubic upscale
of the input to the output, so the network learns only the residual and starts at
bicubic quality; short runs (the demo) then improve on bicubic from the first steps.

MultiExitSRResNet shares head and body, and gives each exit k its own ``recon``, so
head + body[:k] + exits[k] *is* an SRResNet with k blocks: ``extract_exit`` copies those
weights into a plain ``SRResNet`` (the deployable light model).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from srdistill.errors import ConfigError
from srdistill.models.blocks import subpixel_upsampler
from srdistill.models.chain import ChainNetwork, MultiExitChain
from srdistill.models.chain import copy_first_blocks as _copy_first_blocks
from srdistill.models.registry import (
    Architecture,
    check_exits,
    register_architecture,
    register_network,
)
from srdistill.schema import ModelOptions, RunConfig, check_range


class ResidualBlock(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(num_features)
        self.act = nn.PReLU()
        self.conv2 = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


class Reconstruction(nn.Module):
    """Trunk conv + BN, global skip, upsampler and tail: features -> SR image."""

    def __init__(
        self, scale: int, num_features: int, out_channels: int = 3, zero_tail: bool = False
    ) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(num_features, num_features, 3, padding=1), nn.BatchNorm2d(num_features)
        )
        self.upsample = subpixel_upsampler(scale, num_features, nn.PReLU)
        self.tail = nn.Conv2d(num_features, out_channels, 9, padding=4)
        if zero_tail:  # a residual head starts at zero: the model starts as exact bicubic
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, features: torch.Tensor, head_features: torch.Tensor) -> torch.Tensor:
        return self.tail(self.upsample(self.trunk(features) + head_features))


def bicubic_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """PyTorch's bicubic upscale (exportable to ONNX); used only as the residual base."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def _head(in_channels: int, num_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, num_features, 9, padding=4), nn.PReLU())


SPEC_KEYS: dict[str, tuple[type, float, float]] = {
    "scale": (int, 2, 8),
    "num_blocks": (int, 1, 1000),
    "num_features": (int, 1, 4096),
    "bicubic_skip": (bool, 0, 1),
}


@register_network
class SRResNet(ChainNetwork):
    """SRResNet with ``num_blocks`` residual blocks of ``num_features`` channels."""

    SPEC_KEYS: ClassVar[dict] = SPEC_KEYS
    WIDTH_SLICEABLE: ClassVar[bool] = True

    def __init__(
        self,
        scale: int = 4,
        num_blocks: int = 16,
        num_features: int = 64,
        bicubic_skip: bool = False,
    ) -> None:
        super().__init__()
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.bicubic_skip = bool(bicubic_skip)
        self.head = _head(3, num_features)
        self.body = nn.Sequential(*[ResidualBlock(num_features) for _ in range(num_blocks)])
        self.recon = Reconstruction(scale, num_features, zero_tail=self.bicubic_skip)

    def reconstruct(
        self, recon: nn.Module, features: torch.Tensor, head_out: torch.Tensor, lr: torch.Tensor
    ) -> torch.Tensor:
        out = recon(features, head_out)
        return out + bicubic_upscale(lr, self.scale) if self.bicubic_skip else out

    def new_reconstruction(self) -> nn.Module:
        return Reconstruction(self.scale, self.num_features, zero_tail=self.bicubic_skip)

    def spec(self) -> dict:
        """Constructor arguments, stored in checkpoints to rebuild the model."""
        spec = {
            "arch": "SRResNet",
            "scale": self.scale,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
        }
        if self.bicubic_skip:  # written only when on, so older readers see the same spec
            spec["bicubic_skip"] = True
        return spec


def copy_first_blocks(student: SRResNet, teacher: SRResNet) -> list[str]:
    """Make ``student`` the teacher cut after its first ``student.num_blocks`` blocks (head,
    blocks 0..k-1, reconstruction); see ``models.chain.copy_first_blocks``."""
    return _copy_first_blocks(student, teacher)


@register_network
class MultiExitSRResNet(MultiExitChain):
    """SRResNet with extra exits after chosen blocks; the last block is the center exit.

    ``MultiExitChain`` (forward, forward_exit, extract_exit) for SRResNet, with the spec,
    tensor names and order of initialisation of the runs written before it existed: under
    one seed it draws the weights those runs drew.
    """

    SPEC_KEYS: ClassVar[dict] = {**SPEC_KEYS, "exits": (list, 0, 1000)}

    def __init__(
        self,
        scale: int = 4,
        num_blocks: int = 32,
        exits: Sequence[int] = (8,),
        num_features: int = 64,
        bicubic_skip: bool = False,
    ) -> None:
        nn.Module.__init__(self)
        chosen = sorted(set(int(k) for k in exits) | {num_blocks})
        if chosen[0] < 1 or chosen[-1] > num_blocks:
            raise ValueError(f"exits must lie in 1..{num_blocks}, got {list(exits)}")
        self.scale, self.num_blocks, self.num_features = scale, num_blocks, num_features
        self.bicubic_skip = bool(bicubic_skip)
        self.exit_blocks = chosen
        self.head = _head(3, num_features)
        self.body = nn.Sequential(*[ResidualBlock(num_features) for _ in range(num_blocks)])
        self.exits = nn.ModuleDict(
            {
                str(k): Reconstruction(scale, num_features, zero_tail=self.bicubic_skip)
                for k in chosen
            }
        )
        with torch.device("meta"):  # its reconstruct() reads sizes only; allocates nothing
            self._network = (SRResNet(scale, 1, num_features, self.bicubic_skip),)

    @property
    def base(self) -> dict:
        """The spec of the plain SRResNet the center exit is."""
        spec = {k: v for k, v in self.spec().items() if k != "exits"}
        return {**spec, "arch": "SRResNet"}

    @property
    def label(self) -> str:
        return f"MultiExitSRResNet-{self.num_blocks}"

    def spec(self) -> dict:
        spec = {
            "arch": "MultiExitSRResNet",
            "scale": self.scale,
            "num_blocks": self.num_blocks,
            "num_features": self.num_features,
            "exits": self.side_exits,
        }
        if self.bicubic_skip:
            spec["bicubic_skip"] = True
        return spec


@dataclass
class SRResNetOptions(ModelOptions):
    """``model:`` options of srresnet and multi_exit_srresnet."""

    arch: str = "srresnet"
    num_blocks: int = 16
    num_features: int = 64
    exits: list[int] = field(default_factory=lambda: [8])  # multi_exit_srresnet only
    # Not SRResNet: add the bicubic upscale of the input to the output (residual learning).
    # Off in every paper preset; the demo uses it so a minutes-long run beats bicubic.
    bicubic_skip: bool = False

    def check(self, cfg: RunConfig) -> None:
        check_range("model.num_blocks", self.num_blocks, 1, 1000)
        check_range("model.num_features", self.num_features, 1, 4096)
        if self.arch == "multi_exit_srresnet":
            check_exits(self.exits, self.num_blocks)
        elif self.exits != SRResNetOptions().exits:
            # A plain SRResNet has no exits: a changed model.exits would be silently ignored.
            raise ConfigError(
                f"model.exits {self.exits} is read only by model.arch: multi_exit_srresnet "
                f"(method self_distill); method {cfg.method} trains a plain SRResNet: drop it"
            )


def _build_srresnet(scale: int, o: Any) -> SRResNet:
    return SRResNet(scale, o.num_blocks, o.num_features, o.bicubic_skip)


def _build_multi_exit(scale: int, o: Any) -> MultiExitSRResNet:
    return MultiExitSRResNet(scale, o.num_blocks, o.exits, o.num_features, o.bicubic_skip)


# The multi-exit form is this file's own class (not the generic one derived from
# depth_option), so runs written before the registry keep their spec and tensor names.
register_architecture(
    Architecture("srresnet", SRResNetOptions, _build_srresnet, "SRResNet (Ledig et al. 2017)")
)
register_architecture(
    Architecture(
        "multi_exit_srresnet",
        SRResNetOptions,
        _build_multi_exit,
        "SRResNet with exits (paper A's self-distillation)",
        multi_exit=True,
    )
)

"""Building blocks shared by the architectures (upsampler; EDSR-family head, reconstruction)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from srdistill.errors import CheckpointError, ConfigError
from srdistill.models.chain import ChainNetwork
from srdistill.models.foreign import (
    ImportRequest,
    Rule,
    State,
    check_scale,
    mean_shift_range,
    scale_of_subpixel,
)

# DIV2K's mean RGB on [0, 1] images: EDSR and RCAN subtract it at the input and add it back
# at the output (their MeanShift with rgb_range 1). Constants, not parameters: they are not
# trained and not stored.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Module):
    """Subtracts (``sign`` -1) or adds back (+1) the DIV2K mean (a buffer that is not saved).

    ``rgb_range``: the pixel range the network's convolutions were trained on. Images stay
    in [0, 1] outside; EDSR's and RCAN's official weights (and BasicSR's) see
    ``(x - mean) * 255`` inside, so the input shift also scales by it and the output shift
    divides by it first, the arithmetic of their MeanShift layers with std 1.
    """

    def __init__(self, sign: float = -1.0, rgb_range: float = 1.0) -> None:
        super().__init__()
        self.sign, self.rgb_range = sign, float(rgb_range)
        mean = torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1)
        self.register_buffer("mean", mean, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(x.dtype)
        if self.sign < 0:
            shifted = x - mean
            return shifted if self.rgb_range == 1.0 else shifted * self.rgb_range
        return (x if self.rgb_range == 1.0 else x / self.rgb_range) + mean


class FusedBlocksNetwork(nn.Module):
    """IMDN's shape, shared by RFDN: ``fea_conv`` 3 -> F; ``blocks``; ``fuse`` (conv1x1 over
    the concatenation of every block's output + LeakyReLU); ``lr_conv``, + fea; ``upsample``
    (one conv + PixelShuffle). Subclasses set ``scale``, ``num_blocks``, ``num_features``
    and ``rgb_range`` and build the modules with ``build_shell``."""

    IS_GENERATOR: ClassVar[bool] = True
    scale: int
    num_blocks: int
    num_features: int
    rgb_range: float = 1.0

    def build_shell(self, blocks: list[nn.Module]) -> None:
        f, n, r = self.num_features, len(blocks), self.scale
        self.fea_conv = nn.Conv2d(3, f, 3, padding=1)
        self.blocks = nn.ModuleList(blocks)
        self.fuse = nn.Sequential(nn.Conv2d(n * f, f, 1), nn.LeakyReLU(0.05, inplace=True))
        self.lr_conv = nn.Conv2d(f, f, 3, padding=1)
        self.upsample = nn.Sequential(nn.Conv2d(f, 3 * r * r, 3, padding=1), nn.PixelShuffle(r))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rgb_range != 1.0:
            x = x * self.rgb_range
        fea = self.fea_conv(x)
        outs, f = [], fea
        for block in self.blocks:
            f = block(f)
            outs.append(f)
        out = self.upsample(self.lr_conv(self.fuse(torch.cat(outs, dim=1))) + fea)
        return out if self.rgb_range == 1.0 else out / self.rgb_range

    def feature_taps(self) -> list[str]:
        return [f"blocks.{i}" for i in range(self.num_blocks)]

    def copy_first_blocks_from(self, deeper: nn.Module) -> list[str]:
        """Start as ``deeper`` cut after this network's number of blocks: every tensor of
        the same name, and of the fuse conv the input columns of the blocks kept."""
        own = self.state_dict()
        source = deeper.state_dict()
        for name in own:
            value = source[name]
            if name == "fuse.0.weight":
                value = value[:, : own[name].shape[1]]
            own[name] = value.clone()
        self.load_state_dict(own, strict=True)
        return list(own)


def check_rgb_range(value: float) -> None:
    """``model.rgb_range``: 1 (srdistill's own networks) or 255 (the authors' weights)."""
    if value not in (1.0, 255.0):
        raise ConfigError(f"model.rgb_range must be 1 or 255; got {value}")


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

    def __init__(self, scale: int, num_features: int, rgb_range: float = 1.0) -> None:
        super().__init__()
        self.body_end = nn.Conv2d(num_features, num_features, 3, padding=1)
        self.upsample = subpixel_upsampler(scale, num_features)
        self.tail = nn.Conv2d(num_features, 3, 3, padding=1)
        self.add_mean = MeanShift(1.0, rgb_range)

    def forward(self, features: torch.Tensor, head_features: torch.Tensor) -> torch.Tensor:
        return self.add_mean(self.tail(self.upsample(self.body_end(features) + head_features)))


def mean_shifted_head(num_features: int, rgb_range: float = 1.0) -> nn.Sequential:
    """EDSR's head: subtract the DIV2K mean (times ``rgb_range``), conv3x3 3 -> F."""
    return nn.Sequential(MeanShift(-1.0, rgb_range), nn.Conv2d(3, num_features, 3, padding=1))


class GlobalSkipChain(ChainNetwork):
    """A chain network ending in ``GlobalSkipReconstruction`` (EDSR, RCAN). Subclasses
    build ``head`` (``mean_shifted_head``), ``body`` and ``recon`` in that order, and set
    ``scale``, ``num_features`` and ``rgb_range``."""

    WIDTH_SLICEABLE: ClassVar[bool] = True
    num_features: int
    rgb_range: float = 1.0

    def reconstruct(
        self, recon: nn.Module, features: torch.Tensor, head_out: torch.Tensor, lr: torch.Tensor
    ) -> torch.Tensor:
        return recon(features, head_out)

    def new_reconstruction(self) -> nn.Module:
        return GlobalSkipReconstruction(self.scale, self.num_features, self.rgb_range)


# --- EDSR-family weight files: the official repositories' and BasicSR's key layouts --------
# official (EDSR-PyTorch, RCAN): sub_mean, head.0, body.*, body.<last> (the body's end
# conv), tail.0.<k> (upsampler), tail.1, add_mean. BasicSR: conv_first, body.*,
# conv_after_body, upsample.<k>, conv_last; its pixel range (img_range 255) is not stored.


def global_skip_rules(layout: str) -> list[Rule]:
    """Rules mapping the head, end conv, upsampler and tail of ``layout`` ("official" or
    "basicsr") onto ``mean_shifted_head`` + ``GlobalSkipReconstruction``."""
    if layout == "official":
        return [
            (r"(sub|add)_mean\.\w+", ""),  # fixed layers, read by global_skip_range
            (r"head\.0\.(\w+)", r"head.1.\1"),
            (r"body\.(\d+)\.(weight|bias)", r"recon.body_end.\2"),
            (r"tail\.0\.(\d+)\.(\w+)", r"recon.upsample.\1.\2"),
            (r"tail\.1\.(\w+)", r"recon.tail.\1"),
        ]
    return [
        (r"conv_first\.(\w+)", r"head.1.\1"),
        (r"conv_after_body\.(\w+)", r"recon.body_end.\1"),
        (r"upsample\.(\d+)\.(\w+)", r"recon.upsample.\1.\2"),
        (r"conv_last\.(\w+)", r"recon.tail.\1"),
    ]


def global_skip_scale(state: State, layout: str, features: int, request: ImportRequest) -> int:
    """The scale the upsampler's convs give (r per stage, a x3 stage alone)."""
    prefix = "tail.0" if layout == "official" else "upsample"
    convs = sorted(
        int(k.split(".")[-2]) for k in state if k.startswith(prefix + ".") and k.endswith("weight")
    )
    if not convs:
        raise CheckpointError(f"{request.source}: no upsampler ({prefix}.*) in the file")
    factor = scale_of_subpixel(
        state[f"{prefix}.{convs[0]}.weight"].shape[0], features, request.source
    )
    return check_scale(factor ** len(convs), request)


def global_skip_range(state: State, layout: str, request: ImportRequest) -> float:
    """The pixel range the weights were trained at: read off an official file's mean shift,
    BasicSR's default (255) otherwise, unless the user said."""
    if request.rgb_range is not None:
        return request.rgb_range
    if "sub_mean.weight" in state:
        return mean_shift_range(state, "sub_mean", DIV2K_RGB_MEAN, request.source)
    request.notes.append(
        "pixel range 255 (BasicSR's img_range default; the file does not store it): pass "
        "--rgb-range 1 for a network trained with img_range 1"
    )
    return 255.0

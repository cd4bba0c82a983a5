"""VGG19 feature layers for the SRGAN content loss, without torchvision.

The layers are laid out exactly as torchvision's ``vgg19().features`` so that the standard
ImageNet file ``vgg19-dcbb9e9d.pth`` loads unchanged (keys ``features.<i>.weight``).
Weights are looked up at a configured path, then in the torch hub checkpoint cache; a
downloader fetches them from PyTorch's official location with checksum verification.
Without the file, training stops with a message saying where to put it; a randomly
initialised stand-in exists only as an explicit option (``vgg_weights: random``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from srdistill.errors import CheckpointError
from srdistill.weights import WEIGHTS, hub_checkpoint_dir

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_FILE = WEIGHTS["vgg19"].file
VGG19_SHA256_PREFIX = "dcbb9e9d"  # torchvision names files by their SHA-256 prefix
STAND_IN_NOTE = "stand-in VGG (not comparable to the paper)"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
        512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip


def layer_names() -> dict[str, int]:
    """Map 'conv5_4' / 'relu5_4' / 'pool5' to the index of that layer in ``features``."""
    names, index, block, conv = {}, 0, 1, 1
    for item in _CFG:
        if item == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"] = index
            names[f"relu{block}_{conv}"] = index + 1
            index, conv = index + 2, conv + 1
    return names


class VGG19Features(nn.Module):
    """VGG19 ``features`` up to and including ``layer`` (default relu5_4 = SRGAN's phi_5,4),
    frozen, in eval mode, with ImageNet normalisation of [0, 1] RGB inputs."""

    def __init__(self, layer: str = "relu5_4") -> None:
        super().__init__()
        names = layer_names()
        if layer not in names:
            raise ValueError(f"unknown VGG19 layer '{layer}'; e.g. relu5_4, conv5_4, relu2_2")
        layers: list[nn.Module] = []
        prev = 3
        for item in _CFG:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(prev, int(item), 3, padding=1), nn.ReLU(inplace=False)]
                prev = int(item)
        self.layer = layer
        self.features = nn.Sequential(*layers[: names[layer] + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Features:  # always frozen, always eval
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features((x - self.mean) / self.std)

    def load_torchvision_state(self, state: dict[str, torch.Tensor]) -> None:
        own = self.features.state_dict()
        wanted = {k: state[f"features.{k}"] for k in own if f"features.{k}" in state}
        missing = [k for k in own if k not in wanted]
        if missing:
            raise CheckpointError(
                f"VGG19 weights lack features.{missing[0]}; use torchvision's {VGG19_FILE}"
            )
        bad = [k for k in own if wanted[k].shape != own[k].shape]
        if bad:
            raise CheckpointError(f"VGG19 weights have the wrong shape at features.{bad[0]}")
        self.features.load_state_dict(wanted)


def find_vgg19_weights(configured: str | None = None) -> Path | None:
    from srdistill.weights import find_weight

    return find_weight("vgg19", configured)


def download_vgg19(url: str = VGG19_URL, dest_dir: Path | None = None) -> Path:
    """Fetch the ImageNet VGG19 file into the hub cache, verifying its SHA-256 prefix."""
    from srdistill.downloads import DownloadFailed, download_verified

    dest_dir = dest_dir or hub_checkpoint_dir()
    try:
        return download_verified(url, dest_dir / VGG19_FILE, "sha256", VGG19_SHA256_PREFIX)
    except DownloadFailed as exc:
        raise CheckpointError(f"VGG19: {exc}; put {VGG19_FILE} in {dest_dir}") from None


def build_vgg19_features(layer: str, weights: str | None) -> tuple[VGG19Features, bool]:
    """The content-loss network and whether it is the real ImageNet one.

    ``weights``: a path, None (search the usual places), or "random" (explicit stand-in).
    """
    net = VGG19Features(layer)
    if weights == "random":
        gen = torch.Generator().manual_seed(19)
        for module in net.features:
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, generator=gen, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        return net, False
    from srdistill.weights import require_weight

    path = require_weight("vgg19", weights)
    from srdistill.safe_load import load_tensors

    state = load_tensors(path, "VGG19 weights")
    net.load_torchvision_state(state)
    return net, True

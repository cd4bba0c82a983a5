"""1x1 convolutions that map student features to the teacher's width (FitNets regressor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from srdistill.models.registry import register_network


@register_network
class FeatureAdaptor(nn.Module):
    """One 1x1 conv per (student width, teacher width) pair; identity where they match."""

    SPEC_KEYS: ClassVar[dict] = {"channels": (list, 1, 1000)}

    def __init__(self, channels: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.channels = [[int(a), int(b)] for a, b in channels]
        self.convs = nn.ModuleList(
            nn.Conv2d(a, b, 1) if a != b else nn.Identity() for a, b in self.channels
        )

    def forward(self, features: torch.Tensor, index: int) -> torch.Tensor:
        return self.convs[index](features)

    def spec(self) -> dict:
        return {"arch": "FeatureAdaptor", "channels": self.channels}

"""SRGAN's discriminator (Ledig et al. 2017), returning a real/fake logit.

Eight 3x3 convs (64, 64/s2, 128, 128/s2, 256, 256/s2, 512, 512/s2), BatchNorm after all
but the first, LeakyReLU 0.2; then dense 1024, LeakyReLU, dense 1. A 96x96 input reaches
the dense layers as 6x6x512, as in the paper; other sizes are pooled to 6x6 so the same
weights serve any patch size.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from srdistill.models.registry import register_network


@register_network
class Discriminator(nn.Module):
    SPEC_KEYS: ClassVar[dict] = {"num_features": (int, 1, 4096), "in_channels": (int, 1, 64)}

    def __init__(self, num_features: int = 64, in_channels: int = 3) -> None:
        super().__init__()
        self.num_features, self.in_channels = num_features, in_channels
        widths = [
            num_features,
            num_features,
            2 * num_features,
            2 * num_features,
            4 * num_features,
            4 * num_features,
            8 * num_features,
            8 * num_features,
        ]
        layers: list[nn.Module] = []
        prev = in_channels
        for i, width in enumerate(widths):
            stride = 2 if i % 2 else 1
            layers.append(nn.Conv2d(prev, width, 3, stride=stride, padding=1))
            if i > 0:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(prev * 36, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (N,): sigmoid(logit) is the probability that x is real."""
        return self.classifier(self.pool(self.features(x))).squeeze(1)

    def spec(self) -> dict:
        return {
            "arch": "Discriminator",
            "num_features": self.num_features,
            "in_channels": self.in_channels,
        }

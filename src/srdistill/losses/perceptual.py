"""SRGAN's content loss: MSE between VGG19 feature maps, rescaled as SRGAN does.

Ledig et al. (2017) scale the VGG feature maps by 1/12.75 before the MSE, which brings
the content term to the size of a pixel MSE; without it the content term is about
12.75^2 = 163x heavier against the 1e-3 adversarial term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SRGAN_FEATURE_SCALE = 1 / 12.75


def content_loss(
    sr_features: torch.Tensor, hr_features: torch.Tensor, scale: float = SRGAN_FEATURE_SCALE
) -> torch.Tensor:
    """MSE between ``scale * sr_features`` and ``scale * hr_features`` (HR side detached)."""
    return F.mse_loss(sr_features.float() * scale, hr_features.detach().float() * scale)


def pixel_mse_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """SRGAN-MSE's content loss: MSE on images in [-1, 1] (Ledig et al. 2017 scale HR
    images to that range), i.e. 4x the MSE of [0, 1] images; it keeps the ratio to the
    1e-3 adversarial weight that the paper used."""
    return 4.0 * F.mse_loss(sr.float(), hr.detach().float())

"""Pixel losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F

PIXEL_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


def pixel_loss(kind: str, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean L1 or MSE; computed in float32 even under bf16 autocast."""
    return PIXEL_LOSSES[kind](prediction.float(), target.float())

"""Losses: pixel, self-distillation (paper A), mutual KL and GAN/perceptual (paper B)."""

from srdistill.losses.pixel import pixel_loss
from srdistill.losses.self_distill import self_distillation_loss

__all__ = ["pixel_loss", "self_distillation_loss"]

"""Losses: pixel, self-distillation (paper A), mutual KL and GAN/perceptual (paper B)."""

from srdistill.losses.mutual import (
    adversarial_loss,
    bernoulli_kl,
    discriminator_loss,
    mutual_loss,
)
from srdistill.losses.pixel import pixel_loss
from srdistill.losses.self_distill import self_distillation_loss

__all__ = [
    "adversarial_loss",
    "bernoulli_kl",
    "discriminator_loss",
    "mutual_loss",
    "pixel_loss",
    "self_distillation_loss",
]

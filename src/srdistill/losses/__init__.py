"""Losses: pixel, self-distillation (paper A), mutual KL and GAN/perceptual (paper B)."""

from srdistill.losses.mutual import (
    adversarial_loss,
    bernoulli_kl,
    confidence_loss,
    discriminator_loss,
    mutual_loss,
)
from srdistill.losses.perceptual import SRGAN_FEATURE_SCALE, content_loss, pixel_mse_loss
from srdistill.losses.pixel import pixel_loss
from srdistill.losses.self_distill import self_distillation_loss

__all__ = [
    "SRGAN_FEATURE_SCALE",
    "adversarial_loss",
    "bernoulli_kl",
    "confidence_loss",
    "content_loss",
    "pixel_mse_loss",
    "discriminator_loss",
    "mutual_loss",
    "pixel_loss",
    "self_distillation_loss",
]

"""Image quality metrics: PSNR/SSIM (full reference) and NIQE/Ma/PI (no reference)."""

from srdistill.metrics.psnr_ssim import psnr, ssim, to_metric_space

__all__ = ["psnr", "ssim", "to_metric_space"]

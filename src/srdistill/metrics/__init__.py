"""Image quality metrics: PSNR/SSIM (full reference) and NIQE/Ma/PI (no reference).

``METRICS`` (srdistill.metrics.registry) is the one table of metrics that evaluation,
the reproduce tables and the engine's validation use.
"""

from srdistill.metrics.psnr_ssim import psnr, ssim, to_metric_space
from srdistill.metrics.registry import METRICS, Metric, score, unavailable

__all__ = ["METRICS", "Metric", "psnr", "score", "ssim", "to_metric_space", "unavailable"]

"""Image quality metrics: PSNR/SSIM (full reference) and NIQE/Ma/PI (no reference).

``from srdistill.metrics import psnr, ssim, niqe, ma, pi`` gives one-image functions that
accept tensors or arrays (srdistill.metrics.api). ``METRICS`` (srdistill.metrics.registry)
is the one table of metrics that evaluation, the reproduce tables and the engine use.
"""

from srdistill.metrics.api import as_image, ma, niqe, pi, psnr, ssim
from srdistill.metrics.perceptual import MetricUnavailable
from srdistill.metrics.psnr_ssim import to_metric_space
from srdistill.metrics.registry import METRICS, Metric, score, unavailable

__all__ = [
    "METRICS",
    "Metric",
    "MetricUnavailable",
    "as_image",
    "ma",
    "niqe",
    "pi",
    "psnr",
    "score",
    "ssim",
    "to_metric_space",
    "unavailable",
]

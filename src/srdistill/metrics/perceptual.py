"""Ma et al. 2017 score and the Perceptual Index (PIRM 2018): PI = ((10 - Ma) + NIQE) / 2.

Ma's metric regresses image quality from hand-crafted features with random forests
trained by its authors (srdistill.metrics.ma_metric). The trained model is a file from the
public release (github.com/chaoma99/sr-metric, ``model.mat``); when it is not found,
``ma`` and ``pi`` are reported as unavailable with the reason, never estimated.
"""

from __future__ import annotations

from pathlib import Path

import torch

from srdistill.errors import CheckpointError
from srdistill.ops.color import luma_8bit


def ma_notes(metrics: list[str] | tuple[str, ...]) -> list[str]:
    """The caveat that goes beside Ma/PI numbers wherever they are reported."""
    if not {"ma", "pi"} & set(metrics) or find_ma_model() is None:
        return []
    return [
        "Ma and PI: srdistill's port of Ma et al. 2017 (features held to a line-by-line "
        "transcription of the MATLAB release, not to MATLAB itself) with the authors' "
        "model (docs/metrics.md)"
    ]


class MetricUnavailable(CheckpointError):
    """A metric cannot be computed here (its model file is missing); the message says
    where to put it."""


def find_ma_model(path: str | Path | None = None) -> Path | None:
    """``path``, $SRDISTILL_MA_MODEL, or <data root>/weights/ma_model.mat, if it exists."""
    from srdistill.weights import find_weight

    return find_weight("ma", path)


def ma_unavailable_reason() -> str | None:
    """Why Ma (and hence PI) cannot be computed here, or None when it can."""
    from srdistill.weights import missing_message

    return missing_message("ma") if find_ma_model() is None else None


def ma_score(
    img: torch.Tensor,
    crop_border: int = 0,
    *,
    y_channel: bool = True,
    model: str | Path | None = None,
) -> float:
    """Ma et al. 2017 score (higher is better) of a float RGB CHW image in [0, 1].

    Conventions as PIRM 2018: Y channel of YCbCr at 8-bit levels, ``crop_border`` (the
    scale) pixels removed from each side. Raises MetricUnavailable without the model file.
    """
    from srdistill.metrics.ma_metric import ma_of_luma

    path = find_ma_model(model)
    if path is None:
        raise MetricUnavailable(ma_unavailable_reason() or "Ma model file not found")
    luma = luma_8bit(img, y_channel)
    if crop_border > 0:
        luma = luma[crop_border:-crop_border, crop_border:-crop_border]
    return ma_of_luma(luma, path)


def perceptual_index(niqe_value: float, ma_value: float) -> float:
    """PIRM 2018 Perceptual Index; lower is better."""
    return ((10.0 - ma_value) + niqe_value) / 2.0

"""Ma et al. 2017 score and the Perceptual Index (PIRM 2018): PI = ((10 - Ma) + NIQE) / 2.

Ma's metric regresses image quality from three groups of hand-crafted features with
random forests trained by its authors; the trained model is a file from the public
release (github.com/chaoma99/sr-metric, ``model.mat``). It is not on these machines, and
srdistill does not yet contain Ma's feature extraction, so ``ma`` and ``pi`` are reported
as unavailable with the reason, never estimated.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

MA_MODEL_URL = "https://github.com/chaoma99/sr-metric"


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here; the message says why."""


def find_ma_model() -> Path | None:
    path = os.environ.get("SRDISTILL_MA_MODEL")
    return Path(path) if path and Path(path).is_file() else None


def ma_unavailable_reason() -> str:
    if find_ma_model() is None:
        return (
            f"Ma et al. 2017 model file not found (set SRDISTILL_MA_MODEL to model.mat from "
            f"{MA_MODEL_URL}); Ma and PI are not reported"
        )
    return "Ma et al. 2017 feature extraction is not implemented in this version of srdistill"


def ma_score(img: torch.Tensor, crop_border: int = 0) -> float:
    """Ma et al. 2017 no-reference SR score (higher is better); raises MetricUnavailable."""
    raise MetricUnavailable(ma_unavailable_reason())


def perceptual_index(niqe_value: float, ma_value: float) -> float:
    """PIRM 2018 Perceptual Index; lower is better."""
    return ((10.0 - ma_value) + niqe_value) / 2.0

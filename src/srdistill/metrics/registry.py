"""One table of metrics with one signature, used by eval, reproduce and the training engine.

Every metric is ``fn(sr, hr, crop_border) -> float`` on CHW float images in [0, 1] with the
PIRM/standard conventions (Y channel, ``crop_border`` = scale pixels off each side).
No-reference metrics ignore ``hr``. A metric computed from others (PI from NIQE and Ma)
names them in ``requires`` and reads their values instead of computing them again. A value
that cannot be computed for one image (too small for NIQE's blocks) is NaN; a metric that
cannot be computed here at all (no model file) is listed by ``unavailable`` with the reason.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from srdistill.errors import CheckpointError, DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor | None, int], float] | None
    higher_is_better: bool
    needs_reference: bool
    requires: tuple[str, ...] = ()
    combine: Callable[..., float] | None = None  # for derived metrics: f(*required values)


def _psnr(sr: torch.Tensor, hr: torch.Tensor | None, crop: int) -> float:
    from srdistill.metrics.psnr_ssim import psnr

    return psnr(sr, hr, crop).item()


def _ssim(sr: torch.Tensor, hr: torch.Tensor | None, crop: int) -> float:
    from srdistill.metrics.psnr_ssim import ssim

    try:
        return ssim(sr, hr, crop).item()
    except ValueError as exc:  # smaller than the 11x11 window: not scored, like NIQE
        log.warning("SSIM not computed: %s", exc)
        return math.nan


def _niqe(sr: torch.Tensor, hr: torch.Tensor | None, crop: int) -> float:
    from srdistill.metrics.niqe_metric import niqe

    try:
        return niqe(sr, crop)
    except ValueError as exc:  # too small for NIQE's 96x96 blocks: not scored
        log.warning("NIQE not computed: %s", exc)
        return math.nan
    except CheckpointError:  # no pristine model here: reported by unavailable()
        return math.nan


def _ma(sr: torch.Tensor, hr: torch.Tensor | None, crop: int) -> float:
    from srdistill.metrics.perceptual import MetricUnavailable, ma_score

    try:
        return ma_score(sr, crop)
    except MetricUnavailable:  # no model file here: reported by unavailable()
        return math.nan
    except ValueError as exc:  # too small for the features: not scored
        log.warning("Ma not computed: %s", exc)
        return math.nan


def _pi(niqe_value: float, ma_value: float) -> float:
    from srdistill.metrics.perceptual import perceptual_index

    return perceptual_index(niqe_value, ma_value)


METRICS: dict[str, Metric] = {
    "psnr": Metric("psnr", _psnr, True, True),
    "ssim": Metric("ssim", _ssim, True, True),
    "niqe": Metric("niqe", _niqe, False, False),
    "ma": Metric("ma", _ma, True, False),
    "pi": Metric("pi", None, False, False, requires=("niqe", "ma"), combine=_pi),
}


def check_names(names: Sequence[str], extra: Sequence[str] = ()) -> None:
    unknown = [m for m in names if m not in METRICS and m not in extra]
    if unknown:
        raise DataError(
            f"unknown metric '{unknown[0]}'; available: {', '.join([*METRICS, *extra])}"
        )


def score(
    name: str,
    sr: torch.Tensor,
    hr: torch.Tensor | None,
    crop_border: int,
    computed: dict[str, float] | None = None,
) -> float:
    """The value of metric ``name``; values of the metrics it needs are taken from (and
    added to) ``computed``, so each is computed once per image."""
    computed = computed if computed is not None else {}
    if name in computed:
        return computed[name]
    metric = METRICS[name]
    if metric.combine is not None:
        parts = [score(r, sr, hr, crop_border, computed) for r in metric.requires]
        value = metric.combine(*parts)
    else:
        value = metric.fn(sr, hr, crop_border)  # type: ignore[misc]
    computed[name] = value
    return value


def unavailable(names: Sequence[str]) -> dict[str, str]:
    """Metrics among ``names`` that cannot be computed here, with the reason."""
    from srdistill.metrics.niqe_metric import find_params_file
    from srdistill.metrics.perceptual import ma_unavailable_reason

    reasons: dict[str, str] = {}
    ma_reason = ma_unavailable_reason()
    if ma_reason is not None:
        reasons["ma"] = ma_reason
    try:
        find_params_file()
    except CheckpointError as exc:
        reasons["niqe"] = str(exc)
    out: dict[str, str] = {}
    for name in names:
        metric = METRICS.get(name)
        if metric is None:
            continue
        for part in (name, *metric.requires):
            if part in reasons:
                out[name] = reasons[part]
                break
    return out

"""Evaluate SR models (or bicubic) on benchmark sets, per image and per set."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srdistill.data.datasets import load_benchmark
from srdistill.data.io import write_image
from srdistill.errors import DataError
from srdistill.metrics import registry
from srdistill.ops.imresize import imresize

log = logging.getLogger(__name__)
SRFunction = Callable[[torch.Tensor], torch.Tensor]


def bicubic_upscaler(scale: int) -> SRFunction:
    """The bicubic baseline as a model: MATLAB bicubic upscaling."""

    def upscale(lr: torch.Tensor) -> torch.Tensor:
        return imresize(lr, float(scale))

    return upscale


@torch.no_grad()
def super_resolve(
    fn: SRFunction, lr: torch.Tensor, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Run ``fn`` on one CHW LR image; returns a CHW CPU float tensor clamped to [0, 1].
    A network whose pass over a large image would exceed the activation budget runs in
    tiles (the same result: the overlap covers its receptive field), as ``upscale`` does."""
    if isinstance(fn, torch.nn.Module) and lr.shape[0] == 3:
        from srdistill.deploy.upscale import upscale_tensor

        scale = int(getattr(fn, "scale", 0)) or None
        if scale:
            return upscale_tensor(fn, lr, scale, device=device)
    return fn(lr[None].to(device)).float().clamp(0, 1)[0].cpu()


@dataclass
class EvalResult:
    model: str
    rows: list[dict] = field(default_factory=list)  # one per image
    missing: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per-set means of every metric column."""
        out: dict[str, dict[str, float]] = {}
        for row in self.rows:
            out.setdefault(row["set"], {})
        for name in out:
            rows = [r for r in self.rows if r["set"] == name]
            metrics = [k for k in rows[0] if k not in ("set", "image", "model")]
            out[name] = {m: _mean([r[m] for r in rows]) for m in metrics}
            out[name]["images"] = len(rows)
        return out


def _mean(values: list) -> float:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else float("nan")


MetricFn = Callable[[torch.Tensor, torch.Tensor, int], float]


def unavailable_metrics(metrics: Sequence[str]) -> dict[str, str]:
    """Metrics among ``metrics`` that cannot be computed here, with the reason."""
    return registry.unavailable(metrics)


def evaluate(
    fn: SRFunction,
    sets: Sequence[str],
    scale: int,
    *,
    model_name: str = "model",
    metrics: Sequence[str] = ("psnr", "ssim"),
    extra_metrics: dict[str, MetricFn] | None = None,
    device: torch.device | str = "cpu",
    save_dir: Path | None = None,
    max_images: int | None = None,
    skip_missing: bool = False,
    progress: bool = False,
) -> EvalResult:
    """Score ``fn`` on each set. With ``skip_missing`` an absent set is noted, not fatal."""
    extra = dict(extra_metrics or {})
    registry.check_names(metrics, list(extra))
    result = EvalResult(model_name)
    for set_name in sets:
        try:
            images = load_benchmark(set_name, scale, max_images)
        except DataError as exc:
            if not skip_missing:
                raise
            log.warning("skipping %s: %s", set_name, exc)
            result.missing.append(set_name)
            continue
        bar = None
        if progress:
            from srdistill.progress import Progress

            desc = f"{model_name} {Path(set_name).name}"
            bar = Progress(len(images), desc, unit="image", every_steps=25)
        for im in images:
            sr = super_resolve(fn, im.lr, device)
            row = {"model": model_name, "set": Path(set_name).name, "image": im.name}
            computed: dict[str, float] = {}  # PI reuses NIQE and Ma
            for m in metrics:
                row[m] = (
                    extra[m](sr, im.hr, scale)
                    if m in extra
                    else registry.score(m, sr, im.hr, scale, computed)
                )
            result.rows.append(row)
            if save_dir is not None:
                write_image(save_dir / Path(set_name).name / f"{im.name}.png", sr)
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
    return result

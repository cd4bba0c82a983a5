"""Tables: Markdown for reading, CSV and JSON for machines."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srdistill.data.io import atomic_write_bytes
from srdistill.eval.evaluate import EvalResult

FORMATS = {"psnr": "{:.3f}", "ssim": "{:.4f}", "niqe": "{:.3f}", "ma": "{:.3f}", "pi": "{:.3f}"}


def fmt(metric: str, value: float | None) -> str:
    if value is None or value != value:  # NaN: unavailable
        return "n/a"
    return FORMATS.get(metric, "{:.4f}").format(value)


def results_table(
    results: Sequence[EvalResult], metrics: Sequence[str], max_images: int | None = None
) -> str:
    """Markdown: one row per set, one column per model, cells 'psnr / ssim'. A set cut
    by ``max_images`` is labelled with the number of images scored, so a partial result
    never reads as the set's."""
    sets: list[str] = []
    for r in results:
        for s in r.summary():
            if s not in sets:
                sets.append(s)
    header = "| set | " + " | ".join(r.model for r in results) + " |"
    lines = [
        f"{' / '.join(m.upper() for m in metrics)}",
        "",
        header,
        "| --- |" + " --- |" * len(results),
    ]
    for s in sets:
        cells = []
        for r in results:
            summary = r.summary().get(s)
            cells.append(" / ".join(fmt(m, summary.get(m)) for m in metrics) if summary else "-")
        counts = {int(r.summary()[s]["images"]) for r in results if s in r.summary()}
        label = s
        if max_images is not None and counts and max(counts) >= max_images:
            label = f"{s} (first {max(counts)} images)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, so the JSON written
    from it is strict (NaN is not JSON; a metric that could not be computed is null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value


def write_results(
    results: Sequence[EvalResult],
    out_dir: Path,
    stem: str = "eval",
    notes: Sequence[str] = (),
) -> list[Path]:
    """Per-image CSV, per-set means JSON; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [row for r in results for row in r.rows]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = out_dir / f"{stem}_per_image.csv"
    atomic_write_bytes(csv_path, buf.getvalue().encode())
    summary: dict = {r.model: {"sets": r.summary(), "missing_sets": r.missing} for r in results}
    if notes:
        summary["notes"] = list(notes)
    json_path = out_dir / f"{stem}_summary.json"
    text = json.dumps(finite_or_null(summary), indent=2, allow_nan=False)
    atomic_write_bytes(json_path, (text + "\n").encode())
    return [csv_path, json_path]

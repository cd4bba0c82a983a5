"""What every table and study shares: train a run unless it is finished, and its records.

A run is identified by its config, preset and seed; its folder is ``<runs>/<name>_seed<k>``.
A complete run (status.json says so) is never trained again; an interrupted one resumes.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
from pathlib import Path

from srdistill.config import CONFIG_DIR, RunConfig, load_config
from srdistill.engine.logging import read_metrics
from srdistill.methods import train

log = logging.getLogger(__name__)
# The small files of a run that are committed as its record (never weights).
RECORD_FILES = ("config.yaml", "run.json", "status.json", "metrics.jsonl")


def is_complete(run_dir: Path) -> bool:
    status = Path(run_dir) / "status.json"
    return status.is_file() and json.loads(status.read_text()).get("state") == "complete"


def run_config(
    config: str | Path,
    preset: str,
    seed: int,
    runs_dir: Path,
    overrides: list[str] | None = None,
    name: str | None = None,
    config_dir: Path = CONFIG_DIR,
) -> RunConfig:
    """The resolved config of one seed's run of ``config`` inside ``runs_dir``."""
    name = name or Path(config).stem
    return load_config(
        config_dir / config,
        preset,
        [*(overrides or []), f"seed={seed}", f"name={name}_seed{seed}", f"output_dir={runs_dir}"],
    )


def train_unless_finished(cfg: RunConfig) -> Path:
    """Train ``cfg`` unless its run is complete; resume it if it was interrupted."""
    if is_complete(cfg.run_dir):
        log.info("complete, skipped: %s", cfg.run_dir)
        return cfg.run_dir
    log.info("training %s", cfg.run_dir)
    train(cfg, resume=cfg.run_dir.exists())
    return cfg.run_dir


def training_seconds(run_dir: Path) -> float:
    """Seconds of data loading and training steps (not validation or checkpoints): the
    median logged step time times the number of steps. The median keeps the estimate
    honest when a few intervals were slowed by another process or a pause."""
    rows = [r for r in read_metrics(run_dir) if "sec_per_step" in r]
    if not rows:
        return 0.0
    return statistics.median(r["sec_per_step"] for r in rows) * rows[-1]["step"]


def copy_records(run_dir: Path, dest: Path, extra: tuple[str, ...] = ()) -> Path:
    """Copy a run's small record files (no weights) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*RECORD_FILES, *extra):
        src = Path(run_dir) / name
        if src.is_file():
            shutil.copyfile(src, dest / name)
    return dest

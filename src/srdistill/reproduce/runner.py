"""What every table and study shares: train a run unless it is finished, and its records.

A run is identified by its config, preset and seed; its folder is ``<runs>/<name>_seed<k>``.
A complete run (status.json says so) is never trained again; an interrupted one resumes.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
from collections.abc import Sequence
from pathlib import Path

import yaml

from srdistill.config import (
    CONFIG_DIR,
    RunConfig,
    changed_keys,
    flatten,
    load_config,
    read_saved_config,
    short_repr,
)
from srdistill.engine.logging import read_metrics
from srdistill.engine.trainer import RESUME_MUTABLE
from srdistill.errors import ConfigError
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
    cfg = load_config(
        config_dir / config,
        preset,
        [*(overrides or []), f"seed={seed}", f"name={name}_seed{seed}", f"output_dir={runs_dir}"],
    )
    refuse_stand_in(cfg)
    return cfg


def refuse_stand_in(cfg: RunConfig) -> None:
    """A table or study never compares GANs trained against the random stand-in VGG: its
    content term carries no information, so the generators collapse."""
    m = cfg.mutual
    if cfg.method == "mutual_gan" and m.content_loss == "vgg" and m.vgg_weights == "random":
        raise ConfigError(
            f"{cfg.name}: reproduce tables and studies refuse the stand-in VGG "
            "(mutual.vgg_weights=random); use -o mutual.content_loss=pixel_mse (SRGAN-MSE) "
            "or give the ImageNet VGG19 file (srdistill weights vgg19)"
        )


# Keys that say where and how a run is executed, not what it computes (those a resume may
# change, but the steps): a finished run whose config differs only in these is the one asked.
EXECUTION_KEYS = frozenset(RESUME_MUTABLE - {"train.steps"})


def command_line(target: str, preset: str, seeds: int, overrides: Sequence[str]) -> str:
    """The command that rebuilds a study's page or a table. Overrides of where and how runs
    execute (threads, progress, device) are left out: they change no number, and the page
    must rebuild byte-identical however the machine that rebuilds it runs."""
    kept = [o for o in overrides if o.split("=", 1)[0].strip() not in EXECUTION_KEYS]
    return f"srdistill reproduce {target} --preset {preset} --seeds {seeds}" + "".join(
        f" -o {o}" for o in kept
    )


# Keys naming a trained network another run starts from or learns from. Their paths differ
# between machines (a run folder here, committed weights there); which weights a run used is
# recorded by fingerprint where it matters (the studies), so only set vs unset is compared.
# Where a run reads another network's weights from (``<method>.teacher``,
# ``<method>.init_from``, in any method's section, a plugin's too): the same weights may
# sit at another path (another --out, a committed copy), so only whether one is given
# counts; which weights they were is checked by their fingerprint in the record.
SOURCE_FIELDS = ("teacher", "init_from")


def is_source_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in SOURCE_FIELDS


def reuse_differences(run_dir: Path, cfg: RunConfig) -> list[str]:
    """What differs between a finished run's saved config and the requested one, as
    ``key: saved -> requested`` (empty: the run is the requested one)."""
    saved_path = Path(run_dir) / "config.yaml"
    if not saved_path.is_file():
        return [f"{saved_path} is missing"]
    try:
        saved = read_saved_config(saved_path)
    except (ConfigError, yaml.YAMLError) as exc:
        return [f"{saved_path} does not load ({str(exc).splitlines()[0]})"]
    old, new = flatten(saved.to_dict()), flatten(cfg.to_dict())
    keys = [k for k in changed_keys(saved, cfg, EXECUTION_KEYS) if not is_source_key(k)]
    sources = sorted(k for k in {*old, *new} if is_source_key(k))
    keys += [k for k in sources if (old.get(k) is None) != (new.get(k) is None)]
    return [f"{k}: {short_repr(old.get(k))} -> {short_repr(new.get(k))}" for k in sorted(keys)]


def check_reusable(run_dir: Path, cfg: RunConfig) -> None:
    """Refuse, in one line, to reuse a finished run trained with other settings."""
    diffs = reuse_differences(run_dir, cfg)
    if diffs:
        shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        raise ConfigError(
            f"{run_dir} was trained with other settings than requested ({shown}); request "
            "its settings, or give another output folder (--out) to train the new ones"
        )


def train_unless_finished(cfg: RunConfig) -> Path:
    """Train ``cfg`` unless its run is complete (with the same config: otherwise this
    stops and names the keys that differ); resume it if it was interrupted."""
    if is_complete(cfg.run_dir):
        check_reusable(cfg.run_dir, cfg)
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
    """Copy a run's small record files (no weights) into ``dest``; ``extra`` names further
    files or folders of the record."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*RECORD_FILES, *extra):
        src = Path(run_dir) / name
        if src.is_file():
            shutil.copyfile(src, dest / name)
        elif src.is_dir():  # a record's small folder (e.g. figure crops)
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
    return dest

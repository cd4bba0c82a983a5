"""The study runner every study is declared on: arms, contrasts and preconditions are data.

A study (``StudySpec``) lists its arms (a config, overrides, the networks a run is scored
by, which config keys receive the teacher's weights, how many seeds, compute matching),
its teacher (one run shared by every seed, trained once, its weights committed), and an
evaluator that turns a finished run into a record (per-image scores of each network). This
module trains what is missing, under each run folder's lock so several processes can work
on one study, evaluates the final iterate, copies the small records (never weights) to the
committed folder, checks that a record was trained with the settings asked for now, and
counts training FLOPs. It names no arm, network, set or metric: those come from the spec.

The statistics every table uses live here too: paired contrasts per seed with the exact
Student-t interval, the per-image win rate, and the spread over seeds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from srdistill.config import RunConfig
from srdistill.data.datasets import load_benchmark
from srdistill.data.io import atomic_write_bytes
from srdistill.deploy.loading import load_sr_model
from srdistill.engine.checkpoint import CheckpointManager
from srdistill.engine.lock import RunLock, RunLocked
from srdistill.engine.logging import read_metrics
from srdistill.errors import ConfigError, DataError
from srdistill.eval.evaluate import bicubic_upscaler, evaluate
from srdistill.reproduce.runner import (
    check_reusable,
    copy_records,
    is_complete,
    run_config,
    train_unless_finished,
    training_seconds,
)

log = logging.getLogger(__name__)
TEACHER_WEIGHTS = "model.safetensors"  # a teacher's final weights, committed beside its record


@dataclass(frozen=True)
class Arm:
    name: str
    config: str
    overrides: tuple[str, ...] = ()
    networks: tuple[tuple[str, int | None], ...] = (("student", None),)  # (label, exit)
    uses_teacher: tuple[str, ...] = ()  # config keys that receive the teacher's weights
    seeds: int = 3  # at most this many seeds
    # Train for the sum of these arms' steps (a compute control), cosine over all of them.
    steps_of: tuple[str, ...] = ()
    # Train for as many steps as make this arm's FLOPs equal these arms' (a compute control).
    flops_of: tuple[str, ...] = ()


# evaluator(spec, arm, run folder or weights file, sets, folder for extra record files) ->
# record with "networks": {label: {set: [{"image": ..., metric: value, ...}]}} and any
# further measures.
Evaluator = Callable[["StudySpec", Arm, Path, Sequence[str], Path], dict]


@dataclass(frozen=True)
class StudySpec:
    name: str  # "study_a": the CLI's study-a, runs/<name>, docs/results/<name>
    scale: int
    arms: tuple[Arm, ...]
    teacher: str  # the arm whose single run every arm in ``uses_teacher`` learns from
    evaluator: Evaluator
    # Where the teacher's committed weights are looked for when not in the study's own
    # records (a study may learn from another study's teacher), and its run's name there;
    # None: the study's own records.
    teacher_records: Path | None = None
    borrowed_run: str | None = None
    # Files or folders an evaluator writes beside eval.json that belong to the record
    # (small: e.g. the crops a figure is drawn from).
    record_extras: tuple[str, ...] = ()
    # A teacher that is given, not trained here (e.g. the authors' weights imported from
    # the pretrained catalog): runs folder -> its weights file. Its record holds its scores
    # and fingerprints, never its weights; its arm's config only describes it (FLOPs).
    given_teacher: Callable[[Path], Path] | None = None
    # Commit every run's final network beside its record (each file under 2 MB: light
    # students only), so later sessions can score them on other sets without retraining.
    commit_weights: bool = False

    @property
    def teacher_run(self) -> str:
        """The teacher's run folder (and record) name: its one seed's."""
        return f"{self.teacher}_seed0"

    @property
    def arm_by_name(self) -> dict[str, Arm]:
        return {a.name: a for a in self.arms}

    @property
    def teacher_arm(self) -> Arm:
        return self.arm_by_name[self.teacher]

    def arm_index(self, name: str) -> int:
        return [a.name for a in self.arms].index(name)

    def run_name(self, arm: Arm, seed: int) -> str:
        return self.teacher_run if arm.name == self.teacher else f"{arm.name}_seed{seed}"

    def jobs(self, seeds: int) -> list[tuple[Arm, int]]:
        """(arm, seed) in training order: the teacher, then the multi-seed arms seed by
        seed (a partial study is then a complete one with fewer seeds), then single seeds."""
        order = [(a, s) for a in self.arms for s in range(min(seeds, a.seeds))]
        return sorted(order, key=lambda j: (j[0].name != self.teacher, j[0].seeds == 1, j[1]))


# --- weights fingerprints and the committed teacher -------------------------------------


def weights_fingerprint(source: Path) -> str | None:
    """SHA-256 over a run's final weight files (names and bytes, sorted), or over one
    weights file (its name and bytes): which teacher an arm learnt from, since a teacher
    retrained on another machine differs. A plain run's checkpoint holds one
    ``model.safetensors``, so the run and that file copied out have the same fingerprint."""
    source = Path(source)
    if source.is_file():
        files = [source]
    else:
        latest = CheckpointManager(source).latest()
        if latest is None:
            return None
        files = sorted(latest.glob("*.safetensors"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def weights_metadata(path: Path) -> dict:
    """The provenance keys a weights file carries (an import's source name and SHA-256)."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    return {k: meta[k] for k in ("imported_from", "source_sha256") if k in meta}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def matches_record(weights: Path, record: dict) -> bool:
    """Whether a committed weights file is the one its record describes (both hashes)."""
    return record.get("weights_sha256") == weights_fingerprint(weights) and record.get(
        "model_sha256"
    ) == file_sha256(weights)


def committed_teacher(records: Path | None, teacher_run: str) -> Path | None:
    """A committed teacher weights file that matches its record (fingerprint and SHA-256),
    newest record first; None when there is none."""
    if records is None:
        return None
    for folder in sorted((Path(records) / "runs").glob(f"{teacher_run}*"), reverse=True):
        weights, record = folder / TEACHER_WEIGHTS, folder / "eval.json"
        if not (weights.is_file() and record.is_file()):
            continue
        if matches_record(weights, json.loads(record.read_text())):
            return weights
        log.warning("%s does not match its record's SHA-256: not used", weights)
    return None


def teacher_records(records: Path | None, runs_dir: Path, teacher_run: str) -> dict[str, dict]:
    """Every teacher the study has a record of (the main one and retrained replicates),
    keyed by weights fingerprint."""
    folders = [Path(runs_dir)] + ([Path(records) / "runs"] if records else [])
    found: dict[str, dict] = {}
    for base in reversed(folders):  # committed records take precedence
        for folder in sorted(base.glob(f"{teacher_run}*")):
            path = folder / "eval.json"
            if path.is_file():
                rec = json.loads(path.read_text())
                rec["devices"], rec["folder"] = run_devices(folder), str(folder)
                found.setdefault(rec.get("weights_sha256") or folder.name, rec)
    return found


def teachers_of(results: dict, arm: str) -> set[str]:
    """Fingerprints of the teachers an arm's records learnt from."""
    return {
        r["teacher_weights_sha256"]
        for (a, _), r in results.items()
        if a == arm and r.get("teacher_weights_sha256")
    }


def mixes_teachers(results: dict, a: str, b: str) -> bool:
    """Whether two arms that both use a teacher learnt from different ones."""
    ta, tb = teachers_of(results, a), teachers_of(results, b)
    return bool(ta and tb and ta != tb)


def teacher_mismatches(results: dict, teacher_arm: str) -> list[str]:
    """Runs whose recorded teacher differs from the teacher record's weights."""
    teacher = results.get((teacher_arm, 0), {}).get("weights_sha256")
    if not teacher:
        return []
    return sorted(
        r.get("run", f"{a}_seed{s}")
        for (a, s), r in results.items()
        if r.get("teacher_weights_sha256") not in (None, teacher)
    )


# --- records ----------------------------------------------------------------------------


def record_dir(records: Path, name: str) -> Path:
    return Path(records) / "runs" / name


def record_folders(records: Path | None, runs_dir: Path, name: str) -> list[Path]:
    """Where a run's records may be, in order of precedence: the committed record first."""
    return ([record_dir(records, name)] if records else []) + [Path(runs_dir) / name]


def read_curves(records: Path | None, runs_dir: Path, names: Sequence[str]) -> dict[str, list]:
    """Each run's metrics rows, from the same folder its evaluation is read from."""
    curves = {}
    for name in names:
        found = [
            f for f in record_folders(records, runs_dir, name) if (f / "metrics.jsonl").is_file()
        ]
        if found:
            curves[name] = read_metrics(found[0])
    return curves


def load_record(records: Path | None, runs_dir: Path, name: str) -> dict | None:
    for folder in record_folders(records, runs_dir, name):
        path = folder / "eval.json"
        if path.is_file():
            record = json.loads(path.read_text())
            if (folder / "metrics.jsonl").is_file():  # one definition of cost for all records
                record["train_seconds"] = training_seconds(folder)
            record["devices"], record["folder"] = run_devices(folder), str(folder)
            return record
    return None


def run_devices(folder: Path) -> list[tuple[str, int]]:
    """(device, first step) of each training session of a run, from its run.json: a run
    resumed on another machine (e.g. begun on a GPU lease) shows where each part ran."""
    path = Path(folder) / "run.json"
    if not path.is_file():
        return []
    sessions = json.loads(path.read_text()).get("sessions") or []
    out: list[tuple[str, int]] = []
    for sess in sessions:
        device = str(sess.get("environment", {}).get("device", "?"))
        if not out or out[-1][0] != device:
            out.append((device, int(sess.get("started_at_step", 0))))
    return out


def device_lines(results: dict, arm_index: Callable[[str], int]) -> list[str]:
    """Runs grouped by where they trained; costs are comparable only within one group."""
    groups: dict[str, list[str]] = {}
    for (arm, seed), rec in sorted(results.items(), key=lambda kv: (arm_index(kv[0][0]), kv[0][1])):
        devices = rec.get("devices") or []
        if not devices:
            continue
        label = ", then ".join(
            d if i == 0 else f"{d} from step {step}" for i, (d, step) in enumerate(devices)
        )
        groups.setdefault(label, []).append(rec.get("run", f"{arm}_seed{seed}"))
    if len(groups) <= 1:
        return []
    lines = ["", "## Where each run trained", ""]
    lines += [f"- {label}: {', '.join(runs)}" for label, runs in groups.items()]
    lines += [
        "",
        "Runs that changed device continue with their optimizer state, schedule and data "
        "order; only float rounding differs. Their seconds below mix devices: compare costs "
        "only between runs of one group.",
    ]
    return lines


def available_sets(sets: Sequence[str], scale: int) -> list[str]:
    """The test sets among ``sets`` that are present here (the others are left out, said)."""
    present = []
    for s in sets:
        try:
            load_benchmark(s, scale)
            present.append(s)
        except DataError:
            log.warning("test set %s not available here: left out", s)
    if not present:
        raise DataError(f"none of the test sets {', '.join(sets)} is available here")
    return present


def select_jobs(spec: StudySpec, seeds: int, arms: Sequence[str] | None) -> list[tuple[Arm, int]]:
    """The study's jobs, restricted to ``arms`` (a one-line error names the known arms)."""
    most = max(a.seeds for a in spec.arms)
    if seeds > most:  # more would be capped silently: the user would read fewer than asked
        raise ConfigError(
            f"{spec.name.replace('_', '-')} declares at most {most} seeds per arm; got --seeds "
            f"{seeds} (ask for {most} or fewer)"
        )
    todo = spec.jobs(seeds)
    if arms:
        unknown = sorted(set(arms) - {a.name for a in spec.arms})
        if unknown:
            raise ConfigError(
                f"unknown study arm {unknown[0]!r}; the arms are "
                + ", ".join(a.name for a in spec.arms)
            )
        todo = [(a, s) for a, s in todo if a.name in arms]
    return todo


# --- the runner -------------------------------------------------------------------------


class Study:
    """Trains, evaluates and records a study's runs; shared safely between processes.

    Every run is trained under its run folder's lock, so several ``reproduce`` processes
    (one per core or per GPU) can work on one study: each takes the next run that no other
    process holds, and waits only when nothing else is left.
    """

    def __init__(
        self,
        spec: StudySpec,
        preset: str,
        runs_dir: Path,
        records: Path | None,
        sets: list[str],
        overrides: list[str],
        config_dir: Path,
    ) -> None:
        self.spec = spec
        self.preset, self.runs_dir, self.records = preset, runs_dir, records
        self.sets, self.overrides, self.config_dir = sets, overrides, config_dir
        self.teacher_dir = runs_dir / spec.teacher_run
        self._step_flops: dict[str, int] = {}
        self._committed: tuple[Path | None] | None = None
        self._given: Path | None = None

    def config(
        self, arm: Arm, seed: int, teacher: Path | None = None, own_steps: bool = False
    ) -> RunConfig:
        """The arm's resolved config; ``teacher`` replaces where the teacher is read from;
        ``own_steps`` keeps the config's steps (no compute matching)."""
        by_name = self.spec.arm_by_name
        source = teacher or self.teacher_source()
        sources = [f"{key}={source}" for key in arm.uses_teacher]
        steps = []
        if arm.steps_of and not own_steps:
            total = sum(self.config(by_name[n], seed).train.steps for n in arm.steps_of)
            steps = [f"train.steps={total}"]
        if arm.flops_of and not own_steps:
            budget = sum(
                self.step_flops(by_name[n]) * self.config(by_name[n], seed).train.steps
                for n in arm.flops_of
            )
            steps = [f"train.steps={math.ceil(budget / self.step_flops(arm))}"]
        return run_config(
            arm.config,
            self.preset,
            seed,
            self.runs_dir,
            [*self.overrides, *arm.overrides, *sources, *steps],
            name=arm.name,
            config_dir=self.config_dir,
        )

    def step_flops(self, arm: Arm) -> int:
        """FLOPs of one training step of the arm (forward + backward, a frozen teacher's
        forward included), counted on the arm's config with a stand-in teacher of the
        teacher's architecture: the count depends on shapes only, not on weights."""
        if arm.name not in self._step_flops:
            self._step_flops[arm.name] = self._count_step_flops(arm)
        return self._step_flops[arm.name]

    def _count_step_flops(self, arm: Arm) -> int:
        from tempfile import TemporaryDirectory

        from srdistill.engine.checkpoint import save_module
        from srdistill.engine.flops import train_step_flops
        from srdistill.methods import METHODS
        from srdistill.models import build_generator

        with TemporaryDirectory() as tmp:
            stand_in = None
            if arm.uses_teacher:
                t = self.config(self.spec.teacher_arm, 0, teacher=Path(tmp) / "none")
                stand_in = Path(tmp) / TEACHER_WEIGHTS
                save_module(build_generator(t.scale, t.model), stand_in)
            cfg = self.config(arm, 0, teacher=stand_in, own_steps=True)
            return train_step_flops(cfg, METHODS[cfg.method])

    @property
    def weights_records(self) -> Path | None:
        """Where the teacher's committed weights are looked for."""
        return self.spec.teacher_records or self.records

    def teacher_source(self) -> Path:
        """Where arms read the teacher from: its run folder when it is trained here, else
        the committed weights file, else the run folder (to be trained). A given teacher:
        its weights file."""
        if self.spec.given_teacher is not None:
            if self._given is None:
                self._given = Path(self.spec.given_teacher(self.runs_dir))
            return self._given
        if is_complete(self.teacher_dir):
            return self.teacher_dir
        return self.committed_teacher() or self.teacher_dir

    def committed_teacher(self) -> Path | None:
        """``committed_teacher(records)``, hashed once per study: every arm's config asks
        for it, and the committed file does not change while the study runs."""
        if self._committed is None:
            run = self.spec.teacher_run
            if self.spec.teacher_records is not None:
                run = self.spec.borrowed_run or run
            self._committed = (committed_teacher(self.weights_records, run),)
        return self._committed[0]

    def evaluate(self, arm: Arm, source: Path, out_dir: Path, teacher: Path | None = None) -> dict:
        """The spec's record of one run (or weights file), with the teachers' fingerprints:
        its own for the teacher arm, the one it learnt from for an arm that uses it."""
        source = Path(source)
        record: dict = {"arm": arm.name, "run": source.name, "step": None, "train_seconds": 0.0}
        if source.is_dir():
            status = json.loads((source / "status.json").read_text())
            record.update(step=status.get("step"), train_seconds=training_seconds(source))
        record.update(self.spec.evaluator(self.spec, arm, source, self.sets, Path(out_dir)))
        if arm.name == self.spec.teacher:
            record["weights_sha256"] = weights_fingerprint(source)
        elif arm.uses_teacher and teacher is not None:
            record["teacher_weights_sha256"] = weights_fingerprint(teacher)
        return record

    def train_and_record(self, arm: Arm, seed: int) -> dict:
        """Train (or resume) one run, evaluate its final iterate, and record it."""
        run_dir = train_unless_finished(self.config(arm, seed))
        with RunLock(run_dir):  # one process evaluates it; the others move on (RunLocked)
            if (run_dir / "eval.json").is_file():  # evaluated meanwhile by another process
                record = json.loads((run_dir / "eval.json").read_text())
                return {**record, "devices": run_devices(run_dir), "folder": str(run_dir)}
            record = self.evaluate(arm, run_dir, run_dir, self.teacher_source())
            record["seed"] = seed
            weights = CheckpointManager(run_dir).latest() / TEACHER_WEIGHTS
            if self.spec.commit_weights:
                record["model_sha256"] = file_sha256(weights)
            atomic_write_bytes(run_dir / "eval.json", json.dumps(record, indent=1).encode())
        folder = run_dir
        if self.records:
            folder = record_dir(self.records, self.spec.run_name(arm, seed))
            copy_records(run_dir, folder, ("eval.json", *self.spec.record_extras))
            if self.spec.commit_weights:
                final = CheckpointManager(run_dir).latest() / TEACHER_WEIGHTS
                atomic_write_bytes(folder / TEACHER_WEIGHTS, final.read_bytes())
        return {**record, "devices": run_devices(run_dir), "folder": str(folder)}

    def ensure_teacher(self) -> None:
        """A teacher's weights must be here for an arm that learns from it: the committed
        ones, or the teacher trained here. Without either it is trained (its config is the
        study's). A teacher trained here is recorded with its weights; when a record of
        another teacher exists (trained on another machine), it is kept and the new one is
        recorded beside it as ``<teacher_run>_<fingerprint>``, so every arm's record still
        names the teacher it learnt from and the tables can show each teacher's scores."""
        if self.spec.given_teacher is not None:
            self.record_given_teacher()
            return
        if not is_complete(self.teacher_dir):
            if self.committed_teacher() is not None:
                self.record_borrowed_teacher()
                return
            log.info("no teacher weights here or committed: training it (%s)", self.teacher_dir)
            train_unless_finished(self.config(self.spec.teacher_arm, 0))
        self.record_teacher()

    def record_given_teacher(self) -> None:
        """Score a given teacher once and record it (scores, fingerprints and the config
        that describes it; not its weights)."""
        if load_record(self.records, self.runs_dir, self.spec.teacher_run) is not None:
            return
        weights = self.teacher_source()
        self.teacher_dir.mkdir(parents=True, exist_ok=True)  # where its lock lives
        with RunLock(self.teacher_dir):
            dest = record_dir(self.records, self.spec.teacher_run) if self.records else None
            dest = dest or self.teacher_dir
            record = self.evaluate(self.spec.teacher_arm, weights, dest)
            record.update(seed=0, run=self.spec.teacher_run, model_sha256=file_sha256(weights))
            record.update(weights_metadata(weights))  # where it was imported from
            dest.mkdir(parents=True, exist_ok=True)
            cfg = self.config(self.spec.teacher_arm, 0, own_steps=True)
            text = yaml.safe_dump(cfg.to_dict(), sort_keys=False)
            atomic_write_bytes(dest / "config.yaml", text.encode())
            atomic_write_bytes(dest / "eval.json", json.dumps(record, indent=1).encode())
        log.info("given teacher %s recorded in %s", weights, dest)

    def record_borrowed_teacher(self) -> None:
        """A teacher committed by another study is scored by this study's evaluator and
        recorded in this study's records (its small files and fingerprints, not its
        weights), once."""
        weights = self.committed_teacher()
        if (
            weights is None
            or self.records is None
            or weights.parent.parent.parent.resolve() == Path(self.records).resolve()
            or load_record(self.records, self.runs_dir, self.spec.teacher_run) is not None
        ):
            return
        self.teacher_dir.mkdir(parents=True, exist_ok=True)  # where its lock lives
        with RunLock(self.teacher_dir):
            dest = record_dir(self.records, self.spec.teacher_run)
            source = json.loads((weights.parent / "eval.json").read_text())
            record = self.evaluate(self.spec.teacher_arm, weights, dest)
            record.update(
                seed=0,
                step=source.get("step"),
                run=self.spec.teacher_run,
                model_sha256=source.get("model_sha256"),
                weights_from=str(weights.parent),
            )
            copy_records(weights.parent, dest)
            atomic_write_bytes(dest / "eval.json", json.dumps(record, indent=1).encode())
        log.info("teacher from %s recorded in %s", weights.parent, dest)

    def record_teacher(self) -> None:
        """Record the teacher trained here, with its weights, unless a record of it (same
        fingerprint) with its weights exists already."""
        run = self.spec.teacher_run
        fingerprint = weights_fingerprint(self.teacher_dir)
        known = teacher_records(self.records, self.runs_dir, run)
        if fingerprint in known:
            dest = Path(known[fingerprint]["folder"])
            committed = dest / TEACHER_WEIGHTS
            if dest == self.teacher_dir or (
                committed.is_file()
                and known[fingerprint].get("model_sha256") == file_sha256(committed)
            ):
                return
        else:
            name = run if not known else f"{run}_{fingerprint[:12]}"
            dest = record_dir(self.records, name) if self.records else self.runs_dir / name
        with RunLock(self.teacher_dir):
            path = dest / "eval.json"
            record = json.loads(path.read_text()) if path.is_file() else None
            if record is None:
                record = self.evaluate(self.spec.teacher_arm, self.teacher_dir, self.teacher_dir)
                record["seed"] = 0
            weights = CheckpointManager(self.teacher_dir).latest() / TEACHER_WEIGHTS
            record["model_sha256"] = file_sha256(weights)
            if dest != self.teacher_dir:
                copy_records(self.teacher_dir, dest, self.spec.record_extras)
                atomic_write_bytes(dest / TEACHER_WEIGHTS, weights.read_bytes())
            atomic_write_bytes(path, json.dumps(record, indent=1).encode())
        log.info("teacher %s recorded in %s", fingerprint[:12], dest)

    def run_all(
        self, todo: list[tuple[Arm, int]], train_missing: bool, wait_seconds: float
    ) -> dict[tuple[str, int], dict]:
        results: dict[tuple[str, int], dict] = {}
        # Every config resolves before anything trains: a refused setting stops here.
        for arm, seed in todo:
            self.config(arm, seed, teacher=self.teacher_dir, own_steps=True)
        pending = list(todo)
        teacher = self.spec.teacher
        while pending:
            held_elsewhere = []
            for arm, seed in pending:
                name = self.spec.run_name(arm, seed)
                record = load_record(self.records, self.runs_dir, name)
                if record is None and train_missing:
                    try:
                        if arm.uses_teacher or arm.name == teacher:
                            self.ensure_teacher()
                        if arm.name == teacher:
                            record = load_record(self.records, self.runs_dir, name)
                        else:
                            record = self.train_and_record(arm, seed)
                    except RunLocked as err:
                        log.info("%s: another process holds it (%s); later", name, err)
                        held_elsewhere.append((arm, seed))
                        continue
                if record is not None:
                    # A record is this arm's only if it was trained with the settings
                    # asked for now (a smoke test's records never pass for the real run).
                    check_reusable(
                        Path(record.get("folder") or self.runs_dir / name), self.config(arm, seed)
                    )
                    results[(arm.name, seed)] = record
            if held_elsewhere and wait_seconds > 0:
                time.sleep(wait_seconds)  # the others' runs are all that is left
            pending = held_elsewhere if wait_seconds > 0 else []
        return results

    def add_train_flops(self, results: dict, out: Path) -> None:
        """Give every record its training FLOPs (one step's count x the steps it trained).
        Step counts are kept in ``out/flops.json`` (recounted when an arm's networks or
        batch shape change) and written into each record's run.json when it lacks them."""
        path = Path(out) / "flops.json"
        cache = json.loads(path.read_text()) if path.is_file() else {}
        changed = False
        for (arm_name, seed), rec in sorted(results.items()):
            arm = self.spec.arm_by_name[arm_name]
            cfg = self.config(arm, seed)
            key = (
                f"{cfg.method}|{cfg.model.arch}|{cfg.model.num_blocks}x{cfg.model.num_features}"
                f"|batch {cfg.train.batch_size}|patch {cfg.data.patch_size}|x{cfg.scale}"
            )
            if cache.get(arm_name, {}).get("config") != key:
                cache[arm_name] = {"config": key, "per_step": self.step_flops(arm)}
                changed = True
            per_step = cache[arm_name]["per_step"]
            rec["train_flops"] = per_step * int(rec.get("step") or 0)
            entry = {"per_step": per_step, "steps": rec.get("step"), "total": rec["train_flops"]}
            name = rec.get("run", self.spec.run_name(arm, seed))
            for folder in record_folders(self.records, self.runs_dir, name):
                run_json = folder / "run.json"
                if run_json.is_file():
                    info = json.loads(run_json.read_text())
                    if info.get("train_flops") != entry:
                        info["train_flops"] = entry
                        atomic_write_bytes(run_json, (json.dumps(info, indent=2) + "\n").encode())
                    break
        if changed:
            Path(out).mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, json.dumps(cache, indent=1, sort_keys=True).encode())


def run_study(  # noqa: PLR0913
    spec: StudySpec,
    preset: str,
    seeds: int,
    runs_dir: Path,
    records: Path | None,
    sets: Sequence[str] | None,
    overrides: Sequence[str],
    train_missing: bool,
    config_dir: Path,
    wait_seconds: float,
    arms: Sequence[str] | None,
) -> tuple[Study, dict, Path]:
    """What every study does before its page: trains what is missing of ``seeds`` seeds
    (``arms`` only, when given) under ``runs_dir/preset``, reads every record, counts
    FLOPs. Returns the runner, ``{(arm, seed): record}`` and the folder the page goes to
    (``records``, or the runs folder when there are none)."""
    from srdistill.data.catalog import TEST_SETS

    runs_dir = Path(runs_dir) / preset
    present = available_sets(list(sets or TEST_SETS), spec.scale)
    out = Path(records) if records else runs_dir
    study = Study(spec, preset, runs_dir, records, present, list(overrides), config_dir)
    results = study.run_all(select_jobs(spec, seeds, arms), train_missing, wait_seconds)
    study.add_train_flops(results, out)
    return study, results, out


def score_networks(
    spec: StudySpec, arm: Arm, run_dir: Path, sets: Sequence[str], out_dir: Path | None = None
) -> dict:
    """The plain evaluator: per-image PSNR/SSIM of each of the arm's networks (exits of a
    multi-exit run included) on every set."""
    loaded = load_sr_model(run_dir, scale=spec.scale)
    networks: dict[str, dict[str, list[dict]]] = {}
    for label, exit_block in arm.networks:
        net = loaded.at_exit(exit_block).network
        result = evaluate(net, sets, spec.scale, model_name=label)
        per_set: dict[str, list[dict]] = {}
        for row in result.rows:
            per_set.setdefault(row["set"], []).append(
                {"image": row["image"], "psnr": row["psnr"], "ssim": row["ssim"]}
            )
        networks[label] = per_set
    return {"networks": networks}


def bicubic_scores(
    out: Path, sets: list[str], scale: int, metrics: Sequence[str] = ("psnr", "ssim")
) -> dict:
    """Bicubic's mean scores per set: deterministic, so computed once and kept in
    ``out/bicubic.json`` (recomputed when a set or metric is missing from it)."""
    path = Path(out) / "bicubic.json"
    names = [Path(s).name for s in sets]  # a set given by its folder is named by it
    if path.is_file():
        cached = json.loads(path.read_text())
        if all(n in cached and all(m in cached[n] for m in metrics) for n in names):
            return {n: cached[n] for n in names}
    result = evaluate(bicubic_upscaler(scale), sets, scale, model_name="bicubic", metrics=metrics)
    summary = result.summary()
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(summary, indent=1).encode())
    return summary


# --- statistics -------------------------------------------------------------------------


def set_means(results: dict, arm: str, network: str, set_name: str, metric: str = "psnr") -> dict:
    """seed -> mean of ``metric`` over the set's images."""
    out = {}
    for (a, seed), rec in results.items():
        rows = rec["networks"].get(network, {}).get(set_name) if a == arm else None
        if rows:
            out[seed] = statistics.fmean(r[metric] for r in rows)
    return out


@dataclass
class Contrast:
    mean: float
    low: float
    high: float
    seeds: int
    win_rate: float  # share of (image, seed) pairs where A beats B; ties count half
    images: int


def image_diffs(
    results: dict,
    a: str,
    net_a: str,
    b: str,
    net_b: str,
    set_name: str,
    seed: int,
    metric: str = "psnr",
) -> list[float]:
    """Per-image ``metric`` A - B on one seed, over the images both runs scored."""
    rows_a = results.get((a, seed), {}).get("networks", {}).get(net_a, {}).get(set_name) or []
    rows_b = results.get((b, seed), {}).get("networks", {}).get(net_b, {}).get(set_name) or []
    score_b = {r["image"]: r[metric] for r in rows_b}
    return [r[metric] - score_b[r["image"]] for r in rows_a if r["image"] in score_b]


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t quantile for ``df`` degrees of freedom (exact, for every df)."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def t95_half_width(values: Sequence[float]) -> float:
    """Half-width of the two-sided 95% t-interval of the mean (nan under 2 values)."""
    if len(values) < 2:
        return math.nan
    return t_quantile(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def wins(diffs: Sequence[float], higher_is_better: bool = True) -> float:
    """How many differences favour A; ties count half."""
    sign = 1.0 if higher_is_better else -1.0
    return sum(1.0 if sign * d > 0 else 0.5 if d == 0 else 0.0 for d in diffs)


def paired_contrast(  # noqa: PLR0913
    results: dict,
    a: str,
    net_a: str,
    b: str,
    net_b: str,
    set_name: str,
    metric: str = "psnr",
    higher_is_better: bool = True,
) -> Contrast | None:
    """A - B per seed on one set: mean, 95% t-interval over seeds, per-image win rate."""
    per_seed = [
        d
        for (arm, s) in sorted(results)
        if arm == a and (d := image_diffs(results, a, net_a, b, net_b, set_name, s, metric))
    ]
    if not per_seed:
        return None
    diffs = [statistics.fmean(d) for d in per_seed]
    pairs = sum(len(d) for d in per_seed)
    mean, half = statistics.fmean(diffs), t95_half_width(diffs)
    won = sum(wins(d, higher_is_better) for d in per_seed)
    return Contrast(mean, mean - half, mean + half, len(diffs), won / pairs, pairs // len(diffs))


def image_contrast(
    results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str, seed: int = 0
) -> Contrast | None:
    """A - B on one seed: mean over images, 95% t-interval over the set's images and win
    rate. The interval covers image-to-image variation only, not seed-to-seed variation."""
    diffs = image_diffs(results, a, net_a, b, net_b, set_name, seed)
    if not diffs:
        return None
    mean, half = statistics.fmean(diffs), t95_half_width(diffs)
    return Contrast(mean, mean - half, mean + half, 1, wins(diffs) / len(diffs), len(diffs))


def seed_spread(results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str) -> float:
    """Standard deviation over seeds of the per-seed difference A - B (nan under 2 seeds)."""
    means_a = set_means(results, a, net_a, set_name)
    means_b = set_means(results, b, net_b, set_name)
    diffs = [means_a[s] - means_b[s] for s in sorted(means_a) if s in means_b]
    return statistics.stdev(diffs) if len(diffs) > 1 else math.nan


def sets_in(results: dict, order: Sequence[str]) -> list[str]:
    """The sets the records scored, in ``order`` (others after, as found)."""
    names: list[str] = []
    for rec in results.values():
        for per_set in rec["networks"].values():
            names += [s for s in per_set if s not in names]
    known = [Path(s).name for s in order]
    return sorted(names, key=lambda s: known.index(s) if s in known else len(known))


def mean_std(values: Sequence[float], digits: int = 3) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (1 seed)"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"

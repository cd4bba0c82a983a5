"""Study A: does distillation give a better light SR model, and which kind?

Arms (all students are SRResNet-4 and train for the same steps with the same recipe):

    alone              SRResNet-4 trained alone (the baseline every arm is paired with)
    teacher            SRResNet-16 trained alone for 4x the steps (one, shared by all seeds)
    self_distill       paper A from scratch: MultiExitSRResNet-16, exit 4, alpha 0.9, L1
    self_distill_warm  the same, initialised from the teacher (exit heads copy the teacher's)
    deep_supervision   warm, alpha 1.0: the exit sees the ground truth only (the control)
    alpha05            warm, alpha 0.5
    detached           warm, center output detached (teacher-only target)
    mse_distill        warm, MSE for the distillation term
    output_kd          SRResNet-4 student, output KD from the frozen teacher, 1:1
    feature_kd         SRResNet-4 student, FAKD (spatial affinity) from the same teacher
    alone_long         SRResNet-4 alone for the teacher's steps + the warm arm's (compute)
    alone_flops        SRResNet-4 alone for as many steps as teacher + warm arm's FLOPs
    teacher_init       SRResNet-4 started as the teacher's head, first 4 blocks and
                       reconstruction, then L1 alone (does a start from the teacher suffice?)
    teacher_init_kd    the same start, trained with output KD from the frozen teacher

Every run's cost is also counted in FLOPs (one real step x steps; the teacher's training
is its own row), and a retrained teacher is recorded beside the first one with its weights
committed, so each arm's record names the teacher it learnt from.

Every finished run leaves ``eval.json`` (per-image PSNR/SSIM of each network on each set)
and its small records; with ``records`` set they are copied there (committed), and a later
call rebuilds the tables from them and trains only what is missing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from srdistill.config import RunConfig
from srdistill.data.catalog import TEST_SETS
from srdistill.data.datasets import load_benchmark
from srdistill.data.io import atomic_write_bytes
from srdistill.deploy.loading import load_sr_model
from srdistill.engine.checkpoint import CheckpointManager
from srdistill.engine.lock import RunLock, RunLocked
from srdistill.engine.logging import read_metrics
from srdistill.errors import ConfigError, DataError
from srdistill.eval.evaluate import bicubic_upscaler, evaluate
from srdistill.eval.figures import line_plot
from srdistill.reproduce.runner import (
    CONFIG_DIR,
    check_reusable,
    copy_records,
    is_complete,
    run_config,
    train_unless_finished,
    training_seconds,
)

log = logging.getLogger(__name__)
SCALE = 4
TEACHER_RUN = "teacher_seed0"  # one teacher for every seed (the CPU budget allows one)
# A teacher's final weights, committed beside its record (about 1.6 MB at the study preset),
# so a later session uses that teacher instead of training another.
TEACHER_WEIGHTS = "model.safetensors"
MIN_TEACHER_GAIN_DB = 0.2  # the precondition, on BSD100


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


_EXITS = (("exit4", 4), ("center16", 16))
_WARM = ("self_distill.init_from",)
_KD = ("kd.teacher",)
ARMS: tuple[Arm, ...] = (
    Arm("teacher", "study_a/teacher.yaml", networks=(("teacher", None),), seeds=1),
    Arm("alone", "study_a/student.yaml"),
    Arm("self_distill_warm", "study_a/multi_exit.yaml", networks=_EXITS, uses_teacher=_WARM),
    Arm(
        "deep_supervision",
        "study_a/multi_exit.yaml",
        ("self_distill.alpha=1.0",),
        _EXITS,
        _WARM,
    ),
    Arm("output_kd", "study_a/kd.yaml", uses_teacher=_KD),
    Arm("self_distill", "study_a/multi_exit.yaml", networks=_EXITS),
    # Two seeds: the one ablation that changes the exit beyond the seed spread is replicated.
    Arm("alpha05", "study_a/multi_exit.yaml", ("self_distill.alpha=0.5",), _EXITS, _WARM, 2),
    Arm(
        "detached",
        "study_a/multi_exit.yaml",
        ("self_distill.detach_center=true",),
        _EXITS,
        _WARM,
        2,
    ),
    Arm(
        "mse_distill",
        "study_a/multi_exit.yaml",
        ("self_distill.distill_loss=mse",),
        _EXITS,
        _WARM,
        1,
    ),
    # Compute control: the student alone for the teacher's 16,000 steps plus the warm
    # arm's 4,000 (what the warm exit's trunk saw), cosine over the whole run.
    Arm("alone_long", "study_a/student.yaml", steps_of=("teacher", "self_distill_warm")),
    # The same, matched on FLOPs instead of steps (a multi-exit step costs 2.4 student steps).
    Arm(
        "alone_flops",
        "study_a/student.yaml",
        flops_of=("teacher", "self_distill_warm"),
        seeds=1,
    ),
    # Init-only control: SRResNet-4 started as the teacher's head, first four blocks and
    # reconstruction, then trained with L1 alone; and the same start trained with output KD.
    Arm("teacher_init", "study_a/student.yaml", uses_teacher=("plain.init_from",)),
    Arm("teacher_init_kd", "study_a/kd.yaml", uses_teacher=("kd.teacher", "kd.init_from")),
    Arm(
        "feature_kd",
        "study_a/kd.yaml",
        ("kd.output_weight=0", "kd.feature=fakd", "kd.feature_weight=1.0"),
        uses_teacher=_KD,
        seeds=1,
    ),
)
TEACHER_ARM = ARMS[0]
ARM_BY_NAME = {a.name: a for a in ARMS}
# (A, network of A, B, network of B): paired per seed, A - B.
CONTRASTS: tuple[tuple[str, str, str, str], ...] = (
    ("self_distill", "exit4", "alone", "student"),
    ("self_distill_warm", "exit4", "alone", "student"),
    ("self_distill_warm", "exit4", "deep_supervision", "exit4"),
    ("output_kd", "student", "alone", "student"),
    ("self_distill_warm", "exit4", "output_kd", "student"),
    ("deep_supervision", "exit4", "alone", "student"),
    # Round 2: more training (the compute control) and the teacher's blocks as a start alone.
    ("deep_supervision", "exit4", "alone_long", "student"),
    ("self_distill_warm", "exit4", "alone_long", "student"),
    ("teacher_init", "student", "alone", "student"),
    ("deep_supervision", "exit4", "teacher_init", "student"),
    ("teacher_init_kd", "student", "teacher_init", "student"),
    ("output_kd", "student", "alone_long", "student"),
)
# Ablations (1-2 seeds), paired with the same seeds of the arm they vary (A - B). The
# centers show what the distillation term does to the 16-block network the exit shares a
# trunk with.
ABLATIONS: tuple[tuple[str, str, str, str], ...] = (
    *(
        (variant, net, "self_distill_warm", net)
        for variant in ("alpha05", "detached", "mse_distill")
        for net in ("exit4", "center16")
    ),
    ("alpha05", "exit4", "deep_supervision", "exit4"),
    ("feature_kd", "student", "output_kd", "student"),
    ("feature_kd", "student", "alone", "student"),
)


def jobs(seeds: int) -> list[tuple[Arm, int]]:
    """(arm, seed) in training order: the teacher, then the multi-seed arms seed by seed
    (a partial study is then a complete one with fewer seeds), then single-seed arms."""
    order = [(a, s) for a in ARMS for s in range(min(seeds, a.seeds))]
    return sorted(order, key=lambda j: (j[0].name != "teacher", j[0].seeds == 1, j[1]))


def run_name(arm: Arm, seed: int) -> str:
    return TEACHER_RUN if arm.name == "teacher" else f"{arm.name}_seed{seed}"


def evaluate_run(arm: Arm, run_dir: Path, sets: Sequence[str], teacher: Path | None = None) -> dict:
    """Per-image PSNR/SSIM of each of the arm's networks on every set, plus its cost.
    ``teacher`` (run folder or weights file) is fingerprinted for arms that use one."""
    loaded = load_sr_model(run_dir, scale=SCALE)
    networks: dict[str, dict[str, list[dict]]] = {}
    for label, exit_block in arm.networks:
        net = loaded.at_exit(exit_block).network
        result = evaluate(net, sets, SCALE, model_name=label)
        per_set: dict[str, list[dict]] = {}
        for row in result.rows:
            per_set.setdefault(row["set"], []).append(
                {"image": row["image"], "psnr": row["psnr"], "ssim": row["ssim"]}
            )
        networks[label] = per_set
    status = json.loads((run_dir / "status.json").read_text())
    record = {
        "arm": arm.name,
        "run": run_dir.name,
        "step": status.get("step"),
        "train_seconds": training_seconds(run_dir),
        "networks": networks,
    }
    if arm.name == TEACHER_ARM.name:
        record["weights_sha256"] = weights_fingerprint(run_dir)
    elif arm.uses_teacher and teacher is not None:
        record["teacher_weights_sha256"] = weights_fingerprint(teacher)
    return record


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


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def committed_teacher(records: Path | None) -> Path | None:
    """A committed teacher weights file that matches its record (fingerprint and SHA-256),
    newest record first; None when there is none."""
    if records is None:
        return None
    for folder in sorted((Path(records) / "runs").glob(f"{TEACHER_RUN}*"), reverse=True):
        weights, record = folder / TEACHER_WEIGHTS, folder / "eval.json"
        if not (weights.is_file() and record.is_file()):
            continue
        meta = json.loads(record.read_text())
        if meta.get("weights_sha256") == weights_fingerprint(weights) and meta.get(
            "model_sha256"
        ) == file_sha256(weights):
            return weights
        log.warning("%s does not match its record's SHA-256: not used", weights)
    return None


def teacher_records(records: Path | None, runs_dir: Path) -> dict[str, dict]:
    """Every teacher the study has a record of (the main one and retrained replicates),
    keyed by weights fingerprint."""
    folders = [Path(runs_dir)] + ([Path(records) / "runs"] if records else [])
    found: dict[str, dict] = {}
    for base in reversed(folders):  # committed records take precedence
        for folder in sorted(base.glob(f"{TEACHER_RUN}*")):
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


def teacher_mismatches(results: dict) -> list[str]:
    """Runs whose recorded teacher differs from the teacher record's weights."""
    teacher = results.get((TEACHER_ARM.name, 0), {}).get("weights_sha256")
    if not teacher:
        return []
    return sorted(
        r.get("run", f"{a}_seed{s}")
        for (a, s), r in results.items()
        if r.get("teacher_weights_sha256") not in (None, teacher)
    )


def _record_dir(records: Path, name: str) -> Path:
    return records / "runs" / name


def _folders(records: Path | None, runs_dir: Path, name: str) -> list[Path]:
    """Where a run's records may be, in order of precedence: the committed record first."""
    return ([_record_dir(records, name)] if records else []) + [runs_dir / name]


def read_curves(records: Path | None, runs_dir: Path, names: Sequence[str]) -> dict[str, list]:
    """Each run's metrics rows, from the same folder its evaluation is read from."""
    curves = {}
    for name in names:
        found = [f for f in _folders(records, runs_dir, name) if (f / "metrics.jsonl").is_file()]
        if found:
            curves[name] = read_metrics(found[0])
    return curves


def load_record(records: Path | None, runs_dir: Path, name: str) -> dict | None:
    for folder in _folders(records, runs_dir, name):
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


def _device_lines(results: dict) -> list[str]:
    """Runs grouped by where they trained; costs are comparable only within one group."""
    groups: dict[str, list[str]] = {}
    for (arm, seed), rec in sorted(
        results.items(), key=lambda kv: (_arm_index(kv[0][0]), kv[0][1])
    ):
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


class _Study:
    """Trains, evaluates and records the study's runs; shared safely between processes.

    Every run is trained under its run folder's lock, so several ``reproduce study-a``
    processes (one per core or per GPU) can work on one study: each takes the next run
    that no other process holds, and waits only when nothing else is left.
    """

    def __init__(
        self,
        preset: str,
        runs_dir: Path,
        records: Path | None,
        sets: list[str],
        overrides: list[str],
        config_dir: Path,
    ) -> None:
        self.preset, self.runs_dir, self.records = preset, runs_dir, records
        self.sets, self.overrides, self.config_dir = sets, overrides, config_dir
        self.teacher_dir = runs_dir / TEACHER_RUN
        self._step_flops: dict[str, int] = {}
        self._committed: tuple[Path | None] | None = None

    def config(
        self, arm: Arm, seed: int, teacher: Path | None = None, own_steps: bool = False
    ) -> RunConfig:
        """The arm's resolved config; ``teacher`` replaces where the teacher is read from;
        ``own_steps`` keeps the config's steps (no compute matching)."""
        source = teacher or self.teacher_source()
        sources = [f"{key}={source}" for key in arm.uses_teacher]
        steps = []
        if arm.steps_of and not own_steps:
            total = sum(self.config(ARM_BY_NAME[n], seed).train.steps for n in arm.steps_of)
            steps = [f"train.steps={total}"]
        if arm.flops_of and not own_steps:
            budget = sum(
                self.step_flops(ARM_BY_NAME[n]) * self.config(ARM_BY_NAME[n], seed).train.steps
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
        from srdistill.models import SRResNet

        with TemporaryDirectory() as tmp:
            stand_in = None
            if arm.uses_teacher:
                t = self.config(TEACHER_ARM, 0, teacher=Path(tmp) / "none")
                stand_in = Path(tmp) / TEACHER_WEIGHTS
                model = t.model
                save_module(
                    SRResNet(t.scale, model.num_blocks, model.num_features, model.bicubic_skip),
                    stand_in,
                )
            cfg = self.config(arm, 0, teacher=stand_in, own_steps=True)
            return train_step_flops(cfg, METHODS[cfg.method])

    def teacher_source(self) -> Path:
        """Where arms read the teacher from: its run folder when it is trained here, else
        the committed weights file, else the run folder (to be trained)."""
        if is_complete(self.teacher_dir):
            return self.teacher_dir
        return self.committed_teacher() or self.teacher_dir

    def committed_teacher(self) -> Path | None:
        """``committed_teacher(records)``, hashed once per study: every arm's config asks
        for it, and the committed file does not change while the study runs."""
        if self._committed is None:
            self._committed = (committed_teacher(self.records),)
        return self._committed[0]

    def train_and_record(self, arm: Arm, seed: int) -> dict:
        """Train (or resume) one run, evaluate its final iterate, and record it."""
        run_dir = train_unless_finished(self.config(arm, seed))
        with RunLock(run_dir):  # one process evaluates it; the others move on (RunLocked)
            if (run_dir / "eval.json").is_file():  # evaluated meanwhile by another process
                record = json.loads((run_dir / "eval.json").read_text())
                return {**record, "devices": run_devices(run_dir)}
            record = evaluate_run(arm, run_dir, self.sets, self.teacher_source())
            record["seed"] = seed
            atomic_write_bytes(run_dir / "eval.json", json.dumps(record, indent=1).encode())
        if self.records:
            copy_records(run_dir, _record_dir(self.records, run_name(arm, seed)), ("eval.json",))
        return {**record, "devices": run_devices(run_dir)}

    def ensure_teacher(self) -> None:
        """A teacher's weights must be here for a warm or KD arm: the committed ones, or
        the teacher trained here. Without either it is trained (its config is the study's).
        A teacher trained here is recorded with its weights; when a record of another
        teacher exists (trained on another machine), it is kept and the new one is recorded
        beside it as ``teacher_seed0_<fingerprint>``, so every arm's record still names the
        teacher it learnt from and the tables can show each teacher's scores."""
        if not is_complete(self.teacher_dir):
            if self.committed_teacher() is not None:
                return
            log.info("no teacher weights here or committed: training it (%s)", self.teacher_dir)
            train_unless_finished(self.config(TEACHER_ARM, 0))
        self.record_teacher()

    def record_teacher(self) -> None:
        """Record the teacher trained here, with its weights, unless a record of it (same
        fingerprint) with its weights exists already."""
        fingerprint = weights_fingerprint(self.teacher_dir)
        known = teacher_records(self.records, self.runs_dir)
        if fingerprint in known:
            dest = Path(known[fingerprint]["folder"])
            committed = dest / TEACHER_WEIGHTS
            if dest == self.teacher_dir or (
                committed.is_file()
                and known[fingerprint].get("model_sha256") == file_sha256(committed)
            ):
                return
        else:
            name = TEACHER_RUN if not known else f"{TEACHER_RUN}_{fingerprint[:12]}"
            dest = _record_dir(self.records, name) if self.records else self.runs_dir / name
        with RunLock(self.teacher_dir):
            path = dest / "eval.json"
            record = json.loads(path.read_text()) if path.is_file() else None
            if record is None:
                record = evaluate_run(TEACHER_ARM, self.teacher_dir, self.sets)
                record["seed"] = 0
            weights = CheckpointManager(self.teacher_dir).latest() / TEACHER_WEIGHTS
            record["model_sha256"] = file_sha256(weights)
            if dest != self.teacher_dir:
                copy_records(self.teacher_dir, dest)
                atomic_write_bytes(dest / TEACHER_WEIGHTS, weights.read_bytes())
            atomic_write_bytes(path, json.dumps(record, indent=1).encode())
        log.info("teacher %s recorded in %s", fingerprint[:12], dest)

    def run_all(
        self, todo: list[tuple[Arm, int]], train_missing: bool, wait_seconds: float
    ) -> dict[tuple[str, int], dict]:
        results: dict[tuple[str, int], dict] = {}
        pending = list(todo)
        while pending:
            held_elsewhere = []
            for arm, seed in pending:
                name = run_name(arm, seed)
                record = load_record(self.records, self.runs_dir, name)
                if record is None and train_missing:
                    try:
                        if arm.uses_teacher or arm is TEACHER_ARM:
                            self.ensure_teacher()
                        if arm is TEACHER_ARM:
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


def study_a(
    preset: str = "study",
    seeds: int = 3,
    runs_dir: Path = Path("runs/study_a"),
    records: Path | None = Path("docs/results/study_a"),
    sets: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    train_missing: bool = True,
    config_dir: Path = CONFIG_DIR,
    wait_seconds: float = 30.0,
    arms: Sequence[str] | None = None,
) -> Path:
    """Train what is missing, evaluate it, and write results.csv / results.md / the plot.

    Several processes may run this on the same ``runs_dir`` at once (each with its own
    threads or GPU): runs are claimed through their locks. A process waits
    ``wait_seconds`` between looks at runs another process holds (0: skip them). ``arms``
    restricts the work to those arms (the tables then show only what has records)."""
    runs_dir = Path(runs_dir) / preset
    sets = list(sets or TEST_SETS)
    present = []
    for s in sets:
        try:
            load_benchmark(s, SCALE)
            present.append(s)
        except DataError:
            log.warning("test set %s not available here: left out", s)
    if not present:
        raise DataError(f"none of the test sets {', '.join(sets)} is available here")
    out = Path(records) if records else runs_dir
    study = _Study(preset, runs_dir, records, present, list(overrides), config_dir)
    todo = jobs(seeds)
    if arms:
        unknown = sorted(set(arms) - {a.name for a in ARMS})
        if unknown:
            raise ConfigError(
                f"unknown study arm {unknown[0]!r}; the arms are " + ", ".join(a.name for a in ARMS)
            )
        todo = [(a, s) for a, s in todo if a.name in arms]
    results = study.run_all(todo, train_missing, wait_seconds)
    add_train_flops(study, results, out)
    bicubic = bicubic_scores(out, present)
    curves = read_curves(records, runs_dir, sorted({run_name(a, s) for a, s in jobs(seeds)}))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "results.csv", results_csv(results).encode())
    plot = out / "validation_psnr.png"
    _plot_curves(curves, plot)
    cost_plot = out / "cost_quality.png"
    drawn = _plot_cost_quality(results, cost_plot)
    teachers = teacher_records(records, runs_dir)
    md = results_markdown(
        results,
        bicubic,
        preset,
        seeds,
        plot.name,
        overrides,
        teachers,
        cost_plot.name if drawn else None,
    )
    atomic_write_bytes(out / "results.md", md.encode())
    return out / "results.md"


def add_train_flops(study: _Study, results: dict, out: Path) -> None:
    """Give every record its training FLOPs (one step's count x the steps it trained).
    Step counts are kept in ``out/flops.json`` (recounted when an arm's networks or batch
    shape change) and written into each record's run.json when it lacks them."""
    path = Path(out) / "flops.json"
    cache = json.loads(path.read_text()) if path.is_file() else {}
    changed = False
    for (arm_name, seed), rec in sorted(results.items()):
        arm = ARM_BY_NAME[arm_name]
        cfg = study.config(arm, seed)
        key = (
            f"{cfg.method}|{cfg.model.arch}|{cfg.model.num_blocks}x{cfg.model.num_features}"
            f"|batch {cfg.train.batch_size}|patch {cfg.data.patch_size}|x{cfg.scale}"
        )
        if cache.get(arm_name, {}).get("config") != key:
            cache[arm_name] = {"config": key, "per_step": study.step_flops(arm)}
            changed = True
        per_step = cache[arm_name]["per_step"]
        rec["train_flops"] = per_step * int(rec.get("step") or 0)
        entry = {"per_step": per_step, "steps": rec.get("step"), "total": rec["train_flops"]}
        for folder in _folders(study.records, study.runs_dir, rec.get("run", run_name(arm, seed))):
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


def bicubic_scores(out: Path, sets: list[str]) -> dict:
    """Bicubic's mean PSNR/SSIM per set: deterministic, so computed once and kept in
    ``out/bicubic.json`` (recomputed when a set is missing from it)."""
    path = Path(out) / "bicubic.json"
    names = [Path(s).name for s in sets]  # a set given by its folder is named by it
    if path.is_file():
        cached = json.loads(path.read_text())
        if all(n in cached for n in names):
            return {n: cached[n] for n in names}
    summary = evaluate(bicubic_upscaler(SCALE), sets, SCALE, model_name="bicubic").summary()
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(summary, indent=1).encode())
    return summary


def results_csv(results: dict[tuple[str, int], dict]) -> str:
    """Long form: one row per (arm, seed, network, set)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["arm", "seed", "network", "set", "psnr", "ssim", "train_seconds", "train_flops"])
    for (arm, seed), rec in sorted(
        results.items(), key=lambda kv: (_arm_index(kv[0][0]), kv[0][1])
    ):
        for network, per_set in rec["networks"].items():
            for set_name, rows in per_set.items():
                w.writerow(
                    [
                        arm,
                        seed,
                        network,
                        set_name,
                        f"{statistics.fmean(r['psnr'] for r in rows):.4f}",
                        f"{statistics.fmean(r['ssim'] for r in rows):.5f}",
                        f"{rec['train_seconds']:.2f}",
                        rec.get("train_flops", ""),
                    ]
                )
    return buf.getvalue()


def _arm_index(name: str) -> int:
    return [a.name for a in ARMS].index(name)


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


def _image_diffs(
    results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str, seed: int
) -> list[float]:
    """Per-image PSNR A - B on one seed, over the images both runs scored (empty if none)."""
    rows_a = results.get((a, seed), {}).get("networks", {}).get(net_a, {}).get(set_name) or []
    rows_b = results.get((b, seed), {}).get("networks", {}).get(net_b, {}).get(set_name) or []
    psnr_b = {r["image"]: r["psnr"] for r in rows_b}
    return [r["psnr"] - psnr_b[r["image"]] for r in rows_a if r["image"] in psnr_b]


def _t95_half_width(values: Sequence[float]) -> float:
    """Half-width of the two-sided 95% t-interval of the mean (nan under 2 values)."""
    if len(values) < 2:
        return math.nan
    return t_quantile(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t quantile for ``df`` degrees of freedom (exact, for every df)."""
    from scipy.stats import t

    return float(t.ppf(0.5 + confidence / 2, df))


def _wins(diffs: Sequence[float]) -> float:
    """How many differences favour A; ties count half."""
    return sum(1.0 if d > 0 else 0.5 if d == 0 else 0.0 for d in diffs)


def paired_contrast(results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str):  # noqa: ANN201
    """A - B per seed on one set: mean, 95% t-interval over seeds, per-image win rate."""
    per_seed = [
        d
        for (arm, s) in sorted(results)
        if arm == a and (d := _image_diffs(results, a, net_a, b, net_b, set_name, s))
    ]
    if not per_seed:
        return None
    diffs = [statistics.fmean(d) for d in per_seed]
    pairs = sum(len(d) for d in per_seed)
    mean, half = statistics.fmean(diffs), _t95_half_width(diffs)
    wins = sum(_wins(d) for d in per_seed)
    return Contrast(mean, mean - half, mean + half, len(diffs), wins / pairs, pairs // len(diffs))


def image_contrast(
    results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str, seed: int = 0
) -> Contrast | None:
    """A - B on one seed: mean over images, 95% t-interval over the set's images and win
    rate. The interval covers image-to-image variation only, not seed-to-seed variation."""
    diffs = _image_diffs(results, a, net_a, b, net_b, set_name, seed)
    if not diffs:
        return None
    mean, half = statistics.fmean(diffs), _t95_half_width(diffs)
    return Contrast(mean, mean - half, mean + half, 1, _wins(diffs) / len(diffs), len(diffs))


def seed_spread(results: dict, a: str, net_a: str, b: str, net_b: str, set_name: str) -> float:
    """Standard deviation over seeds of the per-seed difference A - B (nan under 2 seeds)."""
    means_a = set_means(results, a, net_a, set_name)
    means_b = set_means(results, b, net_b, set_name)
    diffs = [means_a[s] - means_b[s] for s in sorted(means_a) if s in means_b]
    return statistics.stdev(diffs) if len(diffs) > 1 else math.nan


def _ablation_lines(results: dict, sets: list[str]) -> list[str]:
    rows = []
    for a, na, b, nb in ABLATIONS:
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is not None and c.seeds < 2:
                c = image_contrast(results, a, na, b, nb, s, seed=0)
            if c is None:
                continue
            over = "seeds" if c.seeds > 1 else "images (1 seed)"
            rows.append(
                f"| {a}/{na} − {b}/{nb} | {s} | {c.seeds} | {c.mean:+.3f} | "
                f"[{c.low:+.3f}, {c.high:+.3f}] over {over} | "
                f"{100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
            )
    if not rows:
        return []
    lines = [
        "",
        "## Ablations (A − B, PSNR dB, paired by seed)",
        "",
        "Each ablation is paired with the same seeds of the arm it varies. With two or more "
        "seeds the interval is the 95% t-interval over seeds, as above; with one seed it is a "
        "95% t-interval over the set's images, which says whether the difference is "
        "consistent across images, not whether it would survive another seed.",
    ]
    scale = [
        f"{a}/{na} − {b}/{nb} {sd:.4f} dB"
        for a, na, b, nb in CONTRASTS
        if (a, b) in {("self_distill_warm", "deep_supervision"), ("output_kd", "alone")}
        and not math.isnan(sd := seed_spread(results, a, na, b, nb, "BSD100"))
    ]
    if scale:
        lines += [
            "",
            "For scale, the standard deviation over seeds of a paired 3-seed contrast on "
            "BSD100: " + "; ".join(scale) + ".",
        ]
    return [
        *lines,
        "",
        "| contrast | set | seeds | mean | 95% interval | win rate |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
    ]


def _sets_in(results: dict) -> list[str]:
    names: list[str] = []
    for rec in results.values():
        for per_set in rec["networks"].values():
            names += [s for s in per_set if s not in names]
    order = [Path(s).name for s in TEST_SETS]
    return sorted(names, key=lambda s: order.index(s) if s in order else len(order))


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f} (1 seed)"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def precondition(results: dict) -> tuple[float, bool] | None:
    """Teacher minus alone on BSD100 (mean over the alone seeds), and whether it holds."""
    teacher = set_means(results, "teacher", "teacher", "BSD100")
    alone = set_means(results, "alone", "student", "BSD100")
    if not teacher or not alone:
        return None
    gain = statistics.fmean(teacher.values()) - statistics.fmean(alone.values())
    return gain, gain >= MIN_TEACHER_GAIN_DB


def conclusion(results: dict, sets: list[str]) -> list[str]:
    """Which reading the numbers support, decided by the paired intervals."""
    pre = precondition(results)
    if pre is None:
        return ["Not yet measured: the teacher or the `alone` arm has no record."]
    gain, holds = pre
    lines = [
        f"Precondition (teacher − alone on BSD100 ≥ {MIN_TEACHER_GAIN_DB} dB): "
        f"{gain:+.3f} dB, {'holds' if holds else 'does NOT hold'}."
    ]
    if not holds:
        return lines + ["The teacher is not clearly stronger, so no contrast is interpreted."]

    def verdict(a: str, na: str, b: str, nb: str) -> tuple[int, int, int]:
        above = below = measured = 0
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is None or c.seeds < 2:
                continue
            measured += 1
            above += c.low > 0
            below += c.high < 0
        return above, below, measured

    findings = {
        "distillation helps beyond deep supervision (self_distill_warm − deep_supervision > 0)": (
            "self_distill_warm",
            "exit4",
            "deep_supervision",
            "exit4",
        ),
        "deep supervision from a trained trunk helps (deep_supervision − alone > 0)": (
            "deep_supervision",
            "exit4",
            "alone",
            "student",
        ),
        "self-distillation from scratch helps (self_distill − alone > 0)": (
            "self_distill",
            "exit4",
            "alone",
            "student",
        ),
        "classic output KD helps (output_kd − alone > 0)": (
            "output_kd",
            "student",
            "alone",
            "student",
        ),
        "classic KD beats self-distillation (output_kd − self_distill_warm > 0)": (
            "output_kd",
            "student",
            "self_distill_warm",
            "exit4",
        ),
        # Round 2: is it structure or just more training?
        "the warm exit beats the student trained alone as long as teacher + warm run "
        "(self_distill_warm − alone_long > 0)": (
            "self_distill_warm",
            "exit4",
            "alone_long",
            "student",
        ),
        "deep supervision from a trained trunk beats training longer "
        "(deep_supervision − alone_long > 0)": (
            "deep_supervision",
            "exit4",
            "alone_long",
            "student",
        ),
        "starting from the teacher's first blocks helps (teacher_init − alone > 0)": (
            "teacher_init",
            "student",
            "alone",
            "student",
        ),
        "the multi-exit network adds to that start (deep_supervision − teacher_init > 0)": (
            "deep_supervision",
            "exit4",
            "teacher_init",
            "student",
        ),
        "KD adds to that start (teacher_init_kd − teacher_init > 0)": (
            "teacher_init_kd",
            "student",
            "teacher_init",
            "student",
        ),
        "output KD beats training longer (output_kd − alone_long > 0)": (
            "output_kd",
            "student",
            "alone_long",
            "student",
        ),
    }
    for text, (a, na, b, nb) in findings.items():
        above, below, measured = verdict(a, na, b, nb)
        if measured == 0:
            lines.append(f"- {text}: not yet measured with 2+ seeds.")
            continue
        if mixes_teachers(results, a, b):
            text += " (A and B learnt from different teachers)"
        state = (
            "supported"
            if above > measured / 2
            else "contradicted (the opposite holds)"
            if below > measured / 2
            else "not shown (the interval includes 0 on most sets)"
        )
        lines.append(
            f"- {text}: {state}; 95% interval above 0 on {above}, below 0 on {below} "
            f"of {measured} sets."
        )
    return lines


def results_markdown(
    results: dict,
    bicubic: dict,
    preset: str,
    seeds: int,
    plot_name: str,
    overrides: Sequence[str] = (),
    teachers: dict[str, dict] | None = None,
    cost_plot: str | None = None,
) -> str:
    sets = _sets_in(results)
    command = f"srdistill reproduce study-a --preset {preset} --seeds {seeds}"
    command += "".join(f" -o {o}" for o in overrides)
    lines = [
        "# Study A: self-distillation vs deep supervision vs teacher-student KD (x4)",
        "",
        f"Command: `{command}` (rebuilds this page from the committed records in `runs/`, "
        "training only what is missing).",
        "",
        "Final iterate of every run (no checkpoint is picked by a score); PSNR (dB) on the "
        "Y channel, mean ± standard deviation over seeds. Validation on Set5 during training "
        "is only plotted, never used to select anything.",
        "",
        "## PSNR per arm and network",
        "",
        "| arm | network | seeds | " + " | ".join(sets) + " | train s (mean) |",
        "| --- | --- | --- |" + " --- |" * (len(sets) + 1),
        "| bicubic | - | - | "
        + " | ".join(f"{bicubic.get(s, {}).get('psnr', math.nan):.3f}" for s in sets)
        + " | - |",
    ]
    for arm in ARMS:
        recs = {s: r for (a, s), r in results.items() if a == arm.name}
        if not recs:
            lines.append(f"| {arm.name} | - | 0 | " + " | ".join("-" for _ in sets) + " | - |")
            continue
        cost = statistics.fmean(r["train_seconds"] for r in recs.values())
        for label, _ in arm.networks:
            cells = [_mean_std(list(set_means(results, arm.name, label, s).values())) for s in sets]
            lines.append(
                f"| {arm.name} | {label} | {len(recs)} | " + " | ".join(cells) + f" | {cost:.0f} |"
            )
    lines += ["", "## SSIM", "", "| arm | network | " + " | ".join(sets) + " |"]
    lines += ["| --- | --- |" + " --- |" * len(sets)]
    for arm in ARMS:
        for label, _ in arm.networks:
            cells = [
                _mean_std(list(set_means(results, arm.name, label, s, "ssim").values()))
                for s in sets
            ]
            if any(c != "-" for c in cells):
                lines.append(f"| {arm.name} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Paired contrasts (A − B, PSNR dB, same seed = same initial weights and data order)",
        "",
        "Mean over seeds of the per-seed difference of set means, its 95% t-interval over "
        "seeds, and the share of (image, seed) pairs where A beats B.",
        "",
        "| contrast | set | seeds | mean | 95% interval | win rate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    mixed = False
    for a, na, b, nb in CONTRASTS:
        mark = "†" if mixes_teachers(results, a, b) else ""
        for s in sets:
            c = paired_contrast(results, a, na, b, nb, s)
            if c is None:
                continue
            mixed |= bool(mark)
            interval = "n/a (1 seed)" if c.seeds < 2 else f"[{c.low:+.3f}, {c.high:+.3f}]"
            lines.append(
                f"| {a}/{na} − {b}/{nb}{mark} | {s} | {c.seeds} | {c.mean:+.3f} | {interval} | "
                f"{100 * c.win_rate:.0f}% of {c.images}x{c.seeds} |"
            )
    if mixed:
        lines += [
            "",
            "† A and B learnt from different teachers (trained on different machines from "
            "the same config and seed; see Teachers): the contrast also holds the "
            "difference between the two teachers.",
        ]
    lines += _ablation_lines(results, sets)
    mismatched = teacher_mismatches(results)
    if teachers and len(teachers) > 1:
        lines += _teacher_lines(results, teachers)
    elif mismatched:
        lines += [
            "",
            "**Teacher check: " + ", ".join(mismatched) + " learnt from a teacher whose "
            "weights differ from the recorded teacher's (retrained on another machine); "
            "read their contrasts with that in mind.**",
        ]
    lines += _device_lines(results)
    lines += ["", "## Cost", ""]
    lines += _cost_lines(results)
    lines += ["", "## Conclusion (decided by the intervals above)", ""]
    lines += conclusion(results, sets)
    if cost_plot:
        lines += [
            "",
            f"![BSD100 PSNR vs training FLOPs, with and without the teacher's]({cost_plot})",
        ]
    lines += ["", f"![validation PSNR vs step]({plot_name})", ""]
    return "\n".join(lines) + "\n"


def _teacher_lines(results: dict, teachers: dict[str, dict]) -> list[str]:
    """Each teacher's score, where it trained, the precondition and the arms it taught."""
    alone = set_means(results, "alone", "student", "BSD100")
    lines = [
        "",
        "## Teachers",
        "",
        "The study's teacher was trained more than once from the same config and seed (its "
        "weights did not survive a session before they were committed); each arm's record "
        "names the teacher it learnt from by the fingerprint of its weights.",
        "",
        "| teacher | trained on | BSD100 | teacher − alone (BSD100) | arms that learnt from it |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fingerprint, rec in teachers.items():
        rows = rec["networks"].get("teacher", {}).get("BSD100") or []
        score = statistics.fmean(r["psnr"] for r in rows) if rows else math.nan
        gain = score - statistics.fmean(alone.values()) if alone and rows else math.nan
        holds = "holds" if gain >= MIN_TEACHER_GAIN_DB else "does NOT hold"
        taught = sorted(
            {a for (a, _), r in results.items() if r.get("teacher_weights_sha256") == fingerprint},
            key=_arm_index,
        )
        where = ", then ".join(d for d, _ in rec.get("devices") or []) or "?"
        lines.append(
            f"| {fingerprint[:12]} | {where} | {score:.3f} | {gain:+.3f} dB ({holds}) | "
            + (", ".join(taught) or "-")
            + " |"
        )
    return lines


def light_network(arm: Arm) -> str:
    """The network of an arm that is compared as its light model (exit 4 of a multi-exit
    run, the student otherwise; the teacher arm's own network)."""
    return arm.networks[0][0]


def arm_costs(results: dict) -> dict[str, dict]:
    """Per arm: mean training FLOPs and seconds over its seeds, and FLOPs with the
    teacher's training added for arms that learn from it."""
    teacher = [r.get("train_flops") for (a, _), r in results.items() if a == TEACHER_ARM.name]
    teacher_flops = teacher[0] if teacher and teacher[0] else None
    out = {}
    for arm in ARMS:
        recs = [r for (a, _), r in results.items() if a == arm.name]
        if not recs:
            continue
        flops = [r["train_flops"] for r in recs if r.get("train_flops")]
        own = statistics.fmean(flops) if flops else None
        total = own + teacher_flops if own and arm.uses_teacher and teacher_flops else own
        out[arm.name] = {
            "flops": own,
            "flops_with_teacher": total,
            "seconds": statistics.fmean(r["train_seconds"] for r in recs),
            "steps": recs[0].get("step"),
        }
    return out


def _cost_lines(results: dict) -> list[str]:
    costs = arm_costs(results)
    out = [
        "Training FLOPs: one real training step of the arm counted by PyTorch's "
        "FlopCounterMode (convolutions and matrix products, forward and backward, a frozen "
        "teacher's forward included), times the steps trained. An arm that learns from the "
        "teacher is shown without and with the teacher's own training (16,000 steps of "
        "SRResNet-16): the first is the cost when a trained teacher exists already, the "
        "second when it has to be trained for this. Seconds: median logged step time x "
        "steps on the machine that ran them (data + steps; no validation or checkpoints).",
        "",
        "| arm | steps | TFLOP | TFLOP with the teacher's training | train s (mean) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, c in costs.items():
        own, total = c["flops"], c["flops_with_teacher"]
        out.append(
            f"| {name} | {c['steps']} | "
            + (f"{own / 1e12:.1f}" if own else "-")
            + " | "
            + (f"{total / 1e12:.1f}" if total and total != own else "-")
            + f" | {c['seconds']:.0f} |"
        )
    return out


def cost_quality_points(results: dict, with_teacher: bool) -> list[tuple[str, float, float, float]]:
    """(arm, TFLOP, mean BSD100 PSNR of its light network, seed standard deviation)."""
    costs = arm_costs(results)
    points = []
    for arm in ARMS:
        c = costs.get(arm.name)
        flops = c and (c["flops_with_teacher"] if with_teacher else c["flops"])
        scores = list(set_means(results, arm.name, light_network(arm), "BSD100").values())
        if not flops or not scores:
            continue
        spread = statistics.stdev(scores) if len(scores) > 1 else math.nan
        points.append((arm.name, flops / 1e12, statistics.fmean(scores), spread))
    return points


def _plot_cost_quality(results: dict, path: Path) -> bool:
    from srdistill.eval.figures import scatter_panels

    panels = [
        ("teacher's training counted (no teacher exists yet)", cost_quality_points(results, True)),
        ("teacher already trained (its cost not counted)", cost_quality_points(results, False)),
    ]
    if not any(pts for _, pts in panels):
        return False
    scatter_panels(panels, path, "training TFLOP", "BSD100 PSNR (dB), light network, ± seed SD")
    return True


def light_model_curves(curves: dict[str, list[dict]]) -> dict[str, list[tuple[int, float]]]:
    """Seed 0's validation PSNR per arm: exit 4 for a multi-exit run (the light model
    compared here), the network itself otherwise."""
    series = {}
    for name, rows in sorted(curves.items()):
        if not name.endswith("seed0"):
            continue
        keys = {k for r in rows for k in r if k.startswith("val/psnr")}
        key = "val/psnr_exit4" if "val/psnr_exit4" in keys else min(keys, default=None)
        pts = [(r["step"], r[key]) for r in rows if key in r]
        if pts:
            series[name.removesuffix("_seed0")] = pts
    return series


def _plot_curves(curves: dict[str, list[dict]], path: Path) -> None:
    series = light_model_curves(curves)
    if series:
        line_plot(series, path, "validation PSNR (Set5, dB) vs step, seed 0", "step", "dB")

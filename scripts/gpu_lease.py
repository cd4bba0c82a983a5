"""Train Study A and the paper B tables on a lent GPU machine, many runs at once.

A GPU lease here is short (minutes) and its machine cannot hold the test sets next to the
training images, so this trains only: every run of ``reproduce study-a --preset study``
and of ``reproduce paper-b-2/paper-b-1 --preset quick`` (the same resolved configs, run
folders and names as those commands), as parallel processes on one GPU (each small run
is bound by Python and kernel launches, not by the GPU). A run starts once the runs it
needs are complete (the teacher, a cohort's pixel-loss pretraining). At the deadline the
running ones are stopped (they checkpoint), and ``--pack`` writes what evaluation needs
(records and the final weights of each network, no optimizer state, no discriminators)
into tar files small enough to come back. Back here, the usual commands find the runs
complete, evaluate them on the test sets and write the tables:

    python scripts/gpu_lease.py --parallel 14 --deadline 420 --pack $OUT   # on the GPU
    tar -xf study.tar ... ; srdistill reproduce study-a --out runs/study_a_gpu ...   # here
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from srdistill.config import CONFIG_DIR, RunConfig
from srdistill.engine.checkpoint import CheckpointManager
from srdistill.reproduce.runner import is_complete, run_config, train_unless_finished
from srdistill.reproduce.study_a import TEACHER_ARM, _Study, jobs, run_name
from srdistill.reproduce.tables import TABLES

PAPER_B = {"paper-b-2": 3, "paper-b-1": 1}  # table -> seeds (issue 12)
# The quick presets train SRGAN-MSE (pixel content loss): no VGG19 file, no stand-in.
PAPER_B_OVERRIDES: list[str] = []


@dataclass
class Job:
    name: str
    cfg: RunConfig
    needs: list[str] = field(default_factory=list)
    weights: tuple[str, ...] = ("*",)  # which checkpoint files evaluation reads


def plan(study_out: Path, tables_out: Path, extra: list[str]) -> list[Job]:
    """Every run, under the names and folders the reproduce commands give them."""
    out: list[Job] = []
    study = _Study("study", study_out / "study", None, [], list(extra), CONFIG_DIR)
    teacher = f"study/{run_name(TEACHER_ARM, 0)}"
    for arm, seed in jobs(3):
        needs = [teacher] if arm.uses_teacher else []
        out.append(Job(f"study/{run_name(arm, seed)}", study.config(arm, seed), needs))
    runs_dir = tables_out / "runs" / "quick"
    overrides = [*PAPER_B_OVERRIDES, *extra]
    seen: set[str] = set()
    for table_name, seeds in PAPER_B.items():
        for seed in range(seeds):
            for col in TABLES[table_name].columns:
                if col.needs is None:  # the reference column: the pretraining run itself
                    continue
                pre = run_config(col.needs, "quick", seed, runs_dir, overrides)
                pre_name = f"tables/{pre.run_dir.name}"
                if pre_name not in seen:
                    seen.add(pre_name)
                    out.append(Job(pre_name, pre, weights=()))  # the cohorts hold their own
                cfg = run_config(
                    col.config,
                    "quick",
                    seed,
                    runs_dir,
                    [*overrides, f"mutual.init_from={pre.run_dir}"],
                )
                out.append(Job(f"tables/{cfg.run_dir.name}", cfg, [pre_name], ("generator*",)))
    return out


def schedule(plan_jobs: list[Job], parallel: int, deadline: float, argv_extra: list[str]) -> None:
    """Start each run once its needs are complete, at most ``parallel`` at a time."""
    start = time.monotonic()
    waiting = [j for j in plan_jobs if not is_complete(j.cfg.run_dir)]
    running: dict[str, subprocess.Popen] = {}
    by_name = {j.name: j for j in plan_jobs}
    logs = Path("runs/gpu_lease_logs")
    logs.mkdir(parents=True, exist_ok=True)
    while waiting or running:
        for name, proc in list(running.items()):
            if proc.poll() is not None:
                print(
                    f"{time.monotonic() - start:6.0f}s done {name} rc={proc.returncode}", flush=True
                )
                del running[name]
        if time.monotonic() - start > deadline:
            for proc in running.values():
                proc.terminate()  # the engine checkpoints on SIGTERM
            for proc in running.values():
                proc.wait(timeout=60)
            print(
                f"deadline: stopped {sorted(running)}; never started {[j.name for j in waiting]}",
                flush=True,
            )
            return
        for job in list(waiting):
            if len(running) >= parallel:
                break
            if all(is_complete(by_name[n].cfg.run_dir) for n in job.needs):
                waiting.remove(job)
                log = open(logs / (job.name.replace("/", "_") + ".log"), "w")  # noqa: SIM115
                running[job.name] = subprocess.Popen(
                    [sys.executable, __file__, "--worker", job.name, *argv_extra],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                print(f"{time.monotonic() - start:6.0f}s start {job.name}", flush=True)
        time.sleep(1.0)


def pack(plan_jobs: list[Job], dest: Path, limit_bytes: int) -> None:
    """Records and final weights of every complete run, in tar files under the limit.

    A packed checkpoint keeps the networks evaluation reads and a small ``state.pt`` that
    holds only the step (optimizer and discriminator state stay behind): the run is
    complete, so it is evaluated, never resumed."""
    dest.mkdir(parents=True, exist_ok=True)
    members: list[tuple[str, bytes]] = []
    for job in plan_jobs:
        run_dir = job.cfg.run_dir
        if not is_complete(run_dir):
            continue
        for path in sorted(run_dir.iterdir()):
            if path.is_file() and path.name != ".lock":
                members.append((str(path), path.read_bytes()))
        latest = CheckpointManager(run_dir).latest()
        if latest is None or not job.weights:
            continue
        members.append((str(latest.parent / "latest"), latest.name.encode()))
        for path in sorted(latest.glob("*.safetensors")):
            if any(path.match(w) for w in job.weights):
                members.append((str(path), path.read_bytes()))
        step = torch.load(latest / "state.pt", map_location="cpu", weights_only=False)["step"]
        slim = io.BytesIO()
        torch.save({"step": step, "packed": "weights only (scripts/gpu_lease.py)"}, slim)
        members.append((str(latest / "state.pt"), slim.getvalue()))
    part, size, tar = 0, 0, None
    for name, data in members:
        if tar is None or size + len(data) > limit_bytes:
            if tar is not None:
                tar.close()
            part, size = part + 1, 0
            tar = tarfile.open(dest / f"runs{part}.tar", "w")
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(data), int(time.time())
        tar.addfile(info, io.BytesIO(data))
        size += len(data) + 1024
    if tar is not None:
        tar.close()
    print(f"packed {len(members)} files into {part} tar file(s) under {dest}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study-out", default="runs/study_a_gpu")
    p.add_argument("--tables-out", default="reproduce")
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--deadline", type=float, default=420.0, help="seconds, then stop runs")
    p.add_argument("--pack", help="folder for the tar files of complete runs")
    p.add_argument("--pack-limit-mb", type=float, default=15.5)
    p.add_argument("--only", help="comma-separated name prefixes (study/, tables/) to train")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("-o", "--override", action="append", default=[], help="key=value, all runs")
    args = p.parse_args()
    extra = ["train.threads=1", "train.progress=false", *args.override]
    plan_jobs = plan(Path(args.study_out), Path(args.tables_out), extra)
    if args.worker:
        job = next(j for j in plan_jobs if j.name == args.worker)
        train_unless_finished(job.cfg)
        return
    selected = plan_jobs
    if args.only:
        prefixes = args.only.split(",")
        selected = [j for j in plan_jobs if j.name.startswith(tuple(prefixes))]
    argv_extra = ["--study-out", args.study_out, "--tables-out", args.tables_out]
    for o in args.override:
        argv_extra += ["-o", o]
    schedule(selected, args.parallel, args.deadline, argv_extra)
    if args.pack:
        pack(selected, Path(args.pack), int(args.pack_limit_mb * 2**20))


if __name__ == "__main__":
    main()

"""The training engine: one loop for every method.

Per step: take the batch for this step (a pure function of seed and step), let the method
compute and apply its update, step the schedulers, then log, validate and checkpoint on
schedule. Everything a resumed run needs to continue bit for bit (networks, optimizers,
schedulers, RNG state, step) is in the checkpoint; data order needs no state.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from srdistill.data.datasets import TrainPatches, load_benchmark
from srdistill.data.io import set_max_pixels
from srdistill.engine.checkpoint import (
    CheckpointManager,
    load_state,
    load_state_into,
    read_weights,
    unwrap,
)
from srdistill.engine.distributed import DistInfo, all_reduce_mean, barrier, init_distributed
from srdistill.engine.ema import WeightAverage
from srdistill.engine.hardware import cpu_has_native_bf16
from srdistill.engine.lock import LOCK_NAME, RunLock
from srdistill.engine.logging import MetricLogger
from srdistill.engine.method import Method, TrainingContext, registered_name
from srdistill.engine.runinfo import environment_record, write_json
from srdistill.errors import CheckpointError, ConfigError, DataError, SrdistillError
from srdistill.eval.evaluate import super_resolve
from srdistill.metrics.registry import METRICS, check_names, score
from srdistill.progress import Progress
from srdistill.schema import (
    CONFIG_SCHEMA,
    RunConfig,
    changed_keys,
    flatten,
    read_saved_config,
    save_config,
    short_repr,
)

log = logging.getLogger(__name__)

# Keys that may change between a run and its resumption without changing its math.
RESUME_MUTABLE = {
    "train.steps",
    "train.progress",
    "train.log_every",
    "train.val_every",
    "train.ckpt_every",
    "train.keep_checkpoints",
    "train.device",
    "train.threads",
    "train.compile",  # how the same maths runs, like the device
    # A run may continue for more steps; a cosine drawn over train.steps then changes from
    # the current step on, which the trainer says in one line and records in run.json.
    "optim.cosine_steps",
    "data.num_workers",
    "data.max_pixels",
    "output_dir",
    "name",  # a moved or renamed run folder resumes
}


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    final_checkpoint: Path | None
    metrics: dict[str, float]


class TrainingDiverged(SrdistillError):
    """The loss became non-finite; the run stops with its last finite checkpoint."""


class Interrupted(SrdistillError):
    """Raised after a SIGINT/SIGTERM once the current step is checkpointed."""


def prepare_run_dir(cfg: RunConfig, resume: bool, overwrite: bool, info: DistInfo) -> Path:
    """Check the run folder can be (re)used; on the main process create it and take its lock.

    The lock (``engine.lock``) is taken before anything in the folder changes, so a second
    process never removes or rewrites what the first is writing.
    """
    run_dir = cfg.run_dir
    saved = run_dir / "config.yaml"
    if info.is_main:
        if run_dir.exists() and not resume and not overwrite:
            raise SrdistillError(
                f"run folder {run_dir} already exists; pass --resume to continue it, "
                "--overwrite to replace it, or choose another name (-o name=...)"
            )
        if run_dir.exists() and overwrite and not resume and not is_run_folder(run_dir):
            raise SrdistillError(
                f"--overwrite only replaces srdistill run folders, and {run_dir} is not one "
                "(no config.yaml and run.json); choose another name (-o name=...)"
            )
        if resume and saved.exists():
            old_cfg = read_saved_config(saved)
            mutable = set(RESUME_MUTABLE)
            # The saved config is read with today's defaults, so a section added since it
            # was written is at its default on both sides and does not block a resume.
            changed = changed_keys(old_cfg, cfg, mutable)
            if changed:
                key = changed[0]
                old, new = flatten(old_cfg.to_dict()), flatten(cfg.to_dict())
                raise ConfigError(
                    f"cannot resume {run_dir}: config key '{key}' differs from the "
                    f"run's ({short_repr(old.get(key))} vs {short_repr(new.get(key))}); resume "
                    "with the run's own config.yaml or start a new run"
                )
    barrier(info)
    return run_dir


def _schedule_change(old: RunConfig, new: RunConfig, step: int) -> dict | None:
    """What resuming with another train.steps (or optim.cosine_steps) does to the run: the
    record for run.json, and a one-line warning where the learning rate jumps."""
    from srdistill.engine.method import lr_factor

    if (old.train.steps, old.optim.cosine_steps) == (new.train.steps, new.optim.cosine_steps):
        return None
    before = old.optim.lr * lr_factor(step, old.optim, old.train.steps)
    after = new.optim.lr * lr_factor(step, new.optim, new.train.steps)
    change = {"train.steps": [old.train.steps, new.train.steps], "at_step": step,
              "lr_before": before, "lr_after": after}  # fmt: skip
    if not math.isclose(before, after, rel_tol=1e-9, abs_tol=1e-15):
        span = old.optim.cosine_steps or old.train.steps
        log.warning(
            "train.steps %d -> %d redraws the cosine schedule: the learning rate at step %d "
            "jumps from %.3g to %.3g (-o optim.cosine_steps=%d keeps the old curve, then "
            "optim.min_lr %.3g)",
            old.train.steps, new.train.steps, step, before, after, span, new.optim.min_lr,
        )  # fmt: skip
    else:
        log.info("train.steps %d -> %d: the schedule is unchanged up to step %d", old.train.steps,
                 new.train.steps, step)  # fmt: skip
    return change


def is_run_folder(path: Path) -> bool:
    """A folder srdistill made for a run (what ``--overwrite`` may remove)."""
    path = Path(path)
    return (
        path.is_dir()
        and (path / "config.yaml").is_file()
        and ((path / "run.json").is_file() or (path / "status.json").is_file())
    )


def _take_run_folder(cfg: RunConfig, resume: bool, overwrite: bool) -> tuple[RunLock, bool]:
    """Create (or clear, with overwrite) the run folder under its lock (main process only).

    Returns the held lock and whether this call created the folder.
    """
    run_dir = cfg.run_dir
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_dir).acquire()
    if overwrite and not resume and not created:
        for child in run_dir.iterdir():
            if child.name == LOCK_NAME:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    if not resume or not (run_dir / "config.yaml").exists():
        save_config(cfg, run_dir / "config.yaml")
    return lock, created


def load_run_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise SrdistillError(f"{run_dir} is not a run folder (no config.yaml)")
    schema = _recorded(run_dir, "config_schema")
    if isinstance(schema, int) and schema > CONFIG_SCHEMA:
        raise ConfigError(
            f"{run_dir} was written by a newer srdistill (config schema {schema}, this one "
            f"reads {CONFIG_SCHEMA}); upgrade srdistill to resume it"
        )
    return read_saved_config(path)


def _recorded(run_dir: str | Path, key: str) -> object:
    """One entry of a run's run.json (None when absent or unreadable)."""
    try:
        return json.loads((Path(run_dir) / "run.json").read_text()).get(key)
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return None


def recorded_method(run_dir: str | Path) -> tuple[str | None, str | None]:
    """(registered method name, class path) a run was trained with, from its run.json."""
    return _recorded(run_dir, "method"), _recorded(run_dir, "method_class")


MethodFactory = Callable[[RunConfig, TrainingContext], Method]


def build_method(cfg: RunConfig, ctx: TrainingContext, factory: MethodFactory) -> Method:
    """Seed, then build: under one seed every method draws the same initial weights."""
    torch.manual_seed(cfg.seed)
    method = factory(cfg, ctx)
    missing = [
        name
        for name in ("train_step", "eval_networks")
        if getattr(type(method), name) is getattr(Method, name)
    ]
    if missing:
        raise ConfigError(
            f"{type(method).__name__} does not define {' and '.join(missing)}: a Method "
            "subclass computes one step in train_step(lr, hr) -> {'loss': ..., ...} and names "
            "its SR networks in eval_networks() (see srdistill.engine.method)"
        )
    return method


def _check_state(state: object, method: Method, ckpt_dir: Path) -> None:
    """A training state that lacks what this method needs is a broken checkpoint (one line,
    so resume can fall back to an older one), never a KeyError half-way through loading."""
    problem = None
    if not isinstance(state, dict):
        problem = f"is a {type(state).__name__}, not a training state"
    else:
        for key, kind in (("step", int), ("optimizers", dict), ("schedulers", dict), ("rng", dict)):
            if not isinstance(state.get(key), kind):
                problem = f"has no {key!r} entry"
                break
        else:
            missing = [n for n in method.optimizers if n not in state["optimizers"]]
            missing += [n for n in method.schedulers if n not in state["schedulers"]]
            if missing:
                problem = f"holds no state for {missing[0]!r}"
            elif not isinstance(state["rng"].get("torch"), torch.Tensor):
                problem = "has no torch random state"
    if problem:
        raise CheckpointError(f"{ckpt_dir / 'state.pt'} {problem}; the checkpoint is broken")


def restore(method: Method, ckpt_dir: Path) -> int:
    """Load a checkpoint into ``method``; every file is read before anything is changed,
    so a checkpoint that does not load leaves the method untouched."""
    weights = {name: read_weights(ckpt_dir / f"{name}.safetensors") for name in method.networks}
    state = load_state(ckpt_dir)
    _check_state(state, method, ckpt_dir)
    saved, now = state.get("trained_by"), trained_by(method)
    if isinstance(saved, dict) and saved.get("method_class") != now["method_class"]:
        # Not a broken checkpoint (no falling back to an older one): the wrong class.
        raise ConfigError(
            f"{ckpt_dir} was trained by {saved.get('method_class')} ({saved.get('method')}); "
            f"this run would continue it with {now['method_class']}: resume it with the "
            "method that trained it"
        )
    for name, net in method.networks.items():
        load_state_into(net, ckpt_dir / f"{name}.safetensors", weights[name])
    for name, opt in method.optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    for name, sched in method.schedulers.items():
        sched.load_state_dict(state["schedulers"][name])
        if isinstance(sched, torch.optim.lr_scheduler.LambdaLR):
            # The saved optimizer holds the learning rate of the old curve; a schedule
            # redrawn over more steps applies from the first resumed step. LambdaLR's own
            # arithmetic, so an unchanged schedule gives the same value bit for bit.
            for group, base, factor in zip(
                sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas, strict=True
            ):
                group["lr"] = base * factor(sched.last_epoch)
    if method.ctx.scaler is not None and "grad_scaler" in state:
        method.ctx.scaler.load_state_dict(state["grad_scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if torch.cuda.is_available() and state["rng"].get("cuda"):
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["step"])


def restore_newest(
    method: Method, ckpts: CheckpointManager, ema: WeightAverage | None = None
) -> int:
    """Restore the newest checkpoint that loads; skipped broken ones are named in one line."""
    for ckpt in ckpts.candidates():
        try:
            if ema is not None:  # read first: a checkpoint without them is not this run's
                ema.restore(ckpt)
            return restore(method, ckpt)
        except CheckpointError as exc:
            log.warning("skipping checkpoint %s: it does not load (%s)", ckpt.name, exc)
    if ckpts.candidates():
        raise CheckpointError(f"no checkpoint in {ckpts.dir} loads; start the run again")
    return 0


def trained_by(method: Method) -> dict:
    """What computed a checkpoint's steps, stored in it (run.json says the same)."""
    cls = type(method)
    return {
        "method": registered_name(cls),
        "method_class": f"{cls.__module__}.{cls.__qualname__}",
        "architecture": method.cfg.model.arch,
        "config_schema": CONFIG_SCHEMA,
    }


def training_state(method: Method) -> dict:
    scaler = method.ctx.scaler
    return {
        "trained_by": trained_by(method),
        **({"grad_scaler": scaler.state_dict()} if scaler is not None else {}),
        "optimizers": {k: o.state_dict() for k, o in method.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in method.schedulers.items()},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
    }


def validation_metrics(method: Method) -> list[str]:
    """The method's declared validation metrics, checked (before training starts)."""
    metrics = list(method.validation_metrics())
    check_names(metrics)
    no_reference = [m for m in metrics if not METRICS[m].needs_reference]
    if no_reference:
        raise ConfigError(
            f"validation metric '{no_reference[0]}' needs no reference image; validation "
            "scores SR against HR with full-reference metrics (psnr, ssim)"
        )
    return metrics


def _previous_sessions(path: Path, is_main: bool) -> list:
    """The sessions recorded in a run's run.json. An unreadable one (edited, truncated) does
    not stop the resume: it is kept beside as run.json.unreadable and a warning says so."""
    try:
        sessions = json.loads(path.read_text()).get("sessions", [])
        if isinstance(sessions, list):
            return sessions
    except (ValueError, UnicodeDecodeError, AttributeError):
        pass
    if is_main:
        kept = path.with_name("run.json.unreadable")
        shutil.copyfile(path, kept)
        log.warning("%s is unreadable: kept as %s; its session history restarts", path, kept)
    return []


def _validation_set_or_none(cfg: RunConfig) -> str | None:
    """The validation set, loaded once to fail early. A catalog set that is not installed
    (a pip user who imported only the training sets) is skipped with a warning: validation
    is only plotted, never used to select anything. A folder that fails still stops."""
    from srdistill.data.catalog import lookup

    try:
        load_benchmark(cfg.data.val, cfg.scale, cfg.data.val_max_images)
        return cfg.data.val
    except DataError:
        try:
            lookup(cfg.data.val)
        except DataError:
            raise  # a folder or an unknown name: the user's error, not a missing download
        if Path(cfg.data.val).exists():
            raise
        log.warning(
            "validation set %s is not installed: training without validation "
            "(`srdistill data download %s` to plot it)",
            cfg.data.val,
            cfg.data.val,
        )
        return None


@torch.no_grad()
def validate(method: Method, cfg: RunConfig, device: torch.device) -> dict[str, float]:
    images = load_benchmark(cfg.data.val, cfg.scale, cfg.data.val_max_images)
    nets = [unwrap(n) for n in method.networks.values()]
    modes = [n.training for n in nets]
    for n in nets:
        n.eval()
    metrics = validation_metrics(method)
    results = {}
    try:
        for name, fn in method.eval_networks().items():
            totals = dict.fromkeys(metrics, 0.0)
            for im in images:
                sr = super_resolve(fn, im.lr, device)
                for metric in metrics:
                    totals[metric] += score(metric, sr, im.hr, cfg.scale)
            for metric in metrics:
                results[f"val/{metric}_{name}"] = totals[metric] / len(images)
    finally:
        for n, mode in zip(nets, modes, strict=True):
            n.train(mode)
    return results


class _StartupTerm:
    """SIGTERM before the training loop (building, restoring, loading data) stops with a
    one-line ``Interrupted`` instead of killing the process, so the clean-up below runs:
    a new run folder with no checkpoint is removed and the same command works again. The
    loop's own handler (``_StopFlag``) takes over once steps begin."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir, self._old = run_dir, None

    def __enter__(self) -> _StartupTerm:
        try:
            self._old = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread
            pass
        return self

    def _handle(self, signum: int, frame: object) -> None:
        raise Interrupted(
            f"stopped before the first training step of {self.run_dir}; nothing was lost: "
            "run the same command again (with --resume if it had checkpoints)"
        )

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)


class _StopFlag:
    """Turns SIGINT/SIGTERM into a request to checkpoint and stop after this step."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict = {}

    def __enter__(self) -> _StopFlag:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread
            pass
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:  # second signal: stop now
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _batches(data: TrainPatches, start: int, total: int, workers: int, per_step: int = 1):  # noqa: ANN202
    """The micro-batches of steps start+1..total, in order: ``per_step`` of them per step
    (batch index (step - 1) * per_step + j + 1), so one step's data never depends on
    whether the run was resumed."""
    first, last = start * per_step + 1, total * per_step
    if workers <= 0:
        for index in range(first, last + 1):
            yield data.batch(index)
        return

    class _Steps(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return last - first + 1

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return data.batch(first + i)

    loader = torch.utils.data.DataLoader(
        _Steps(),
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=False,
    )
    yield from loader


def train(
    cfg: RunConfig,
    method: MethodFactory,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> TrainResult:
    """Train the method that ``method(cfg, ctx)`` builds, in ``cfg.run_dir``.

    With ``resume`` it continues from the run's latest checkpoint.
    """
    info, device = init_distributed(cfg.train.device)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    if device.type == "cuda" and cfg.train.precision == "fp32":
        # fp32 means fp32: cuDNN would otherwise run convolutions in TF32 (10-bit mantissa),
        # and GPU runs would no longer be comparable with CPU runs of the same recipe.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    run_dir = prepare_run_dir(cfg, resume, overwrite, info)
    lock, created = _take_run_folder(cfg, resume, overwrite) if info.is_main else (None, False)
    barrier(info)
    try:
        with _StartupTerm(run_dir):
            return _train_locked(cfg, method, run_dir, info, device, resume)
    except BaseException:
        # A start that fails before its first checkpoint leaves nothing behind, so the same
        # command can simply be run again.
        if lock is not None and created and CheckpointManager(run_dir).latest() is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        elif info.is_main:
            _mark_failed(run_dir)
        raise
    finally:
        if lock is not None:
            lock.release()


def _mark_failed(run_dir: Path) -> None:
    status = run_dir / "status.json"
    try:
        old = json.loads(status.read_text()) if status.exists() else {}
        if old.get("state") == "running":
            import sys

            reason = sys.exc_info()[1]
            state = "stopped" if isinstance(reason, (Interrupted, KeyboardInterrupt)) else "failed"
            old.update(state=state, reason=str(reason) or type(reason).__name__)
            write_json(status, old)
    except (OSError, ValueError):
        pass


def _accumulated_step(
    method: Method, ctx: TrainingContext, batches: Iterator, count: int, device: torch.device
) -> dict[str, torch.Tensor]:
    """One optimizer step over ``count`` micro-batches; the losses logged are their mean.
    Under DDP the gradients are all-reduced on the last micro-batch only (no_sync)."""
    total: dict[str, torch.Tensor] = {}
    for index in range(count):
        lr, hr = next(batches)
        lr, hr = lr.to(device, non_blocking=True), hr.to(device, non_blocking=True)
        ctx.micro = (index, count)
        with contextlib.ExitStack() as stack:
            if index < count - 1:
                for net in method.networks.values():
                    if hasattr(net, "no_sync"):
                        stack.enter_context(net.no_sync())
            losses = method.train_step(lr, hr)
        for key, value in losses.items():
            value = value.detach()
            total[key] = total[key] + value if key in total else value
    ctx.micro = (0, 1)
    if ctx.scaler is not None:
        ctx.scaler.update()  # once per step, after every optimizer of the method stepped
    return {key: value / count for key, value in total.items()} if count > 1 else total


def _weight_average(cfg: RunConfig, method: Method) -> WeightAverage | None:
    """The EMA of the deployed networks when train.ema_decay is set."""
    if not cfg.train.ema_decay:
        return None
    deployed = {n: method.networks[n] for n in method.deploy_networks()}
    return WeightAverage(deployed, cfg.train.ema_decay)


def _compile_networks(cfg: RunConfig, method: Method) -> None:
    """train.compile: each trained network's calls go through torch.compile from here on.
    In place (nn.Module.compile), so state_dict names, checkpoints, EMA and DDP are the
    same objects as without it; called after the EMA copies exist, so they stay eager."""
    if not cfg.train.compile:
        return
    for net in method.networks.values():
        net.compile()


def _train_patches(cfg: RunConfig, info: DistInfo) -> TrainPatches:
    """This rank's training patches: batch i is a pure function of seed and i."""
    return TrainPatches(
        cfg.data.train,
        cfg.scale,
        cfg.data.patch_size,
        cfg.train.batch_size,
        cfg.seed,
        augment=cfg.data.augment,
        on_bad_image=cfg.data.on_bad_image,
        rank=info.rank,
        world_size=info.world_size,
    )


def _engine_step(  # noqa: PLR0913
    method: Method,
    ctx: TrainingContext,
    batches: Iterator,
    accumulate: int,
    device: torch.device,
    ema: WeightAverage | None,
    nonfinite: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Everything the loop does for one optimizer step besides logging, validation and
    checkpoints: the step's micro-batches, the method's update, EMA, the non-finite count
    and the schedulers."""
    losses = _accumulated_step(method, ctx, batches, accumulate, device)
    if ema is not None:
        ema.update()
    nonfinite += (~torch.isfinite(losses["loss"].detach())).float()
    for sched in method.schedulers.values():
        sched.step()
    return losses


class EngineSteps:
    """Calls of the engine's step on one method; ``method`` and ``ema`` are what it trains."""

    def __init__(self, method: Method, ema: WeightAverage | None, step: Callable) -> None:
        self.method, self.ema, self._step = method, ema, step

    def __call__(self) -> dict[str, torch.Tensor]:
        return self._step()


def step_function(cfg: RunConfig, factory: MethodFactory, device: str = "cpu") -> EngineSteps:
    """One training step of ``cfg`` per call, through the same code the training loop runs
    (batches of steps 1, 2, ... with their cropping and augmentation, accumulation, bf16,
    EMA, schedulers), with no run folder, logging or checkpoints. For benchmarks that
    interleave the engine's steps with other loops in one process, step by step."""
    dev = torch.device(device)
    ctx = TrainingContext(dev, cfg.train.precision, DistInfo())
    method = build_method(cfg, ctx, factory)
    ema = _weight_average(cfg, method)
    _compile_networks(cfg, method)
    data = _train_patches(cfg, DistInfo())
    k = cfg.train.accumulate
    batches = _batches(data, 0, cfg.train.steps, cfg.data.num_workers, k)
    nonfinite = torch.zeros((), device=dev)
    for net in method.networks.values():
        net.train()
    return EngineSteps(
        method, ema, lambda: _engine_step(method, ctx, batches, k, dev, ema, nonfinite)
    )


def _warn_if_emulated_bf16(cfg: RunConfig, device: torch.device) -> None:
    """bf16 on a CPU without bf16 instructions is emulated and many times slower than fp32:
    a user who chose it for speed should hear it before waiting."""
    if cfg.train.precision == "bf16" and device.type == "cpu" and cpu_has_native_bf16() is False:
        log.warning(
            "train.precision=bf16 on a CPU without avx512_bf16/amx_bf16 is emulated "
            "(measured 5-13x slower than fp32 on such a CPU, docs/results/performance.md): "
            "use train.precision=fp32 on this machine unless bf16 numerics are the point"
        )


def _train_locked(
    cfg: RunConfig,
    factory: MethodFactory,
    run_dir: Path,
    info: DistInfo,
    device: torch.device,
    resume: bool,
) -> TrainResult:
    set_max_pixels(cfg.data.max_pixels)
    ctx = TrainingContext(device, cfg.train.precision, info)
    if info.is_main:
        _warn_if_emulated_bf16(cfg, device)
    method = build_method(cfg, ctx, factory)
    validation_metrics(method)  # a bad declaration fails before any step
    ema = _weight_average(cfg, method)
    _compile_networks(cfg, method)
    ckpts = CheckpointManager(run_dir, cfg.train.keep_checkpoints)
    start = restore_newest(method, ckpts, ema) if resume else 0
    if start and info.is_main:
        log.info("resumed %s from step %d", run_dir, start)
    extension = None
    if resume and info.is_main:  # the resumable keys (steps, logging, place) may have changed
        if (run_dir / "config.yaml").is_file():
            extension = _schedule_change(read_saved_config(run_dir / "config.yaml"), cfg, start)
        save_config(cfg, run_dir / "config.yaml")
    total = cfg.train.steps
    data = _train_patches(cfg, info)
    validation_set = cfg.data.val
    if validation_set:
        validation_set = _validation_set_or_none(cfg)  # fail early on a broken one
    session = {
        "environment": environment_record(str(device), info.world_size),
        "started_at_step": start,
    }
    if extension:
        session["steps_changed"] = extension
    record = {
        "name": cfg.name,
        # The registered name of the class that computed the steps (None: an unregistered
        # class of the user's, which a resume through the CLI cannot rebuild) and the class.
        "method": registered_name(type(method)),
        "method_class": f"{type(method).__module__}.{type(method).__qualname__}",
        "architecture": cfg.model.arch,
        "config_schema": CONFIG_SCHEMA,
        "seed": cfg.seed,
        "notes": method.notes(),
        "deploy": method.deploy_networks(),  # which networks are the SR models, in order
        "ema_decay": cfg.train.ema_decay,  # set: the deployed weights are the averaged ones
        "train_images": len(data),
        "environment": session["environment"],  # the latest session's, for quick reading
        "sessions": [session],
    }
    previous = run_dir / "run.json"
    if resume and previous.exists():  # keep the history: each resumption is a session
        record["sessions"] = _previous_sessions(previous, info.is_main) + [session]
    logger = None
    if info.is_main:
        write_json(run_dir / "run.json", record)
        write_json(run_dir / "status.json", {"state": "running", "step": start, "total": total})
        logger = MetricLogger(run_dir, start, notes=method.notes())
        for note in method.notes():
            log.warning("%s", note)

    def save(step: int) -> Path | None:
        path = None
        if info.is_main:
            modules = {**method.networks, **(ema.modules() if ema else {})}
            path = ckpts.save(step, modules, training_state(method))
            write_json(run_dir / "status.json", {"state": "running", "step": step, "total": total})
        barrier(info)
        return path

    for net in method.networks.values():
        net.train()
    bar = None
    if info.is_main and cfg.train.progress:
        bar = Progress(
            total,
            cfg.name + "".join(f" [{n}]" for n in method.notes()),
            initial=start,
            every_steps=max(cfg.train.log_every, 100),
        )
    last_logs: dict[str, float] = {}
    final = None
    step = start
    busy, steps_timed = 0.0, 0  # time in data + train steps only (not val/checkpoints)
    # Non-finite losses are gathered on the device without a sync per step, and checked
    # before anything is logged or saved, so no checkpoint ever holds weights a NaN touched.
    nonfinite = torch.zeros((), device=device)
    last_saved = start

    def check_finite(step: int) -> None:
        if all_reduce_mean(nonfinite, info).item() > 0:
            kept = (
                f"the last finite checkpoint (step {last_saved}) is kept in {run_dir}"
                if last_saved
                else "no checkpoint had been saved"
            )
            raise TrainingDiverged(
                f"the loss became non-finite (nan or inf) at or before step {step}; training "
                f"stopped and {kept}; lower optim.lr, or check the data and any teacher or "
                "start weights"
            )

    with _StopFlag() as stop:
        try:
            k = cfg.train.accumulate
            batches = _batches(data, start, total, cfg.data.num_workers, k)
            for step in range(start + 1, total + 1):
                t_step = time.perf_counter()
                losses = _engine_step(method, ctx, batches, k, device, ema, nonfinite)
                steps_timed += 1
                busy += time.perf_counter() - t_step
                if step % cfg.train.log_every == 0 or step == total:
                    check_finite(step)
                    values = {k: all_reduce_mean(v, info).item() for k, v in losses.items()}
                    first_opt = next(iter(method.optimizers.values()))
                    values["lr"] = first_opt.param_groups[0]["lr"]
                    values["sec_per_step"] = busy / max(steps_timed, 1)
                    busy, steps_timed = 0.0, 0
                    last_logs = values
                    if logger:
                        logger.log(step, values)
                    if bar:
                        bar.set(loss=f"{values['loss']:.4f}")
                if validation_set and (step % cfg.train.val_every == 0 or step == total):
                    if info.is_main:
                        with ema.swapped_in() if ema else contextlib.nullcontext():
                            val_logs = validate(method, cfg, device)
                        last_logs.update(val_logs)
                        if logger:
                            logger.log(step, val_logs)
                    barrier(info)
                if step % cfg.train.ckpt_every == 0 or step == total:
                    check_finite(step)
                    final, last_saved = save(step), step
                if bar:
                    bar.update(1)
                if stop.requested and step < total:
                    check_finite(step)
                    final = save(step)
                    raise Interrupted(
                        f"stopped at step {step}; checkpoint saved in {run_dir}; continue with "
                        f"`srdistill train {run_dir} --resume`"
                    )
        finally:
            if bar:
                bar.close()
            if logger:
                logger.close()
    if info.is_main:
        write_json(run_dir / "status.json", {"state": "complete", "step": step, "total": total})
    return TrainResult(run_dir, step, final, last_logs)

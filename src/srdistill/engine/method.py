"""The contract between the engine and a training method (owned by the engine).

A method is any object with ``networks``, ``optimizers``, ``schedulers``, ``train_step``
and ``eval_networks`` (subclass ``Method`` for the helpers). The caller builds it: it
hands ``train`` a factory ``(cfg, ctx) -> Method``, which the engine calls right after
seeding, so every method under the same seed starts from the same random state. The
engine never imports a method.

The engine owns devices, precision, data, checkpointing, logging, validation, resume and
DDP; a method owns only what a step computes. It builds its networks through
``ctx.prepare`` (device placement and DDP wrapping happen there) and returns detached
loss tensors; the engine turns them into log lines.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from srdistill.engine.distributed import DistInfo, prepare_module
from srdistill.schema import METHOD_OPTIONS, OptimConfig, RunConfig, register_method_options


@dataclass
class TrainingContext:
    device: torch.device
    precision: str
    dist: DistInfo
    # (index, count) of the micro-batch being computed within one optimizer step; set by
    # the engine under train.accumulate, read by step_optimizer.
    micro: tuple[int, int] = (0, 1)
    # fp16: losses are scaled so small gradients survive the half-precision backward; the
    # engine updates the scale once per step and saves it with the training state.
    scaler: torch.amp.GradScaler | None = None

    def __post_init__(self) -> None:
        if self.precision == "fp16" and self.scaler is None:
            self.scaler = torch.amp.GradScaler(self.device.type)

    def prepare(self, module: nn.Module) -> nn.Module:
        return prepare_module(module, self.device, self.dist)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        if self.precision == "fp16":
            return torch.autocast(self.device.type, dtype=torch.float16)
        return contextlib.nullcontext()


class Method:
    """Base class of training methods (plain, self-distillation, mutual GAN).

    ``section`` names the config section that holds the method's own options (``options``
    returns it); everything else a method reads (model, scale, optimiser, steps) is shared
    by all methods. Sections of other methods are not the method's business: the caller
    reports them as ignored.
    """

    section: str | None = None
    name: str | None = None  # set by register_method

    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        self.cfg, self.ctx = cfg, ctx
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}

    @property
    def options(self):  # noqa: ANN201 (the section's own dataclass)
        """This method's own config section."""
        if self.section is None:
            raise AttributeError(f"{type(self).__name__} declares no config section")
        return getattr(self.cfg, self.section)

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must define train_step(lr, hr)")

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        """Name -> function mapping an LR batch to SR, used for validation."""
        raise NotImplementedError(f"{type(self).__name__} must define eval_networks()")

    def validation_metrics(self) -> list[str]:
        """Full-reference metrics (names in srdistill.metrics.METRICS) the engine scores
        every ``eval_networks`` entry with on ``data.val``, logged as ``val/<metric>_<net>``."""
        return ["psnr"]

    def deploy_networks(self) -> list[str]:
        """Names (keys of ``networks``) of the SR generators a user deploys, in member order.

        Recorded in run.json; deploy/ reads it instead of guessing file names. One name: a
        single model; several: a cohort whose members are chosen by index.
        """
        return ["model"]

    def notes(self) -> list[str]:
        """Caveats that must appear in every record and table of this run."""
        return []

    # Helpers shared by methods -------------------------------------------------------
    def add_optimizer(
        self, name: str, params: Iterable[nn.Parameter], lr: float | None = None
    ) -> torch.optim.Optimizer:
        opt = make_optimizer(params, self.cfg.optim, lr)
        self.optimizers[name] = opt
        self.schedulers[name] = make_scheduler(opt, self.cfg.optim, self.cfg.train.steps)
        return opt

    def step_optimizer(self, name: str, loss: torch.Tensor, params: Iterable[nn.Parameter]) -> None:
        """Backward and, on the last micro-batch of a step, clip and step. Under
        train.accumulate = k the engine runs train_step on k micro-batches; their gradients
        (each loss / k) add up to the gradient of the mean over all of them."""
        index, count = self.ctx.micro
        scaler = self.ctx.scaler
        opt = self.optimizers[name]
        if index == 0:
            opt.zero_grad(set_to_none=True)
        loss = loss / count if count > 1 else loss
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if index < count - 1:
            return
        if self.cfg.train.grad_clip:
            if scaler is not None:
                scaler.unscale_(opt)  # clip the true gradient, not the scaled one
            torch.nn.utils.clip_grad_norm_(list(params), self.cfg.train.grad_clip)
        if scaler is not None:
            scaler.step(opt)  # skipped when the scaled gradient overflowed
        else:
            opt.step()


METHODS: dict[str, type[Method]] = {}


def register_method(name: str, options: type, section: str | None = None):  # noqa: ANN201
    """Class decorator: ``cfg.method: <name>`` trains this Method; its options (a
    dataclass subclassing config.MethodOptions) are validated as config section
    ``section`` (default: ``name``). Built-in and user methods register the same way."""

    def register(cls: type[Method]) -> type[Method]:
        own = section or cls.section or name
        register_method_options(name, own, options)
        cls.section, cls.name = own, name
        METHODS[name] = cls
        return cls

    return register


def registered_name(cls: type) -> str | None:
    """The name a Method class is registered under (None: it is not registered)."""
    return next((n for n, c in METHODS.items() if c is cls), None)


def method_section(name: str) -> str:
    """The config section of registered method ``name``."""
    return METHOD_OPTIONS[name].section


def make_optimizer(
    params: Iterable[nn.Parameter], cfg: OptimConfig, lr: float | None = None
) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        params, lr=lr or cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay
    )


def lr_factor(step: int, cfg: OptimConfig, total_steps: int) -> float:
    """Multiplier of the base learning rate used for training step ``step + 1``.

    A pure function of the step, so a resumed run follows the same curve bit for bit.
    """
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "cosine":
        span = max((cfg.cosine_steps or total_steps) - cfg.warmup_steps, 1)
        progress = min((step - cfg.warmup_steps) / span, 1.0)
        floor = cfg.min_lr / cfg.lr
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.gamma ** sum(1 for m in cfg.milestones if step >= m)


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    if cfg.schedule == "step" and cfg.warmup_steps == 0:
        # Kept as MultiStepLR so checkpoints of earlier runs resume unchanged.
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=cfg.milestones, gamma=cfg.gamma)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, cfg, total_steps))

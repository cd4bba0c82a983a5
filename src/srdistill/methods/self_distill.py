"""Paper A: self-distillation of a multi-exit SRResNet (exits learn from the center)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext, register_method
from srdistill.errors import ConfigError
from srdistill.losses import self_distillation_loss
from srdistill.losses.pixel import PIXEL_LOSSES
from srdistill.models import build_generator, describe
from srdistill.models.registry import spec_summary
from srdistill.schema import (
    MODEL_OPTIONS,
    MethodOptions,
    RunConfig,
    check_non_negative,
    choices,
    is_multi_exit,
)


@dataclass
class SelfDistillOptions(MethodOptions):
    """Paper A: L = L(center, HR) + sum_k w_k [alpha L(exit, HR) + (1-alpha) L(exit, center)]."""

    alpha: float = 0.9
    # Weight per side exit, keyed by the exit's block ({8: 1.0, 16: 0.5}); a list is read in
    # the order of model.exits. None -> all 1.
    exit_weights: dict[int, float] | list[float] | None = None
    loss: str = field(default="l1", metadata=choices(*PIXEL_LOSSES))  # the pixel (HR) term
    # The exit-to-center term; None -> the same kind as ``loss``.
    distill_loss: str | None = field(default=None, metadata=choices(*PIXEL_LOSSES))
    detach_center: bool = False  # True: the center is a fixed teacher for the exits
    feature_weight: float = 0.0  # L2 between exit and center trunk features (BYOT), off
    # Warm start: a trained plain network (run folder or .safetensors) of the center's
    # architecture and size is copied into head, body and the center's reconstruction head.
    init_from: str | None = None
    # What a side exit's reconstruction head starts from under init_from: a copy of the
    # teacher's ("teacher") or the fresh initialisation of the seed ("fresh").
    exit_init: str = field(default="teacher", metadata=choices("teacher", "fresh"))

    def check(self, cfg: RunConfig, active: bool) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError("self_distill.alpha must lie in [0, 1]")
        check_non_negative("self_distill.feature_weight", self.feature_weight)
        weights = self.exit_weights
        values = list(weights.values()) if isinstance(weights, dict) else list(weights or [])
        if any(not math.isfinite(w) or w < 0 for w in values):
            raise ConfigError("self_distill.exit_weights must be finite numbers >= 0")
        if not active:
            return
        if not is_multi_exit(cfg):
            multi = [a for a, e in MODEL_OPTIONS.items() if e.multi_exit]
            raise ConfigError(
                f"method self_distill needs model.arch: {multi[0]} or another multi-exit "
                f"architecture ({', '.join(multi[1:]) or 'none registered'})"
            )
        exits = cfg.model.exits
        if isinstance(weights, list) and len(weights) != len(exits):
            raise ConfigError("self_distill.exit_weights needs one weight per exit in model.exits")
        if isinstance(weights, dict) and set(weights) != set(exits):
            raise ConfigError(
                f"self_distill.exit_weights names exits {sorted(weights)} but model.exits "
                f"is {sorted(exits)}; give one weight per exit"
            )


@register_method("self_distill", SelfDistillOptions)
class SelfDistillMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        net = build_generator(cfg.scale, cfg.model)
        if cfg.self_distill.init_from:
            warm_start(net, cfg.self_distill.init_from, cfg.self_distill.exit_init)
        self.model = ctx.prepare(net)
        self.networks["model"] = self.model
        self.add_optimizer("model", self.model.parameters())

    @property
    def exit_weights(self) -> dict[int, float]:
        weights = self.options.exit_weights
        if isinstance(weights, list):  # read in the order the user wrote model.exits
            return dict(zip(self.cfg.model.exits, weights, strict=True))
        return dict(weights or {})

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        sd = self.options
        want_features = sd.feature_weight > 0
        with self.ctx.autocast():
            out = self.model(lr, return_features=want_features)
        outputs, features = out if want_features else (out, None)
        parts = self_distillation_loss(
            outputs,
            hr,
            unwrap(self.model).num_blocks,
            alpha=sd.alpha,
            exit_weights=self.exit_weights,
            kind=sd.loss,
            distill_kind=sd.distill_loss,
            detach_center=sd.detach_center,
            features=features,
            feature_weight=sd.feature_weight,
        )
        self.step_optimizer("model", parts["loss"], self.model.parameters())
        return {k: v.detach() for k, v in parts.items()}

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        net = unwrap(self.model)
        return {f"exit{k}": partial(net.forward_exit, exit_block=k) for k in net.exit_blocks}


def warm_start(net: nn.Module, source: str, exit_init: str = "teacher") -> None:
    """Copy a trained plain network of the center's architecture and size into ``net``.

    Head, body and the center's reconstruction head come from the source; each side exit's
    reconstruction head is a copy of the source's (``exit_init="teacher"``) or keeps its
    fresh initialisation (``"fresh"``).
    """
    from srdistill.deploy.loading import load_sr_model

    teacher = load_sr_model(source, scale=net.scale).full
    if getattr(teacher, "spec", dict)() != net.base:
        center = net.extract_exit(net.num_blocks)
        raise ConfigError(
            f"self_distill.init_from {source} holds a {describe(teacher)}; a warm start "
            f"needs a plain {describe(center)} ({spec_summary(net.base)})"
        )
    state = teacher.state_dict()
    own = net.state_dict()
    targets = [str(net.num_blocks)] + (
        [str(k) for k in net.side_exits] if exit_init == "teacher" else []
    )
    for key, value in state.items():
        if key.startswith("recon."):
            for k in targets:
                own[f"exits.{k}.{key[len('recon.') :]}"] = value.clone()
        else:
            own[key] = value.clone()
    net.load_state_dict(own, strict=True)

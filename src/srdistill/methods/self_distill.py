"""Paper A: self-distillation of a multi-exit SRResNet (exits learn from the center)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from srdistill.config import RunConfig
from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext
from srdistill.errors import ConfigError
from srdistill.losses import self_distillation_loss
from srdistill.models import MultiExitSRResNet, SRResNet


class SelfDistillMethod(Method):
    section = "self_distill"

    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        m = cfg.model
        net = MultiExitSRResNet(cfg.scale, m.num_blocks, m.exits, m.num_features, m.bicubic_skip)
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
            self.cfg.model.num_blocks,
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


def warm_start(net: MultiExitSRResNet, source: str, exit_init: str = "teacher") -> None:
    """Copy a trained plain SRResNet of the center's size into ``net``.

    Head, body and the center's reconstruction head come from the source; each side exit's
    reconstruction head is a copy of the source's (``exit_init="teacher"``) or keeps its
    fresh initialisation (``"fresh"``).
    """
    from srdistill.deploy.loading import load_sr_model

    teacher = load_sr_model(source, scale=net.scale).full
    have = (teacher.num_blocks, teacher.num_features, getattr(teacher, "bicubic_skip", False))
    if not isinstance(teacher, SRResNet) or have != (
        net.num_blocks,
        net.num_features,
        net.bicubic_skip,
    ):
        got = f"{type(teacher).__name__}-{teacher.num_blocks}x{teacher.num_features}"
        raise ConfigError(
            f"self_distill.init_from {source} holds a {got}; a warm start needs a plain "
            f"SRResNet-{net.num_blocks} with {net.num_features} features"
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

"""Paper A: self-distillation of a multi-exit SRResNet (exits learn from the center)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from srdistill.config import RunConfig
from srdistill.engine.checkpoint import unwrap
from srdistill.losses import self_distillation_loss
from srdistill.methods.base import Method, TrainingContext
from srdistill.models import MultiExitSRResNet


class SelfDistillMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        m = cfg.model
        net = MultiExitSRResNet(cfg.scale, m.num_blocks, m.exits, m.num_features)
        self.model = ctx.prepare(net)
        self.networks["model"] = self.model
        self.add_optimizer("model", self.model.parameters())

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        sd = self.cfg.self_distill
        want_features = sd.feature_weight > 0
        with self.ctx.autocast():
            out = self.model(lr, return_features=want_features)
        outputs, features = out if want_features else (out, None)
        parts = self_distillation_loss(
            outputs,
            hr,
            self.cfg.model.num_blocks,
            alpha=sd.alpha,
            exit_weights=sd.exit_weights,
            kind=sd.loss,
            detach_center=sd.detach_center,
            features=features,
            feature_weight=sd.feature_weight,
        )
        self.step_optimizer("model", parts["loss"], self.model.parameters())
        return {k: v.detach() for k, v in parts.items()}

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        net = unwrap(self.model)
        return {f"exit{k}": partial(net.forward_exit, exit_block=k) for k in net.exit_blocks}

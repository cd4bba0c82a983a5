"""Plain supervised training of one SRResNet with a pixel loss (the baseline)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from srdistill.config import RunConfig
from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext
from srdistill.losses import pixel_loss
from srdistill.methods.starts import start_from_deeper
from srdistill.models import SRResNet


class PlainMethod(Method):
    section = "plain"

    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        m = cfg.model
        net = SRResNet(cfg.scale, m.num_blocks, m.num_features, m.bicubic_skip)
        if self.options.init_from:
            start_from_deeper(net, self.options.init_from, "plain.init_from")
        self.model = ctx.prepare(net)
        self.networks["model"] = self.model
        self.add_optimizer("model", self.model.parameters())

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        with self.ctx.autocast():
            sr = self.model(lr)
        loss = pixel_loss(self.options.loss, sr, hr)
        self.step_optimizer("model", loss, self.model.parameters())
        return {"loss": loss.detach()}

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        return {"model": unwrap(self.model)}

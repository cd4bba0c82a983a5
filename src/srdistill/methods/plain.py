"""Plain supervised training of one SRResNet with a pixel loss (the baseline)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext, register_method
from srdistill.losses import pixel_loss
from srdistill.losses.pixel import PIXEL_LOSSES
from srdistill.methods.starts import start_from_deeper
from srdistill.models import build_generator
from srdistill.schema import MethodOptions, RunConfig, choices, require_single_output


@dataclass
class PlainOptions(MethodOptions):
    """Method ``plain``: one network trained by a pixel loss against HR."""

    loss: str = field(default="l1", metadata=choices(*PIXEL_LOSSES))
    # Run folder or .safetensors of a trained network of the same architecture: the network
    # starts as its head, first blocks and reconstruction (deeper source) or as its first
    # channels (wider source, where the architecture allows width slicing).
    init_from: str | None = None

    def check(self, cfg: RunConfig, active: bool) -> None:
        if active:
            require_single_output(cfg)


@register_method("plain", PlainOptions)
class PlainMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        net = build_generator(cfg.scale, cfg.model)
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

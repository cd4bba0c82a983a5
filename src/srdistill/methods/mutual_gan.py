"""Paper B: a cohort of SRGANs whose discriminators distil from each other.

One step, for a cohort of K members (generator G_i, discriminator D_i each):
1. every generator super-resolves the batch: SR_i = G_i(LR);
2. every discriminator scores the real batch and the fakes; its loss is the standard
   real/fake BCE plus, in `ml`/`ml_soft` mode, ml_weight * KL toward its peers' (detached)
   probabilities on each peer's own fakes (peer_images: own, paper B's text; `same`: on
   member i's fakes); in `confidence` modes the KL goes to a fixed Bernoulli(0.5) instead
   (the control). By default all discriminators are scored before any is updated
   (simultaneous, members symmetric); update_order: sequential follows DML's algorithm;
3. every generator minimises its content loss + adv_weight * -log D_i(SR_i); the content
   loss is SRGAN's (MSE of VGG19 features scaled by 1/12.75, ``content_loss: vgg``),
   SRGAN-MSE's pixel MSE on [-1, 1] images (``pixel_mse``) or pixel L1 (``l1``).
The three modes share seeds and data order, so independent/ml/ml_soft differ only in the
distillation term.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from srdistill.engine.checkpoint import load_module, unwrap
from srdistill.engine.method import Method, TrainingContext, register_method
from srdistill.errors import CheckpointError, ConfigError
from srdistill.losses.mutual import (
    adversarial_loss,
    confidence_loss,
    discriminator_loss,
    mutual_loss,
)
from srdistill.losses.perceptual import content_loss, pixel_mse_loss
from srdistill.models import Discriminator, build_generator, describe, has_exits
from srdistill.models.registry import spec_summary
from srdistill.models.vgg import STAND_IN_NOTE, build_vgg19_features
from srdistill.schema import (
    MethodOptions,
    RunConfig,
    check_non_negative,
    check_positive,
    check_range,
    choices,
    require_single_output,
)

MUTUAL_MODES = ("independent", "ml", "ml_soft", "confidence", "confidence_soft")


@dataclass
class MutualOptions(MethodOptions):
    """Paper B: a cohort of SRGANs whose discriminators distil from each other."""

    members: int = 2
    # independent | ml (KL to peers) | ml_soft (ML*, softened by temperature) | confidence /
    # confidence_soft: the control, KL to a fixed Bernoulli(0.5) instead of a peer
    mode: str = field(default="ml", metadata=choices(*MUTUAL_MODES))
    temperature: float = 2.0  # used by the _soft modes
    ml_weight: float = 1.0  # weight of the KL term (peer or control)
    # Which fakes a peer scores for member i's KL: its own generator's ("own", paper B's
    # text) or member i's ("same").
    peer_images: str = field(default="own", metadata=choices("same", "own"))
    # simultaneous: every discriminator is scored before any is updated; sequential: member
    # by member, each against its peers' current weights (Deep Mutual Learning's algorithm)
    update_order: str = field(
        default="simultaneous", metadata=choices("simultaneous", "sequential")
    )
    adv_weight: float = 1e-3
    # The generators' content term: vgg (SRGAN's VGG19 feature MSE), pixel_mse (SRGAN-MSE:
    # pixel MSE on images scaled to [-1, 1], as Ledig et al. compute it) or l1 (pixel L1).
    content_loss: str = field(default="vgg", metadata=choices("vgg", "pixel_mse", "l1"))
    content_layer: str = "relu5_4"
    content_scale: float = 1 / 12.75  # VGG features are scaled by this before the MSE (SRGAN)
    vgg_weights: str | None = None  # path, or "random" for the explicit stand-in
    init_from: str | None = None  # pixel-loss-trained generator checkpoint (same architecture)
    disc_features: int = 64
    disc_lr: float | None = None  # None -> optim.lr

    def check(self, cfg: RunConfig, active: bool) -> None:
        check_range("mutual.members", self.members, 1, 64)
        check_range("mutual.disc_features", self.disc_features, 1, 4096)
        check_positive("mutual.temperature", self.temperature)
        if self.disc_lr is not None:
            check_positive("mutual.disc_lr", self.disc_lr)
        for key in ("ml_weight", "adv_weight", "content_scale"):
            check_non_negative(f"mutual.{key}", getattr(self, key))
        if not active:
            return
        require_single_output(cfg)
        if self.mode.startswith("ml") and self.members < 2:
            raise ConfigError(
                f"mutual.mode {self.mode} needs at least 2 members (a peer to learn from); "
                "use mode confidence for a single SRGAN"
            )


def load_generator_init(path: str, cfg: RunConfig) -> dict[str, torch.Tensor]:
    """Weights of a pixel-loss-trained generator to start from (SRGAN practice): the
    network ``model:`` describes, or a multi-exit one whose center it is."""
    from srdistill.deploy.loading import find_weights

    net = load_module(find_weights(path))
    if has_exits(net):
        net = net.extract_exit(net.num_blocks)
    with torch.device("meta"):
        wanted = build_generator(cfg.scale, cfg.model)
    if getattr(net, "spec", dict)() != wanted.spec():
        raise CheckpointError(
            f"mutual.init_from {path} is a {describe(net)}, but the generators are "
            f"{describe(wanted)} ({spec_summary(wanted.spec())}); train a matching generator "
            "first (method: plain)"
        )
    return net.state_dict()


@register_method("mutual_gan", MutualOptions, section="mutual")
class MutualGANMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        mc = cfg.mutual
        init = load_generator_init(mc.init_from, cfg) if mc.init_from else None
        self.generators, self.discriminators = [], []
        for i in range(mc.members):
            g = build_generator(cfg.scale, cfg.model)
            if init is not None:
                g.load_state_dict(init)
            d = Discriminator(mc.disc_features)
            g, d = ctx.prepare(g), ctx.prepare(d)
            self.generators.append(g)
            self.discriminators.append(d)
            self.networks[f"generator_{i}"] = g
            self.networks[f"discriminator_{i}"] = d
            self.add_optimizer(f"generator_{i}", g.parameters())
            self.add_optimizer(f"discriminator_{i}", d.parameters(), mc.disc_lr)
        self.vgg, self.real_vgg = None, True
        if mc.content_loss == "vgg":  # the pixel losses need no feature network
            vgg, self.real_vgg = build_vgg19_features(mc.content_layer, mc.vgg_weights)
            self.vgg = vgg.to(ctx.device)

    def notes(self) -> list[str]:
        return [] if self.real_vgg else [STAND_IN_NOTE]

    def _content(self, sr: torch.Tensor, hr: torch.Tensor, hr_features: torch.Tensor | None):  # noqa: ANN202
        mc = self.options
        if mc.content_loss == "pixel_mse":
            return pixel_mse_loss(sr, hr)
        if mc.content_loss == "l1":
            return F.l1_loss(sr.float(), hr.float())
        return content_loss(self.vgg(sr), hr_features, mc.content_scale)

    @property
    def temperature(self) -> float:
        return self.options.temperature if self.options.mode.endswith("_soft") else 1.0

    def _peer_target(self, i: int, j: int, fakes: list[torch.Tensor]) -> torch.Tensor:
        """The fakes peer j scores for member i's KL: i's (``same``) or j's own (``own``)."""
        return fakes[i] if self.options.peer_images == "same" else fakes[j]

    def _discriminator_loss(
        self,
        i: int,
        real: torch.Tensor,
        fake: torch.Tensor,
        peer_real: list[torch.Tensor],
        peer_fake: list[torch.Tensor],
        out: dict[str, torch.Tensor],
    ) -> torch.Tensor:
        mc = self.options
        loss = discriminator_loss(real, fake)
        out[f"d{i}_gan"] = loss.detach()
        if mc.mode in ("ml", "ml_soft") and peer_real:
            extra = mutual_loss(real, fake, peer_real, peer_fake, self.temperature)
        elif mc.mode in ("confidence", "confidence_soft"):
            extra = confidence_loss(real, fake, self.temperature)
        else:
            return loss
        out[f"d{i}_{'ml' if mc.mode.startswith('ml') else 'conf'}"] = extra.detach()
        return loss + mc.ml_weight * extra

    def _update_discriminators(
        self, hr: torch.Tensor, fakes: list[torch.Tensor], out: dict[str, torch.Tensor]
    ) -> list[torch.Tensor]:
        mc = self.options
        k = len(self.discriminators)
        peers_needed = mc.mode in ("ml", "ml_soft") and k > 1
        losses = []
        if mc.update_order == "sequential":
            # DML's order: member i is updated against its peers' current discriminators,
            # which include the members already updated in this step.
            for i, d in enumerate(self.discriminators):
                with self.ctx.autocast():
                    real, fake = d(hr), d(fakes[i])
                    peer_real, peer_fake = [], []
                    if peers_needed:
                        with torch.no_grad():
                            for j in (j for j in range(k) if j != i):
                                peer_real.append(self.discriminators[j](hr))
                                peer_fake.append(
                                    self.discriminators[j](self._peer_target(i, j, fakes))
                                )
                loss = self._discriminator_loss(i, real, fake, peer_real, peer_fake, out)
                self.step_optimizer(f"discriminator_{i}", loss, d.parameters())
                losses.append(loss)
            return losses
        # Simultaneous: every discriminator is scored before any is updated (symmetric).
        real: list[torch.Tensor] = []
        fake: list[dict[int, torch.Tensor]] = []
        score_all = peers_needed and mc.peer_images == "same"
        for j, d in enumerate(self.discriminators):
            with self.ctx.autocast():
                real.append(d(hr))
                fake.append({i: d(fakes[i]) for i in range(k) if score_all or i == j})
        for i in range(k):
            peers = [j for j in range(k) if j != i] if peers_needed else []
            peer_fake = [fake[j][i if score_all else j] for j in peers]
            losses.append(
                self._discriminator_loss(
                    i, real[i], fake[i][i], [real[j] for j in peers], peer_fake, out
                )
            )
        for i in range(k):
            self.step_optimizer(
                f"discriminator_{i}", losses[i], self.discriminators[i].parameters()
            )
        return losses

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        mc = self.options
        k = len(self.generators)
        with self.ctx.autocast():
            srs = [g(lr) for g in self.generators]
        out: dict[str, torch.Tensor] = {}
        d_losses = self._update_discriminators(hr, [sr.detach() for sr in srs], out)
        # Generators: content + adversarial against their own (just updated) discriminator.
        hr_features = None
        if self.vgg is not None:
            with torch.no_grad(), self.ctx.autocast():
                hr_features = self.vgg(hr)
        total = torch.zeros((), device=lr.device)
        for i, (g, d, sr) in enumerate(zip(self.generators, self.discriminators, srs, strict=True)):
            d.requires_grad_(False)
            with self.ctx.autocast():
                content = self._content(sr, hr, hr_features)
                adv = adversarial_loss(d(sr))
            loss = content + mc.adv_weight * adv
            self.step_optimizer(f"generator_{i}", loss, g.parameters())
            d.requires_grad_(True)
            out[f"g{i}_content"], out[f"g{i}_adv"] = content.detach(), adv.detach()
            out[f"g{i}_pixel"] = F.l1_loss(sr.detach().float(), hr)
            total = total + loss.detach() + d_losses[i].detach()
        out["loss"] = total / k
        return out

    def deploy_networks(self) -> list[str]:
        return [f"generator_{i}" for i in range(len(self.generators))]

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        return {f"member{i}": unwrap(g) for i, g in enumerate(self.generators)}

"""Paper B: a cohort of SRGANs whose discriminators distil from each other.

One step, for a cohort of K members (generator G_i, discriminator D_i each):
1. every generator super-resolves the batch: SR_i = G_i(LR);
2. every discriminator scores the real batch and the fakes; its loss is the standard
   real/fake BCE plus, in `ml`/`ml_soft` mode, ml_weight * KL toward its peers' (detached)
   probabilities on the same images (or, with peer_images: own, on each peer's own fakes);
   all discriminators are scored before any is updated, so members are symmetric;
3. every generator minimises VGG19 content MSE + adv_weight * -log D_i(SR_i).
The three modes share seeds and data order, so independent/ml/ml_soft differ only in the
distillation term.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from srdistill.config import RunConfig
from srdistill.engine.checkpoint import load_module, unwrap
from srdistill.errors import CheckpointError
from srdistill.losses.mutual import adversarial_loss, discriminator_loss, mutual_loss
from srdistill.methods.base import Method, TrainingContext
from srdistill.models import Discriminator, MultiExitSRResNet, SRResNet
from srdistill.models.vgg import STAND_IN_NOTE, build_vgg19_features


def load_generator_init(path: str, cfg: RunConfig) -> dict[str, torch.Tensor]:
    """Weights of a pixel-loss-trained SRResNet to start generators from (SRGAN practice)."""
    from srdistill.deploy.loading import find_weights

    net = load_module(find_weights(path))
    if isinstance(net, MultiExitSRResNet):
        net = net.extract_exit(net.num_blocks)
    m = cfg.model
    if not isinstance(net, SRResNet) or (net.scale, net.num_blocks, net.num_features) != (
        cfg.scale,
        m.num_blocks,
        m.num_features,
    ):
        got = getattr(net, "spec", lambda: {})()
        raise CheckpointError(
            f"mutual.init_from {path} is {got}, but the generators are SRResNet x{cfg.scale} "
            f"with {m.num_blocks} blocks of {m.num_features} features; train a matching "
            "SRResNet first (method: plain)"
        )
    return net.state_dict()


class MutualGANMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        mc, m = cfg.mutual, cfg.model
        init = load_generator_init(mc.init_from, cfg) if mc.init_from else None
        self.generators, self.discriminators = [], []
        for i in range(mc.members):
            g = SRResNet(cfg.scale, m.num_blocks, m.num_features)
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
        vgg, self.real_vgg = build_vgg19_features(mc.content_layer, mc.vgg_weights)
        self.vgg = vgg.to(ctx.device)

    def notes(self) -> list[str]:
        return [] if self.real_vgg else [STAND_IN_NOTE]

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        mc = self.cfg.mutual
        k = len(self.generators)
        with self.ctx.autocast():
            srs = [g(lr) for g in self.generators]
        fakes = [sr.detach() for sr in srs]
        # Every discriminator scores HR and its own fakes; for "same" peers it also scores
        # the other members' fakes, which become their peers' distillation targets.
        distil = mc.mode != "independent" and k > 1
        score_all = distil and mc.peer_images == "same"
        real: list[torch.Tensor] = []
        fake: list[dict[int, torch.Tensor]] = []
        for j, d in enumerate(self.discriminators):
            with self.ctx.autocast():
                real.append(d(hr))
                fake.append({i: d(fakes[i]) for i in range(k) if score_all or i == j})
        out: dict[str, torch.Tensor] = {}
        total = torch.zeros((), device=lr.device)
        d_losses = []
        for i in range(k):
            loss = discriminator_loss(real[i], fake[i][i])
            out[f"d{i}_gan"] = loss.detach()
            if distil:
                t = mc.temperature if mc.mode == "ml_soft" else 1.0
                peers = [j for j in range(k) if j != i]
                peer_fake = [fake[j][i if score_all else j] for j in peers]
                ml = mutual_loss(real[i], fake[i][i], [real[j] for j in peers], peer_fake, t)
                out[f"d{i}_ml"] = ml.detach()
                loss = loss + mc.ml_weight * ml
            d_losses.append(loss)
        for i in range(k):
            self.step_optimizer(
                f"discriminator_{i}", d_losses[i], self.discriminators[i].parameters()
            )
        # Generators: content + adversarial against their own (just updated) discriminator.
        with torch.no_grad(), self.ctx.autocast():
            hr_features = self.vgg(hr)
        for i, (g, d, sr) in enumerate(zip(self.generators, self.discriminators, srs, strict=True)):
            d.requires_grad_(False)
            with self.ctx.autocast():
                content = F.mse_loss(self.vgg(sr).float(), hr_features.float())
                adv = adversarial_loss(d(sr))
            loss = content + mc.adv_weight * adv
            self.step_optimizer(f"generator_{i}", loss, g.parameters())
            d.requires_grad_(True)
            out[f"g{i}_content"], out[f"g{i}_adv"] = content.detach(), adv.detach()
            out[f"g{i}_pixel"] = F.l1_loss(sr.detach().float(), hr)
            total = total + loss.detach() + d_losses[i].detach()
        out["loss"] = total / k
        return out

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        return {f"member{i}": unwrap(g) for i, g in enumerate(self.generators)}

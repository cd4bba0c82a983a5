"""Classic teacher-student KD: an SRResNet student learns from HR and a frozen teacher.

    L = L_pix(S(x), y) + output_weight * L_out(S(x), T(x))
        + feature_weight * sum_pairs L_feat(adapt(S_f(x)), T_f(x))

The teacher is loaded from a file, kept in eval mode and run under no_grad; it is not in
the optimizer and not checkpointed. The student is built first, from the run's seed, so its
initial weights equal those of a ``plain`` run with the same seed (paired arms).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from srdistill.config import RunConfig
from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext
from srdistill.errors import CheckpointError, ConfigError
from srdistill.losses import pixel_loss
from srdistill.losses.kd import fakd_loss, fitnets_loss, output_kd_loss
from srdistill.methods.starts import start_from_deeper
from srdistill.models import FeatureAdaptor, SRResNet
from srdistill.models.hooks import FeatureTap


def load_teacher(cfg: RunConfig, device: torch.device) -> SRResNet:
    """The frozen teacher named by ``kd.teacher``, checked against what the config declares."""
    from srdistill.deploy.loading import load_sr_model

    kd = cfg.kd
    try:
        loaded = load_sr_model(kd.teacher, device=device)
    except CheckpointError as exc:
        raise ConfigError(f"kd.teacher: {exc}") from None
    teacher = loaded.network
    if teacher.scale != cfg.scale:
        raise ConfigError(
            f"kd.teacher {kd.teacher} is a x{teacher.scale} model but this run is x{cfg.scale}"
        )
    declared = (kd.teacher_blocks, kd.teacher_features)
    actual = (teacher.num_blocks, teacher.num_features)
    for want, got, what in zip(declared, actual, ("blocks", "features"), strict=True):
        if want is not None and want != got:
            raise ConfigError(
                f"kd.teacher {kd.teacher} has {got} {what} but kd.teacher_{what} declares {want}"
            )
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval()


class KDMethod(Method):
    section = "kd"

    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        m, kd = cfg.model, cfg.kd
        student = SRResNet(
            cfg.scale, m.num_blocks, m.num_features, m.bicubic_skip
        )  # first: same init as plain
        self.teacher = load_teacher(cfg, ctx.device)
        if kd.init_from:
            start_from_deeper(student, kd.init_from, "kd.init_from")
        self.pairs: list[tuple[str, str]] = []
        self.adaptor: FeatureAdaptor | None = None
        if kd.feature != "none":
            pairs = kd.feature_pairs or [
                f"body.{student.num_blocks - 1}:body.{self.teacher.num_blocks - 1}"
            ]
            self.pairs = [tuple(p.split(":")) for p in pairs]  # type: ignore[misc]
            try:
                self.student_tap = FeatureTap(student, [s for s, _ in self.pairs])
                self.teacher_tap = FeatureTap(self.teacher, [t for _, t in self.pairs])
            except ValueError as exc:
                raise ConfigError(f"kd.feature_pairs: {exc}") from None
            if kd.feature == "fitnets":
                widths = [[student.num_features, self.teacher.num_features]] * len(self.pairs)
                if any(a != b for a, b in widths):
                    self.adaptor = ctx.prepare(FeatureAdaptor(widths))
                    self.networks["adaptor"] = self.adaptor
        self.model = ctx.prepare(student)
        self.networks = {"model": self.model, **self.networks}
        self.add_optimizer("model", self.trainable())

    def trainable(self) -> list[torch.nn.Parameter]:
        params = list(self.model.parameters())
        if self.adaptor is not None:
            params += list(self.adaptor.parameters())
        return params

    def losses(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every term of the KD loss for one batch (with graph), and their weighted sum."""
        kd = self.options
        with torch.no_grad():
            teacher_sr = self.teacher(lr)
        with self.ctx.autocast():
            sr = self.model(lr)
        parts = {"pixel": pixel_loss(kd.pixel_loss, sr, hr)}
        total = parts["pixel"]
        if kd.output_weight > 0:
            parts["output_kd"] = output_kd_loss(kd.output_loss, sr, teacher_sr)
            total = total + kd.output_weight * parts["output_kd"]
        for i, (s_name, t_name) in enumerate(self.pairs):
            s_feat = self.student_tap.features[s_name]
            t_feat = self.teacher_tap.features[t_name]
            if kd.feature == "fitnets":
                if self.adaptor is not None:
                    s_feat = self.adaptor(s_feat, i)
                term = fitnets_loss(s_feat, t_feat)
            else:
                term = fakd_loss(s_feat, t_feat)
            parts[f"{kd.feature}_{s_name}"] = term
            total = total + kd.feature_weight * term
        parts["loss"] = total
        return parts

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = self.losses(lr, hr)
        self.step_optimizer("model", parts["loss"], self.trainable())
        return {k: v.detach() for k, v in parts.items()}

    def eval_networks(self) -> dict[str, Callable[[torch.Tensor], torch.Tensor]]:
        return {"model": unwrap(self.model)}

"""Classic teacher-student KD: a student learns from HR and a frozen teacher (any
registered architectures: an IMDN student of an RCAN teacher is as valid as SRResNets).

    L = L_pix(S(x), y) + output_weight * L_out(S(x), T(x))
        + feature_weight * sum_pairs L_feat(adapt(S_f(x)), T_f(x))

The teacher is loaded from a file, kept in eval mode and run under no_grad; it is not in
the optimizer and not checkpointed. The student is built first, from the run's seed, so its
initial weights equal those of a ``plain`` run with the same seed (paired arms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from srdistill.engine.checkpoint import unwrap
from srdistill.engine.method import Method, TrainingContext, register_method
from srdistill.errors import CheckpointError, ConfigError
from srdistill.losses import pixel_loss
from srdistill.losses.kd import fakd_loss, fitnets_loss, output_kd_loss
from srdistill.losses.pixel import PIXEL_LOSSES
from srdistill.methods.starts import start_from_deeper
from srdistill.models import FeatureAdaptor, build_generator, depth_of
from srdistill.models.hooks import FeatureTap
from srdistill.schema import (
    MethodOptions,
    RunConfig,
    check_non_negative,
    choices,
    require_single_output,
)

FEATURE_KD = ("none", "fitnets", "fakd")


@dataclass
class KDOptions(MethodOptions):
    """Teacher-student KD: a student learns from the ground truth and a frozen teacher.

    L = L_pix(student, HR) + output_weight * L_out(student, teacher)
        + feature_weight * sum over feature_pairs of L_feat(student feat, teacher feat)
    """

    teacher: str | None = None  # run folder or .safetensors of a trained SR network
    teacher_blocks: int | None = None  # declared teacher depth; checked against the file
    teacher_features: int | None = None  # declared teacher width; checked against the file
    pixel_loss: str = field(default="l1", metadata=choices(*PIXEL_LOSSES))
    output_loss: str = field(default="l1", metadata=choices(*PIXEL_LOSSES))
    output_weight: float = 1.0  # DUKD uses 1:1
    # none | fitnets (L2 after a 1x1 adaptor when widths differ) | fakd (spatial affinity L1)
    feature: str = field(default="none", metadata=choices(*FEATURE_KD))
    feature_weight: float = 1.0
    # "student_module:teacher_module" pairs, module names as in named_modules(); empty ->
    # the last block output of each (the architectures' feature_taps()).
    feature_pairs: list[str] = field(default_factory=list)
    # As plain.init_from: the student starts as the head, first blocks and reconstruction
    # (or first channels) of this larger network of its architecture (usually the teacher).
    init_from: str | None = None

    SECTION: ClassVar[str] = "kd"  # the config section these options live in (errors name it)

    def check(self, cfg: RunConfig, active: bool) -> None:
        own = self.SECTION
        check_non_negative(f"{own}.output_weight", self.output_weight)
        check_non_negative(f"{own}.feature_weight", self.feature_weight)
        if not active:
            return
        if not self.teacher:
            raise ConfigError(
                f"method {own} needs {own}.teacher: a run folder or .safetensors of a teacher"
            )
        require_single_output(cfg)
        for pair in self.feature_pairs:
            if pair.count(":") != 1 or not all(pair.split(":")):
                raise ConfigError(
                    f"{own}.feature_pairs entry {pair!r} must look like "
                    "'student_module:teacher_module' (e.g. 'body.3:body.15')"
                )


def load_teacher(cfg: RunConfig, device: torch.device, kd: KDOptions | None = None) -> nn.Module:
    """The frozen teacher named by ``kd.teacher`` (``kd``: the method's options, default
    the ``kd`` section), checked against what the config declares."""
    from srdistill.deploy.loading import load_sr_model

    kd = kd or cfg.kd
    own = kd.SECTION
    try:
        loaded = load_sr_model(kd.teacher, device=device)
    except CheckpointError as exc:
        raise ConfigError(f"{own}.teacher: {exc}") from None
    teacher = loaded.network
    if teacher.scale != cfg.scale:
        raise ConfigError(
            f"{own}.teacher {kd.teacher} is a x{teacher.scale} model but this run is x{cfg.scale}"
        )
    declared = (kd.teacher_blocks, kd.teacher_features)
    actual = (depth_of(teacher), getattr(teacher, "num_features", None))
    for want, got, what in zip(declared, actual, ("blocks", "features"), strict=True):
        if want is not None and want != got:
            raise ConfigError(
                f"{own}.teacher {kd.teacher} has {got} {what} but {own}.teacher_{what} "
                f"declares {want}"
            )
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.eval()


@register_method("kd", KDOptions)
class KDMethod(Method):
    def __init__(self, cfg: RunConfig, ctx: TrainingContext) -> None:
        super().__init__(cfg, ctx)
        kd = self.options
        student = build_generator(cfg.scale, cfg.model)  # first: same init as plain
        self.teacher = load_teacher(cfg, ctx.device, kd)
        if kd.init_from:
            start_from_deeper(student, kd.init_from, f"{kd.SECTION}.init_from")
        self.pairs: list[tuple[str, str]] = []
        self.adaptor: FeatureAdaptor | None = None
        if kd.feature != "none":
            pairs = kd.feature_pairs or [f"{last_tap(student)}:{last_tap(self.teacher)}"]
            self.pairs = [tuple(p.split(":")) for p in pairs]  # type: ignore[misc]
            try:
                self.student_tap = FeatureTap(student, [s for s, _ in self.pairs])
                self.teacher_tap = FeatureTap(self.teacher, [t for _, t in self.pairs])
            except ValueError as exc:
                raise ConfigError(f"{kd.SECTION}.feature_pairs: {exc}") from None
            if kd.feature == "fitnets":
                widths = tapped_widths(student, self.teacher, self.pairs)
                if any(a != b for a, b in widths):
                    self.adaptor = ctx.prepare(FeatureAdaptor(widths))
                    self.networks["adaptor"] = self.adaptor
        self.model = ctx.prepare(student)
        self.networks = {"model": self.model, **self.networks}
        self.add_optimizer("model", self.trainable())

    def trainable(self) -> list[nn.Parameter]:
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


def last_tap(net: nn.Module) -> str:
    """The module whose output is the network's last block feature (default KD pair)."""
    taps = getattr(net, "feature_taps", None)
    if not callable(taps) or not taps():
        raise ConfigError(
            f"{type(net).__name__} declares no feature taps; name the modules in kd.feature_pairs"
        )
    return taps()[-1]


@torch.no_grad()
def tapped_widths(
    student: nn.Module, teacher: nn.Module, pairs: list[tuple[str, str]]
) -> list[list[int]]:
    """Channels of each tapped (student, teacher) feature, read from one tiny forward pass
    in eval mode (no batch-norm statistics move), so architectures need not declare them."""
    widths = []
    s_tap = FeatureTap(student, [s for s, _ in pairs])
    t_tap = FeatureTap(teacher, [t for _, t in pairs])
    was_training = student.training
    try:
        for net in (student, teacher):
            device = next(net.parameters()).device
            net.eval()(torch.zeros(1, 3, 8, 8, device=device))
        for s_name, t_name in pairs:
            widths.append([s_tap.features[s_name].shape[1], t_tap.features[t_name].shape[1]])
    finally:
        s_tap.remove()
        t_tap.remove()
        student.train(was_training)
    return widths

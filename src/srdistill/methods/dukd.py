"""DUKD (Zhang et al. 2023, "Data Upcycling Knowledge Distillation for Image SR"):
output KD plus teacher labels on inputs made from the training pair itself.

    step 1   L_pix(S(x), y) + output_weight * L_out(S(x), T(x))      (as method kd)
    step 2   upcycle_weight * (
               L_out(S(z), T(z))            zoom-in: z = HR sub-patches of the LR patch's
                                            size, an in-domain input whose label only the
                                            teacher can give
             + L_pix(S(x/s), x) + L_out(S(x/s), T(x/s))   zoom-out: x/s = LR bicubic-
                                            downscaled by the scale (optional)
             )

Label consistency: each zoom-in input is, with probability ``consistency_prob`` per
operation, colour-inverted, flipped along either axis and transposed before the student
sees it, and the student's output is mapped back by the inverse before it is compared with
the teacher's label of the untouched input. The inverse applies the operations in reverse
order: the authors' release applies them in the same order, which for a flip together
with a transpose is a 180-degree rotation rather than the identity.

As the authors' release, the two losses are two optimizer updates per iteration
(``separate_steps``); ``separate_steps: false`` sums them into one update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from srdistill.engine.method import register_method
from srdistill.errors import ConfigError
from srdistill.losses import pixel_loss
from srdistill.losses.kd import output_kd_loss
from srdistill.methods.kd import KDMethod, KDOptions
from srdistill.ops.imresize import imresize
from srdistill.schema import RunConfig, check_non_negative, check_range


@dataclass
class DUKDOptions(KDOptions):
    """Method ``dukd``: output KD plus teacher labels on zoomed-in and zoomed-out inputs.

    Every option of method kd (teacher, losses, weights, feature KD, init_from) plus:
    """

    SECTION: ClassVar[str] = "dukd"

    zoom_in_patches: int = 1  # HR sub-patches (of the LR patch's size) per training image
    zoom_out: bool = True  # also LR downscaled by the scale, labelled by LR and the teacher
    consistency_prob: float = 0.3  # probability of each invertible operation (0: none)
    upcycle_weight: float = 1.0
    separate_steps: bool = True  # two optimizer updates per iteration, as the authors'

    def check(self, cfg: RunConfig, active: bool) -> None:
        super().check(cfg, active)
        check_non_negative("dukd.upcycle_weight", self.upcycle_weight)
        check_range("dukd.consistency_prob", self.consistency_prob, 0.0, 1.0)
        if not 1 <= self.zoom_in_patches <= cfg.scale**2:
            raise ConfigError(
                f"dukd.zoom_in_patches must be 1 to {cfg.scale**2} (the LR-sized tiles of an "
                f"x{cfg.scale} HR patch), got {self.zoom_in_patches}"
            )
        if not active or not self.separate_steps:
            return
        if cfg.train.accumulate > 1 or cfg.train.precision == "fp16":
            what = "train.accumulate > 1" if cfg.train.accumulate > 1 else "fp16"
            raise ConfigError(
                f"dukd.separate_steps (two updates per iteration) does not combine with {what}; "
                "set dukd.separate_steps=false to take both losses in one update"
            )


# The invertible operations of label consistency, in the order they are applied.
_OPERATIONS = ("invert", "flip_h", "flip_w", "transpose")


def _apply(x: torch.Tensor, op: str) -> torch.Tensor:
    if op == "invert":
        return 1.0 - x
    if op == "flip_h":
        return x.flip(-2)
    if op == "flip_w":
        return x.flip(-1)
    return x.transpose(-2, -1)


def augment(x: torch.Tensor, chosen: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Apply (``inverse``: undo) the operations marked in ``chosen`` (N x 4 booleans, one
    row per image of ``x``), each image its own; every operation is its own inverse, so
    undoing is applying them in reverse order."""
    order = list(enumerate(_OPERATIONS))
    out = list(x.unbind(0))
    for i in range(len(out)):
        for k, op in reversed(order) if inverse else order:
            if chosen[i, k]:
                out[i] = _apply(out[i], op)
    return torch.stack(out)


def zoom_in_tiles(hr: torch.Tensor, tile: int, scale: int, count: int) -> torch.Tensor:
    """``count`` distinct tiles of ``tile`` px from the scale x scale grid of each HR patch
    (the same grid cells for the whole batch), stacked along the batch."""
    tiles = []
    for cell in torch.randperm(scale * scale)[:count].tolist():
        row, col = divmod(cell, scale)
        tiles.append(hr[..., row * tile : (row + 1) * tile, col * tile : (col + 1) * tile])
    return torch.cat(tiles)


@register_method("dukd", DUKDOptions, section="dukd")
class DUKDMethod(KDMethod):
    def upcycled_losses(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step 2's terms (with graph) and their weighted sum ``upcycled``."""
        du = self.options
        tiles = zoom_in_tiles(hr, lr.shape[-1], self.cfg.scale, du.zoom_in_patches)
        with torch.no_grad():
            label = self.teacher(tiles)
        chosen = torch.rand(tiles.shape[0], len(_OPERATIONS)) < du.consistency_prob
        with self.ctx.autocast():
            sr = augment(self.model(augment(tiles, chosen)), chosen, inverse=True)
        parts = {"zoom_in_kd": output_kd_loss(du.output_loss, sr, label)}
        total = parts["zoom_in_kd"]
        if du.zoom_out:
            small = imresize(lr, 1 / self.cfg.scale)
            with torch.no_grad():
                small_label = self.teacher(small)
            with self.ctx.autocast():
                small_sr = self.model(small)
            parts["zoom_out_pixel"] = pixel_loss(du.pixel_loss, small_sr, lr)
            parts["zoom_out_kd"] = output_kd_loss(du.output_loss, small_sr, small_label)
            total = total + parts["zoom_out_pixel"] + parts["zoom_out_kd"]
        parts["upcycled"] = du.upcycle_weight * total
        return parts

    def train_step(self, lr: torch.Tensor, hr: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = self.losses(lr, hr)
        if self.options.separate_steps:
            self.step_optimizer("model", parts["loss"], self.trainable())
            parts.update(self.upcycled_losses(lr, hr))
            self.step_optimizer("model", parts["upcycled"], self.trainable())
        else:
            parts.update(self.upcycled_losses(lr, hr))
            self.step_optimizer("model", parts["loss"] + parts["upcycled"], self.trainable())
        return {k: v.detach() for k, v in parts.items()}

"""Paper A's self-distillation loss for a multi-exit SRResNet.

    L = L(center, HR) + sum_k w_k [alpha L(exit_k, HR) + (1 - alpha) L(exit_k, center)]

alpha = 0.9 gives the paper's 9:1 pixel:distillation ratio. By default the distillation
gradient reaches the center too ("trained to produce SR images close to each other");
``detach_center`` makes the center a fixed target. An optional BYOT-style feature term
adds feature_weight * ||f_k - f_center||^2.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from srdistill.losses.pixel import pixel_loss


def self_distillation_loss(
    outputs: dict[int, torch.Tensor],
    hr: torch.Tensor,
    center: int,
    *,
    alpha: float = 0.9,
    exit_weights: Mapping[int, float] | None = None,
    kind: str = "l1",
    distill_kind: str | None = None,
    detach_center: bool = False,
    features: dict[int, torch.Tensor] | None = None,
    feature_weight: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Total loss and its parts (keys: loss, center, exit{k}_pixel, exit{k}_distill...).

    ``exit_weights`` maps an exit's block to its weight (missing exits weigh 1); ``kind``
    is the pixel term's loss and ``distill_kind`` the distillation term's (default: kind).
    """
    center_sr = outputs[center]
    parts: dict[str, torch.Tensor] = {"center": pixel_loss(kind, center_sr, hr)}
    total = parts["center"]
    target = center_sr.detach() if detach_center else center_sr
    side = sorted(k for k in outputs if k != center)
    weights = dict(exit_weights or {})
    unknown = set(weights) - set(side)
    if unknown:
        raise ValueError(f"exit weights name exits {sorted(unknown)} that are not in {side}")
    for k in side:
        w = weights.get(k, 1.0)
        pixel = pixel_loss(kind, outputs[k], hr)
        distill = pixel_loss(distill_kind or kind, outputs[k], target)
        parts[f"exit{k}_pixel"] = pixel
        parts[f"exit{k}_distill"] = distill
        total = total + w * (alpha * pixel + (1 - alpha) * distill)
        if features is not None and feature_weight > 0:
            f_target = features[center].detach() if detach_center else features[center]
            feat = torch.mean((features[k].float() - f_target.float()) ** 2)
            parts[f"exit{k}_feature"] = feat
            total = total + w * feature_weight * feat
    parts["loss"] = total
    return parts

"""Teacher-student distillation losses: output KD, FitNets and FAKD.

Every term is built from the student's tensors with differentiable torch ops, so its
gradient reaches the student (a public FAKD implementation wrapped its loss in
``torch.tensor(...)``, which cuts the graph and trains nothing).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from srdistill.losses.pixel import pixel_loss


def output_kd_loss(kind: str, student_sr: torch.Tensor, teacher_sr: torch.Tensor) -> torch.Tensor:
    """L1 or MSE between the student's SR image and the (detached) teacher's."""
    return pixel_loss(kind, student_sr, teacher_sr.detach())


def fitnets_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
    """FitNets hint loss: mean squared error between (adapted) student and teacher features."""
    return F.mse_loss(student_feat.float(), teacher_feat.detach().float())


def spatial_affinity(features: torch.Tensor) -> torch.Tensor:
    """FAKD's affinity: cosine similarity between every pair of spatial positions.

    (B, C, H, W) -> (B, HW, HW); each position's C-vector is L2-normalised first.
    """
    flat = F.normalize(features.float().flatten(2), dim=1)  # B, C, HW
    return flat.transpose(1, 2) @ flat


def fakd_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor) -> torch.Tensor:
    """FAKD (He et al. 2020): L1 between student and teacher spatial-affinity matrices.

    Widths may differ: affinities are HW x HW whatever the channel count.
    """
    if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
        raise ValueError(
            f"FAKD compares features of the same spatial size, got "
            f"{tuple(student_feat.shape[-2:])} and {tuple(teacher_feat.shape[-2:])}"
        )
    return F.l1_loss(spatial_affinity(student_feat), spatial_affinity(teacher_feat.detach()))

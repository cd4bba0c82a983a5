"""Training methods: each a small module on the shared engine."""

from __future__ import annotations

from srdistill.methods.base import Method, TrainingContext
from srdistill.methods.kd import KDMethod
from srdistill.methods.mutual_gan import MutualGANMethod
from srdistill.methods.plain import PlainMethod
from srdistill.methods.self_distill import SelfDistillMethod

METHODS: dict[str, type[Method]] = {
    "plain": PlainMethod,
    "self_distill": SelfDistillMethod,
    "kd": KDMethod,
    "mutual_gan": MutualGANMethod,
}

__all__ = ["METHODS", "Method", "TrainingContext"]

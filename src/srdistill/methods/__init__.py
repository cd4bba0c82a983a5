"""Training methods: each a small module on the shared engine.

``train(cfg)`` picks the method named by ``cfg.method`` and hands it to the engine; a user
with their own method calls ``srdistill.engine.train(cfg, MyMethod)`` instead.
"""

from __future__ import annotations

from srdistill.config import RunConfig
from srdistill.engine.method import Method, TrainingContext
from srdistill.engine.trainer import TrainResult
from srdistill.engine.trainer import train as train_method
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


def train(cfg: RunConfig, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
    """Train ``cfg`` with the built-in method it names (``cfg.method``)."""
    return train_method(cfg, METHODS[cfg.method], resume=resume, overwrite=overwrite)


__all__ = [
    "METHODS",
    "KDMethod",
    "Method",
    "MutualGANMethod",
    "PlainMethod",
    "SelfDistillMethod",
    "TrainingContext",
    "train",
]

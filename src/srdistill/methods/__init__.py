"""Training methods: each a small module on the shared engine.

``train(cfg)`` picks the method named by ``cfg.method`` and hands it to the engine; a user
with their own method calls ``srdistill.engine.train(cfg, MyMethod)`` instead.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from srdistill.config import RunConfig
from srdistill.engine.method import Method, TrainingContext
from srdistill.engine.trainer import TrainResult
from srdistill.engine.trainer import train as train_method
from srdistill.methods.kd import KDMethod
from srdistill.methods.mutual_gan import MutualGANMethod
from srdistill.methods.plain import PlainMethod
from srdistill.methods.self_distill import SelfDistillMethod

log = logging.getLogger(__name__)

METHODS: dict[str, type[Method]] = {
    "plain": PlainMethod,
    "self_distill": SelfDistillMethod,
    "kd": KDMethod,
    "mutual_gan": MutualGANMethod,
}
# The config section holding each method's own options (the rest, model/data/optim/train,
# is shared by all methods).
OWN_SECTION = {name: method.section for name, method in METHODS.items()}


def ignored_sections(cfg: RunConfig) -> list[str]:
    """Sections of other methods that this config sets away from their defaults: the
    method named by ``cfg.method`` never reads them."""
    defaults = RunConfig()
    return [
        section
        for method, section in OWN_SECTION.items()
        if method != cfg.method
        and asdict(getattr(cfg, section)) != asdict(getattr(defaults, section))
    ]


def train(cfg: RunConfig, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
    """Train ``cfg`` with the built-in method it names (``cfg.method``)."""
    for section in ignored_sections(cfg):
        log.warning(
            "config section '%s' is set but method %s does not read it (its options are in '%s')",
            section,
            cfg.method,
            OWN_SECTION[cfg.method],
        )
    return train_method(cfg, METHODS[cfg.method], resume=resume, overwrite=overwrite)


__all__ = [
    "METHODS",
    "OWN_SECTION",
    "KDMethod",
    "Method",
    "MutualGANMethod",
    "PlainMethod",
    "SelfDistillMethod",
    "TrainingContext",
    "ignored_sections",
    "train",
]

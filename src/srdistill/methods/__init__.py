"""Training methods: each a small module on the shared engine that registers itself.

``train(cfg)`` picks the method registered under ``cfg.method`` and hands it to the
engine. A user's own method registers the same way (``@register_method(name, Options)``)
and is then trained, resumed and recorded like the built-in ones.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from srdistill.engine.method import (
    METHODS,
    Method,
    TrainingContext,
    register_method,
    registered_name,
)
from srdistill.engine.trainer import TrainResult
from srdistill.engine.trainer import train as train_method
from srdistill.schema import METHOD_OPTIONS, RunConfig

# Built-ins, in the order their sections appear in saved configs.
from srdistill.methods.plain import PlainMethod, PlainOptions  # isort: skip
from srdistill.methods.self_distill import SelfDistillMethod, SelfDistillOptions  # isort: skip
from srdistill.methods.kd import KDMethod, KDOptions  # isort: skip
from srdistill.methods.dukd import DUKDMethod, DUKDOptions  # isort: skip
from srdistill.methods.mutual_gan import MutualGANMethod, MutualOptions  # isort: skip

log = logging.getLogger(__name__)


def ignored_sections(cfg: RunConfig) -> list[str]:
    """Sections of other methods that this config sets away from their defaults: the
    method named by ``cfg.method`` never reads them."""
    own = METHOD_OPTIONS[cfg.method].section
    return [
        section
        for section, options in cfg.sections.items()
        if section != own and asdict(options) != asdict(type(options)())
    ]


def train(cfg: RunConfig, *, resume: bool = False, overwrite: bool = False) -> TrainResult:
    """Train ``cfg`` with the method registered under ``cfg.method``."""
    for section in ignored_sections(cfg):
        log.warning(
            "config section '%s' is set but method %s does not read it (its options are in '%s')",
            section,
            cfg.method,
            METHOD_OPTIONS[cfg.method].section,
        )
    return train_method(cfg, METHODS[cfg.method], resume=resume, overwrite=overwrite)


__all__ = [
    "METHODS",
    "DUKDMethod",
    "DUKDOptions",
    "KDMethod",
    "KDOptions",
    "Method",
    "MutualGANMethod",
    "MutualOptions",
    "PlainMethod",
    "PlainOptions",
    "SelfDistillMethod",
    "SelfDistillOptions",
    "TrainingContext",
    "ignored_sections",
    "register_method",
    "registered_name",
    "train",
]

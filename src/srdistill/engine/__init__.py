"""The training engine: one loop for every method (devices, precision, data, logging,
validation, checkpoints, exact resume, DDP). Methods plug in through ``Method``."""

from srdistill.engine.hardware import cpu_has_native_bf16
from srdistill.engine.method import Method, TrainingContext
from srdistill.engine.trainer import Interrupted, TrainingDiverged, TrainResult, train

__all__ = [
    "Interrupted",
    "Method",
    "TrainResult",
    "TrainingContext",
    "TrainingDiverged",
    "cpu_has_native_bf16",
    "train",
]

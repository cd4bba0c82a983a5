"""Evaluation of models and exits on benchmark sets; tables and figures."""

from srdistill.eval.evaluate import EvalResult, bicubic_upscaler, evaluate, super_resolve
from srdistill.eval.figures import side_by_side
from srdistill.eval.tables import results_table, write_results

__all__ = [
    "EvalResult",
    "bicubic_upscaler",
    "evaluate",
    "results_table",
    "side_by_side",
    "super_resolve",
    "write_results",
]

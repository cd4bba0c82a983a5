"""``srdistill reproduce``: the papers' tables and the studies, from one shared runner.

``runner`` trains what is missing and keeps run records; ``tables`` declares the papers'
tables; ``study_a`` the self-distillation study (arms, paired contrasts, conclusion).
"""

from importlib import import_module

from srdistill.reproduce.runner import CONFIG_DIR, train_unless_finished
from srdistill.reproduce.tables import TABLE_PRESETS, TABLES, reproduce

# name on the command line -> module:function that runs it (imported only when asked).
STUDIES: dict[str, str] = {
    "study-a": "srdistill.reproduce.study_a:study_a",
    "study-b": "srdistill.reproduce.study_b:study_b",
    "study-c": "srdistill.reproduce.study_c:study_c",
}
STUDY_PRESETS = ("study",)


def study_runner(name: str):  # noqa: ANN201 (the study's entry function)
    module, function = STUDIES[name].split(":")
    return getattr(import_module(module), function)


__all__ = [
    "CONFIG_DIR",
    "STUDIES",
    "STUDY_PRESETS",
    "TABLES",
    "TABLE_PRESETS",
    "reproduce",
    "study_runner",
    "train_unless_finished",
]

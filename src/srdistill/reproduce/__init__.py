"""``srdistill reproduce``: the papers' tables and the studies, from one shared runner.

``runner`` trains what is missing and keeps run records; ``tables`` declares the papers'
tables; ``study_a`` the self-distillation study (arms, paired contrasts, conclusion).
"""

from srdistill.reproduce.runner import CONFIG_DIR, train_unless_finished
from srdistill.reproduce.tables import TABLES, reproduce

__all__ = ["CONFIG_DIR", "TABLES", "reproduce", "train_unless_finished"]

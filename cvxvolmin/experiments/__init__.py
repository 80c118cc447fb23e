"""Reproductions of the paper's experiments (what ``cvxvolmin reproduce`` runs)."""

from .methods import METHODS, Method
from .study import StudyRecord, StudyResult, StudyRow, run_study
from .table2 import (
    PAPER_CITATION,
    PAPER_TABLE2,
    Table2Result,
    Table2Row,
    TrialRecord,
    run_table2,
)

__all__ = [
    "METHODS",
    "PAPER_CITATION",
    "PAPER_TABLE2",
    "Method",
    "StudyRecord",
    "StudyResult",
    "StudyRow",
    "Table2Result",
    "Table2Row",
    "TrialRecord",
    "run_study",
    "run_table2",
]

"""Volume criteria as plug-ins: the contract, the registry and the shipped ones."""

from .base import (
    Formulation,
    Row,
    available_formulations,
    fast_polytope,
    get_formulation,
    register_formulation,
)
from .bounded import BoundedAbundanceVolMin
from .box import BoxVolMin
from .column_sum import ColumnSumVolMin
from .column_sum_leq import ColumnSumAtMostVolMin
from .l1_ball import L1BallVolMin
from .row_sum import RowSumVolMin

__all__ = [
    "BoundedAbundanceVolMin",
    "BoxVolMin",
    "ColumnSumAtMostVolMin",
    "ColumnSumVolMin",
    "Formulation",
    "L1BallVolMin",
    "Row",
    "RowSumVolMin",
    "available_formulations",
    "fast_polytope",
    "get_formulation",
    "register_formulation",
]

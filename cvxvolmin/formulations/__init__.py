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
from .row_sum import RowSumVolMin

__all__ = [
    "BoundedAbundanceVolMin",
    "BoxVolMin",
    "ColumnSumAtMostVolMin",
    "ColumnSumVolMin",
    "Formulation",
    "Row",
    "RowSumVolMin",
    "available_formulations",
    "fast_polytope",
    "get_formulation",
    "register_formulation",
]

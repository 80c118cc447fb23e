"""Volume criteria as plug-ins: the contract, the registry and the shipped ones."""

from .base import (
    Formulation,
    Row,
    available_formulations,
    get_formulation,
    register_formulation,
)
from .column_sum import ColumnSumVolMin

__all__ = [
    "ColumnSumVolMin",
    "Formulation",
    "Row",
    "available_formulations",
    "get_formulation",
    "register_formulation",
]

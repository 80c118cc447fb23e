"""cvxvolmin: identifiable matrix factorization by volume minimization.

Factor ``X = W @ H.T`` (samples are the columns of X) by minimizing the
volume of W under constraints on H, with every row update a linear program
declared in cvxpy and solved by HiGHS.
"""

from .exceptions import (
    ConvergenceWarning,
    DegenerateError,
    InfeasibleError,
    ModelMismatchWarning,
    NoisyColumnsWarning,
    SolverFailedError,
)
from .factorization import FitResult, fit
from .formulations import (
    ColumnSumVolMin,
    Formulation,
    Row,
    available_formulations,
    get_formulation,
    register_formulation,
)
from .metrics import match_columns, matched_mse
from .synthetic import make_paper_data

__version__ = "0.1.0"

__all__ = [
    "ColumnSumVolMin",
    "ConvergenceWarning",
    "DegenerateError",
    "FitResult",
    "Formulation",
    "InfeasibleError",
    "ModelMismatchWarning",
    "NoisyColumnsWarning",
    "Row",
    "SolverFailedError",
    "available_formulations",
    "fit",
    "get_formulation",
    "make_paper_data",
    "match_columns",
    "matched_mse",
    "register_formulation",
]

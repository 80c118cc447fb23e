"""cvxvolmin: identifiable matrix factorization by volume minimization.

Factor ``X = W @ H.T`` (samples are the columns of X) by minimizing the
volume of W under constraints on H, with every row update a linear program
declared in cvxpy and solved by HiGHS; check whether an H is sufficiently
scattered, the condition under which the factors are unique.
"""

from . import robust
from .baselines import BaselineResult, plain_nmf
from .exceptions import (
    ConvergenceWarning,
    CvxvolminError,
    DegenerateError,
    InfeasibleError,
    InvalidParameterError,
    ModelMismatchWarning,
    NoisyColumnsWarning,
    SolverFailedError,
)
from .experiments import StudyResult, run_study
from .factorization import FactorizationResult, FitResult, fit
from .formulations import (
    BoundedAbundanceVolMin,
    BoxVolMin,
    ColumnSumAtMostVolMin,
    ColumnSumVolMin,
    Formulation,
    L1BallVolMin,
    Row,
    RowSumVolMin,
    available_formulations,
    get_formulation,
    register_formulation,
)
from .metrics import match_columns, matched_mse
from .robust import RobustFitResult, add_noise, fit_robust
from .scattering import ScatteringResult, check_scattering, necessary_conditions
from .synthetic import make_paper_data

__version__ = "0.1.0"

__all__ = [
    "BaselineResult",
    "BoundedAbundanceVolMin",
    "BoxVolMin",
    "ColumnSumAtMostVolMin",
    "ColumnSumVolMin",
    "ConvergenceWarning",
    "CvxvolminError",
    "DegenerateError",
    "FactorizationResult",
    "FitResult",
    "Formulation",
    "InfeasibleError",
    "InvalidParameterError",
    "L1BallVolMin",
    "ModelMismatchWarning",
    "NoisyColumnsWarning",
    "RobustFitResult",
    "Row",
    "RowSumVolMin",
    "ScatteringResult",
    "SolverFailedError",
    "StudyResult",
    "add_noise",
    "available_formulations",
    "check_scattering",
    "fit",
    "fit_robust",
    "get_formulation",
    "make_paper_data",
    "match_columns",
    "matched_mse",
    "necessary_conditions",
    "plain_nmf",
    "register_formulation",
    "robust",
    "run_study",
]


def __getattr__(name: str):
    # The estimator needs scikit-learn, an optional extra: import it on use
    # (and keep it out of __all__, so that `import *` works without it).
    if name == "VolMinNMF":
        from .estimator import VolMinNMF

        return VolMinNMF
    raise AttributeError(f"module 'cvxvolmin' has no attribute {name!r}")

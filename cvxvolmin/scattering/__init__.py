"""The sufficient-scattering checker (guide, section 3).

``check_scattering`` decides whether H (N x r) is sufficiently scattered;
``necessary_conditions`` runs only the cheap checks (any size).
"""

from .check import METHODS, check_scattering
from .necessary import NecessaryReport, necessary_conditions
from .result import VERDICTS, ScatteringResult

__all__ = [
    "METHODS",
    "VERDICTS",
    "NecessaryReport",
    "ScatteringResult",
    "check_scattering",
    "necessary_conditions",
]

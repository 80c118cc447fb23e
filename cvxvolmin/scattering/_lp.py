"""Small LPs on HiGHS through scipy (no banner, no persistent model needed)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from ..exceptions import SolverFailedError


def minimize_over_cone_box(c: np.ndarray, A: np.ndarray) -> tuple[float, np.ndarray]:
    """Minimize ``c @ z`` subject to ``A @ z >= 0`` and ``-1 <= z <= 1``.

    The box makes the homogeneous problem bounded; a negative optimum is a
    direction of the cone ``{z : A z >= 0}`` with ``c @ z < 0``.

    Raises
    ------
    SolverFailedError
        If HiGHS stops without an optimal answer (the LP is always feasible,
        z = 0, and bounded, so this is a solver failure).
    """
    n = c.size
    if A.shape[0] == 0:
        A_ub, b_ub = None, None
    else:
        A_ub, b_ub = -A, np.zeros(A.shape[0])
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=[(-1.0, 1.0)] * n, method="highs")
    if res.status != 0 or res.x is None:
        raise SolverFailedError(f"HiGHS failed on a scattering LP: {res.message}")
    return float(res.fun), np.asarray(res.x, dtype=float)

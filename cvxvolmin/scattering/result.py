"""The answer of the sufficient-scattering checker, as a frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError

#: The three possible verdicts.
VERDICTS = ("sufficiently_scattered", "not_sufficiently_scattered", "inconclusive")


@dataclass(frozen=True, eq=False)
class ScatteringResult:
    """Whether H (N x r) is sufficiently scattered, with the evidence.

    Notation (see the guide, section 3): ``K = cone(H.T)`` is the cone of
    the rows of H, ``K* = {y : H y >= 0}`` its dual, and the *dual slice* is
    ``P = {y : H y >= 0, 1.y = 1}``. H is sufficiently scattered when
    (1) ``C ⊆ K`` and (2) ``K* ∩ bd C* = {lambda e_k}``; equivalently, every
    vertex of P other than the unit vectors ``e_k`` has ``||y|| < 1``.

    Attributes
    ----------
    verdict : {"sufficiently_scattered", "not_sufficiently_scattered", "inconclusive"}
        The answer. "sufficiently_scattered" is only returned with a proof
        (exact method) and a margin larger than ``tol``.
    condition1, condition2 : bool or None
        Whether conditions (1) and (2) hold; None when not decided.
    witness : ndarray of shape (r,) or None
        A certificate that H is not sufficiently scattered: a point y of the
        dual cone (``H y >= 0``) with ``||y|| >= 1.y``. Scaled so that
        ``1.y = 1`` when ``1.y > 0`` (then ``||y|| > 1`` refutes (1), and
        ``||y|| = 1`` for a y that is not a unit vector refutes (2)); when
        ``1.y <= 0`` it is scaled to unit norm and refutes (1) outright.
    witness_point : ndarray of shape (r,) or None
        The same certificate in the primal: a point x of ``bd C`` (scaled to
        ``1.x = 1``) with ``y.x <= 0``, so x lies outside the interior of
        cone(H.T) (strictly outside when (1) fails).
    margin : float or None
        ``max ||y||`` over the dual slice P: exactly 1 when (1) holds, larger
        than 1 when it fails (``inf`` when the dual cone leaves the
        half-space ``1.y > 0``). When (1) fails and the method did not
        enumerate every vertex, it is the norm of the witness, a lower bound.
        None when not decided.
    gap : float or None
        ``1 - max ||y||`` over the vertices of P other than the unit vectors:
        positive iff H is sufficiently scattered; its size is the robustness.
        Known exactly when every vertex of P is known: every facet enumerated
        (``stats["exact_strategy"] == "facets"``, r <= 7), the certified vertex
        enumeration (``method == "vertices"``) or a pure row for every factor
        (P is the simplex, gap 1); None otherwise (the outer approximation
        used for larger r certifies the sign only; its own margin is
        ``stats["certificate_gap"]``).
    on_boundary : bool
        True when the deciding quantity is within ``tol`` of its threshold:
        a vertex of P other than the e_k has ``| ||y|| - 1 | <= tol``, so an
        arbitrarily small perturbation of H can flip the answer. (A vertex
        with ``||y|| >= 1`` is always found; one in ``[1 - tol, 1)`` is
        guaranteed to be found only by full facet enumeration.) The verdict
        is then "not_sufficiently_scattered" with ``condition1=True`` and
        ``condition2=False`` (true up to ``tol``), never a coin flip.
    method : str
        The stage that decided: "necessary", "search", "sample", "vertices"
        (the certified vertex enumeration, for structured H), "global" (the
        branch and bound of ``cvxvolmin.scattering.star``, r >= 10) or
        "exact" (``stats["stages"]`` lists every stage that ran).
    time_s : float
        Wall-clock time of the check.
    reason : str
        One sentence saying why, for people.
    tol : float
        The tolerance used.
    stats : dict
        Counts (rows used, samples tested, facets, ...), JSON-ready.
    """

    verdict: str
    condition1: bool | None
    condition2: bool | None
    witness: np.ndarray | None
    witness_point: np.ndarray | None
    margin: float | None
    gap: float | None
    on_boundary: bool
    method: str
    time_s: float
    reason: str
    tol: float
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise InvalidParameterError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}.")

    @property
    def sufficiently_scattered(self) -> bool | None:
        """True or False when decided, None when inconclusive."""
        if self.verdict == "inconclusive":
            return None
        return self.verdict == "sufficiently_scattered"

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready values: lists for arrays, no numpy types.

        Infinite margins become the string ``"inf"`` (JSON has no infinity).
        """
        return {
            "verdict": self.verdict,
            "condition1": self.condition1,
            "condition2": self.condition2,
            "witness": _as_list(self.witness),
            "witness_point": _as_list(self.witness_point),
            "margin": _as_float(self.margin),
            "gap": _as_float(self.gap),
            "on_boundary": bool(self.on_boundary),
            "method": self.method,
            "time_s": float(self.time_s),
            "reason": self.reason,
            "tol": float(self.tol),
            "stats": {key: _plain(value) for key, value in self.stats.items()},
        }


def _as_list(value: np.ndarray | None) -> list[float] | None:
    return None if value is None else [float(v) for v in np.asarray(value).ravel()]


def _as_float(value: float | None) -> float | str | None:
    if value is None:
        return None
    value = float(value)
    return "inf" if math.isinf(value) else value


def _plain(value: Any) -> Any:
    """Turn numpy scalars and arrays into Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

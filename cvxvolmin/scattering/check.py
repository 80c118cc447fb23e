"""``check_scattering``: the public entry point; it only orchestrates.

Stages (each a module of its own): input preparation (prepare.py), cheap
necessary checks (necessary.py), the exact facet enumeration (exact.py),
the certified vertex enumeration (vertices.py), the refutation search
(search.py), the sampling screen (sample.py) and the global branch and
bound over the rays from each e_k (star.py). The portfolio picks them
by r and structure: a separable H at once (its dual slice is the simplex),
the vertices first where H is structured (few distinct entries), the
facets first below r = 10 (for a second), then the search,
the sampling ("auto" only), and in the time that remains the facets below
r = 10, the facets for a few seconds and then the global stage at r = 10,
the global stage beyond; it stops at the first decisive stage. "exact" skips only the sampling (the
necessary checks and the search cost milliseconds to a second and can
spare a long enumeration).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable

import numpy as np

from ..exceptions import InvalidParameterError
from ..validation import check_nonnegative_float, check_positive_int, check_random_state
from .exact import FacetSummary, decide_within
from .geometry import primal_point, scale_witness
from .necessary import NecessaryReport, run_necessary
from .prepare import PreparedH, prepare
from .result import ScatteringResult
from .sample import sample_screen
from .search import search_refutation
from .star import GlobalOutcome, decide_global
from .vertices import enumerate_within

METHODS = ("auto", "sample", "exact")
#: Below this r the facets come first (with ``_FACETS_FIRST_S``): measured on
#: the paper's H at N = 200, they decide in 0.007 s at r = 5 and 0.14 s at
#: r = 9, less than the refutation search costs (0.13 to 0.4 s); from r = 10
#: they take seconds to minutes, which the search, run first, can spare.
_SEARCH_FIRST_RANK = 10
#: Seconds the facets get before the search when they come first; on
#: degenerate H they can be slow at any r, and the search then still runs.
_FACETS_FIRST_S = 1.0
#: H is structured when its rows (scaled to sum one) take at most this many
#: distinct nonzero values per column: truncated simplices, hypersimplices
#: and designs, whose facets hold hundreds of rows each, so that Qhull's
#: triangulation explodes while the dual slice has few vertices (measured,
#: the truncated simplex at r = 10 with 1260 rows: facets inconclusive at
#: 120 s, vertices 0.2 to 0.4 s). Random H has about one value per entry.
_STRUCTURED_VALUES_PER_COLUMN = 1
#: The vertex stage runs from this r: below it every facet is enumerated, and
#: measured on the truncated simplices (140 rows at r = 7) that takes 0.2 s.
_VERTICES_MIN_RANK = 8
#: Share of the remaining time the vertex stage gets before the search.
_VERTICES_SHARE = 0.5
#: From this r the global stage (star.py) decides what the search leaves.
#: Measured side by side (paper's H, N = 200, one run on the loaded 2-core
#: machine): at r = 10 the facets take 1.6 s (35% zeros) and 41 s (20%), the
#: global stage 2.2 s and 29 s; at r = 12 (35%) the facets are inconclusive at
#: 60 s and the global stage decides in 18 s.
_GLOBAL_RANK = 10
#: At r = _GLOBAL_RANK the facets come first, for at most this long: they
#: decide the paper's H at 35% zeros in about a second.
_FACETS_BEFORE_GLOBAL_S = 5.0


def check_scattering(
    H,
    *,
    method: str = "auto",
    tol: float = 1e-9,
    n_samples: int = 2000,
    time_limit: float | None = 60.0,
    random_state=None,
    progress: Callable[[str], None] | None = None,
) -> ScatteringResult:
    """Decide whether H is sufficiently scattered (guide, section 3).

    H (N x r, nonnegative) is sufficiently scattered when (1) cone(H.T)
    contains ``C = {x : 1.x >= sqrt(r - 1) ||x||}`` and (2) the dual cone
    meets ``bd C*`` only on the rays of the unit vectors. Only the
    directions of the rows matter: all-zero rows are ignored, and row order,
    row scaling and duplicated rows do not change the answer. Column
    scaling does: C is not invariant under it. The theorem of column-sum
    VolMin is about H with columns summing to one (``H.T 1 = 1``), so check
    that H (as :func:`cvxvolmin.fit` returns it). An H whose columns are
    scaled otherwise, e.g. the H of row-sum VolMin (rows summing to one,
    columns to anything), can get another verdict: divide its columns by
    their sums first.

    Parameters
    ----------
    H : array_like of shape (N, r)
        Nonnegative, finite, at least as many rows as columns; rows are
        samples (the paper's orientation, the transpose of a r x N
        coefficient matrix). Entries at most ``1e-9`` times their row's
        largest are read as zeros (a computed H's rounding of zeros), so
        the answer does not depend on the rows' scales. Never modified.
    method : {"auto", "sample", "exact"}, default "auto"
        "sample": test ``n_samples`` points of bd C for membership in
        cone(H.T); can only refute (a failing point) or say "inconclusive".
        "exact": the necessary checks first, then a portfolio that picks
        the stage by r and structure: a separable H (a pure row for every
        factor) is decided at once; where H is structured (from r = 8,
        its rows take few distinct values) the certified enumeration of
        the dual slice's vertices, for up to half the time left; below
        r = 10 the facets of cone(H.T) (all of them for r <= 7; an outer
        approximation from a growing subset of rows for r >= 8) for up to
        a second; then the refutation search (local maxima of ``||y||`` over
        the dual slice by successive LPs, which can only refute); then, in
        the time that remains, the facets below r = 10, and from r = 10 the
        global stage (a branch and bound over the rays of the dual slice
        from each e_k, certified by LP bounds; at r = 10 after up to 5 s of
        the facets).
        "auto": the same, with the sampling screen between the search and
        the last stages. The stage that decided is the result's
        ``method`` ("necessary", "exact", "vertices", "search", "sample" or
        "global"); the measured costs are in the docs (checking H).
    tol : float, default 1e-9
        Tolerance on ``||y||`` at the vertices of the dual slice: within
        ``tol`` of 1 the result says ``on_boundary=True``. Every stage
        refutes (1) only with a certificate of norm above ``1 + tol``; the
        sampling screen also tests only points whose NNLS residual exceeds
        ``tol`` times their norm.
    n_samples : int, default 2000
        Points of bd C for the sampling screen.
    time_limit : float or None, default 60.0
        Seconds for the whole check; the exact stage is stopped at the limit
        and the answer is then "inconclusive". None means no limit.
    random_state : None, int or numpy.random.Generator
        Seeds the sampling screen.
    progress : callable, optional
        Called with the name of each stage ("necessary", "exact",
        "vertices", "search", "sample", "global") as it starts, e.g. to show
        on a terminal what a long check is doing.

    Returns
    -------
    ScatteringResult

    Notes
    -----
    A rank-deficient H (rank < r) is refuted by the rank check whatever the
    method: its cone is not full-dimensional, so it cannot contain C.

    Raises
    ------
    InvalidParameterError
        For invalid H (not 2-D, not finite, negative entries, fewer rows than
        columns: transposed) or options; raised before any solver runs. It
        is also a ``ValueError`` and a ``TypeError``.
    SolverFailedError
        If NNLS stops at its iteration limit in the necessary checks or the
        sampling screen.

    Examples
    --------
    >>> import numpy as np
    >>> check_scattering(np.eye(3), method="exact").verdict
    'sufficiently_scattered'
    >>> a = 0.45  # rows (0, a, 1 - a) and permutations: (1) fails for a > 1/3
    >>> rows = [(0, a, 1 - a), (0, 1 - a, a), (a, 0, 1 - a), (1 - a, 0, a),
    ...         (a, 1 - a, 0), (1 - a, a, 0)]
    >>> check_scattering(np.array(rows), method="exact").condition1
    False
    """
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidParameterError(
            f"method must be one of {METHODS}; got {method!r}. Use 'exact' to decide, "
            "'sample' for a quick screen that can only refute, 'auto' for both."
        )
    tol = check_nonnegative_float(tol, "tol")
    n_samples = check_positive_int(n_samples, "n_samples")
    if time_limit is None:
        time_limit = np.inf
    elif isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real):
        raise InvalidParameterError(
            f"time_limit must be a positive number of seconds or None; got {time_limit!r}."
        )
    elif not time_limit > 0:
        raise InvalidParameterError(
            f"time_limit must be positive (seconds) or None for no limit; got {time_limit!r}."
        )
    time_limit = float(time_limit)
    if progress is not None and not callable(progress):
        raise InvalidParameterError(
            f"progress must be a callable taking the stage's name, or None; got {progress!r}."
        )
    rng = check_random_state(random_state)
    start = time.perf_counter()
    prepared = prepare(H)
    deadline = start + time_limit
    stats = prepared.stats()
    stages: list[str] = []
    stats["stages"] = stages

    def begin(stage: str) -> None:
        stages.append(stage)
        if progress is not None:
            progress(stage)

    def finish(**fields) -> ScatteringResult:
        fields.setdefault("witness_point", None)
        fields.setdefault("gap", None)
        fields.setdefault("on_boundary", False)
        return ScatteringResult(time_s=time.perf_counter() - start, tol=tol, stats=stats, **fields)

    if prepared.rank == prepared.r == 1:
        return _scattered(
            finish, "necessary", "r = 1: a nonzero column is trivially sufficiently scattered"
        )

    # "exact" runs the necessary checks too: milliseconds that can refute (1)
    # before an enumeration of minutes
    if method in ("auto", "exact") or prepared.rank < prepared.r:
        begin("necessary")
        report = run_necessary(prepared, tol)
        stats["necessary_checks"] = report.checks
        if not report.passed:
            return _from_necessary(report, finish)

    if method in ("auto", "exact") and _is_separable(prepared.rows):
        # a pure row for every factor: y >= 0 on P, so P is the simplex itself
        # (the other rows are nonnegative), whose only vertices are the e_k
        begin("exact")
        n, r = prepared.rows.shape
        summary = FacetSummary("facets", r, r, r, None, None, 0.0, n_rows_used=n)
        return _decided_by_facets(summary, {}, tol, time_limit, prepared, stats, finish)

    # structured H: the vertices first (the facets' triangulation explodes there)
    budget = _VERTICES_SHARE * max(deadline - time.perf_counter(), 0.0)
    if method in ("auto", "exact") and budget > 0 and _is_structured(prepared.rows):
        begin("vertices")
        summary, info = enumerate_within(prepared.rows, tol, budget)
        if summary is not None and summary.error is None:
            return _decided_by_facets(
                summary, info, tol, time_limit, prepared, stats, finish, stage="vertices"
            )
        stats.update(info)
        if summary is not None:
            stats["vertices_error"] = summary.error

    if method in ("auto", "exact") and prepared.r < _SEARCH_FIRST_RANK:
        begin("exact")
        budget = min(_FACETS_FIRST_S, max(deadline - time.perf_counter(), 0.0))
        summary, info = decide_within(prepared.rows, tol, budget)
        if summary is not None:
            return _decided_by_facets(summary, info, tol, time_limit, prepared, stats, finish)

    if method in ("auto", "exact"):
        begin("search")
        found = search_refutation(prepared.rows, tol, deadline)
        stats.update(search_starts=found.n_starts, search_lps=found.n_lps)
        if found.witness is not None:
            y = found.witness
            return _refuted(
                finish,
                y,
                "search",
                f"a local maximum of ||y|| over the dual slice has ||y|| = "
                f"{np.linalg.norm(y):.12g} > 1 (found by successive LPs from "
                f"{found.n_starts} starts): (1) fails",
            )

    if method in ("auto", "sample"):
        begin("sample")
        outcome = sample_screen(prepared.rows, n_samples, rng, tol, deadline)
        stats["n_samples_tested"] = outcome.n_tested
        if outcome.point is not None:
            return _refuted(
                finish,
                scale_witness(outcome.witness),
                "sample",
                f"sample {outcome.n_tested} of bd C lies outside cone(H.T) "
                f"(NNLS residual {outcome.residual:.3g})",
                witness_point=outcome.point,
            )
        if method == "sample" or time.perf_counter() >= deadline:
            return _inconclusive(
                finish,
                "sample",
                f"all {outcome.n_tested} samples of bd C lie in cone(H.T); sampling "
                "cannot prove (1) and never tests (2): "
                + (
                    "use method='exact'"
                    if method == "sample"
                    else f"time_limit={time_limit:g} s ran out before the exact stage"
                ),
            )

    if method in ("auto", "exact") and prepared.r >= _GLOBAL_RANK:
        if prepared.r == _GLOBAL_RANK:
            begin("exact")
            left = max(deadline - time.perf_counter(), 0.0)
            summary, info = decide_within(prepared.rows, tol, min(_FACETS_BEFORE_GLOBAL_S, left))
            if summary is not None and summary.error is None:
                return _decided_by_facets(summary, info, tol, time_limit, prepared, stats, finish)
            stats.update(info)
        begin("global")
        outcome = decide_global(prepared.rows, tol, deadline)
        stats.update(
            global_boxes=outcome.n_boxes, global_lps=outcome.n_lps, global_faces=outcome.n_done
        )
        if outcome.status != "error":
            return _from_global(outcome, tol, time_limit, prepared, finish)
        stats["global_error"] = outcome.error

    begin("exact")
    summary, info = decide_within(prepared.rows, tol, max(deadline - time.perf_counter(), 0.0))
    return _decided_by_facets(summary, info, tol, time_limit, prepared, stats, finish)


def _from_global(
    outcome: GlobalOutcome, tol: float, time_limit: float, prepared: PreparedH, finish
) -> ScatteringResult:
    """The result of the global stage (its status is not "error")."""
    r = prepared.r
    if outcome.status == "refuted":
        y = outcome.witness
        return _refuted(
            finish,
            y,
            "global",
            f"a point of the dual slice has ||y|| = {np.linalg.norm(y):.12g} > 1 (found by the "
            f"branch and bound over the rays from each e_k, {outcome.n_boxes} boxes): (1) fails",
        )
    if outcome.status == "boundary":
        y = outcome.witness
        return _on_boundary(
            finish,
            y,
            "global",
            f"a vertex of the dual slice other than the e_k has ||y|| = "
            f"{np.linalg.norm(y):.12g}, within tol = {tol:g} of 1, and no point has "
            f"||y|| > 1 + tol (branch and bound over the rays from each e_k, "
            f"{outcome.n_boxes} boxes): (1) holds with equality and (2) fails (up to tol)",
        )
    if outcome.status == "scattered":
        return _scattered(
            finish,
            "global",
            f"along every ray of the dual slice from each of the {r} e_k, ||y|| < 1 past "
            f"the e_k: certified by LP bounds on {outcome.n_boxes} boxes",
        )
    return _inconclusive(
        finish,
        "global",
        f"the global stage did not finish within time_limit={time_limit:g} s, with the "
        f"rays of {outcome.n_done} of the {r} unit vectors searched (r = {r}, "
        f"{prepared.rows.shape[0]} distinct rows); raise time_limit",
    )


def _is_separable(rows: np.ndarray) -> bool:
    """Whether every column has a pure row (a multiple of e_k; zeros are exact after prepare)."""
    pure = np.count_nonzero(rows, axis=1) == 1
    return bool(np.unique(np.argmax(rows[pure], axis=1)).size == rows.shape[1])


def _is_structured(rows: np.ndarray) -> bool:
    """Whether the rows take few distinct nonzero values (see ``_STRUCTURED_VALUES_PER_COLUMN``).

    Only from ``_VERTICES_MIN_RANK``: below it the facets decide structured H
    in milliseconds to a few tenths of a second.
    """
    r = rows.shape[1]
    if r < _VERTICES_MIN_RANK:
        return False
    values = np.unique(np.round(rows[rows > 0], 12))
    return values.size <= _STRUCTURED_VALUES_PER_COLUMN * r


def _decided_by_facets(
    summary: FacetSummary | None,
    info: dict,
    tol: float,
    time_limit: float,
    prepared: PreparedH,
    stats: dict,
    finish,
    stage: str = "exact",
) -> ScatteringResult:
    """The result of the facet or vertex stage (``summary`` None: it ran out of time)."""
    stats.update(info)
    if summary is not None:
        stats.update(
            n_facets=summary.n_facets,
            n_vertices=summary.n_vertices,
            n_unit_vertices=summary.n_unit,
            exact_strategy=summary.strategy,
            n_rows_used=summary.n_rows_used,
            iterations=summary.iterations,
            qhull_joggled=summary.joggled,
            n_unrefined_vertices=summary.n_unrefined,
        )
    return _from_facets(summary, tol, time_limit, prepared, finish, stage)


def _from_necessary(report: NecessaryReport, finish) -> ScatteringResult:
    reason = f"a necessary condition for (1) fails: {report.failure}"
    return _refuted(finish, report.witness, "necessary", reason)


def _refuted(
    finish, y: np.ndarray, method: str, reason: str, witness_point: np.ndarray | None = None
) -> ScatteringResult:
    """(1) fails, certified by y (its norm is the margin found); by default x from y."""
    return finish(
        verdict="not_sufficiently_scattered",
        condition1=False,
        condition2=None,
        witness=y,
        witness_point=primal_point(y) if witness_point is None else witness_point,
        margin=_norm_margin(y),
        method=method,
        reason=reason,
    )


def _inconclusive(finish, method: str, reason: str) -> ScatteringResult:
    """Neither condition decided: the stage ran out of time or could not go on."""
    return finish(
        verdict="inconclusive",
        condition1=None,
        condition2=None,
        witness=None,
        margin=None,
        method=method,
        reason=reason,
    )


def _scattered(finish, method: str, reason: str, **extra) -> ScatteringResult:
    """(1) and (2) hold: no vertex of P other than the e_k reaches ||y|| = 1."""
    return finish(
        verdict="sufficiently_scattered",
        condition1=True,
        condition2=True,
        witness=None,
        margin=1.0,
        method=method,
        reason=reason,
        **extra,
    )


def _on_boundary(finish, y: np.ndarray, method: str, reason: str, **extra) -> ScatteringResult:
    """(1) holds with equality at y, a vertex other than the e_k within tol of 1: (2) fails."""
    return finish(
        verdict="not_sufficiently_scattered",
        condition1=True,
        condition2=False,
        witness=y,
        witness_point=primal_point(y),
        margin=1.0,
        on_boundary=True,
        method=method,
        reason=reason,
        **extra,
    )


def _from_facets(
    summary: FacetSummary | None,
    tol: float,
    time_limit: float,
    prepared: PreparedH,
    finish,
    stage: str = "exact",
) -> ScatteringResult:
    if summary is None:
        return _inconclusive(
            finish,
            stage,
            f"the exact stage did not finish within time_limit={time_limit:g} s "
            f"(r = {prepared.r}, {prepared.rows.shape[0]} distinct rows); raise time_limit",
        )
    if summary.error is not None:
        return _inconclusive(finish, stage, summary.error)
    if summary.halfspace_witness is not None:
        y = summary.halfspace_witness
        return finish(
            verdict="not_sufficiently_scattered",
            condition1=False,
            condition2=None,
            witness=y,
            witness_point=primal_point(y),
            margin=np.inf,
            method=stage,
            reason="the all-ones direction is not inside cone(H.T): (1) fails",
        )
    m2 = summary.top_norm
    y = summary.top_vertex
    # P's own runner-up is known only when every facet (or vertex) was enumerated
    gap = 1.0 - m2 if summary.strategy in ("facets", "vertices") else None
    if summary.strategy == "outer":
        prepared_stats = {"certificate_gap": 1.0 - m2}
    else:
        prepared_stats = {}
    if m2 > 1.0 + tol:
        return finish(
            verdict="not_sufficiently_scattered",
            condition1=False,
            condition2=None,
            witness=y,
            witness_point=primal_point(y),
            margin=m2,
            gap=gap,
            method=stage,
            reason=f"a vertex of the dual slice has ||y|| = {m2:.12g} > 1: (1) fails",
        )
    if m2 >= 1.0 - tol:
        return _on_boundary(
            finish,
            y,
            stage,
            f"a vertex of the dual slice other than the e_k has ||y|| = {m2:.12g}, "
            f"within tol = {tol:g} of 1: C touches the boundary of cone(H.T) away from "
            "the orthant's facets, so (1) holds with equality and (2) fails (up to tol)",
            gap=gap,
        )
    if m2 <= 0.0:
        # No other vertex: H has a row on every axis, cone(H.T) is the orthant.
        why = "the dual slice is the simplex itself (H has a pure row for every factor)"
    elif summary.strategy == "facets":
        why = f"every vertex of the dual slice other than the e_k has ||y|| <= {m2:.6g} < 1"
    elif summary.strategy == "vertices":
        why = (
            f"every vertex of the dual slice other than the e_k has ||y|| <= {m2:.6g} < 1 "
            f"(all {summary.n_vertices} vertices, certified: every facet of their hull "
            "holds on the slice)"
        )
    else:
        why = (
            f"every vertex other than the e_k of an outer approximation of the dual slice "
            f"(from {summary.n_rows_used} of {prepared.rows.shape[0]} rows) has "
            f"||y|| <= {m2:.6g} < 1"
        )
    result = _scattered(finish, stage, why, gap=gap)
    result.stats.update(prepared_stats)
    return result


def _norm_margin(y: np.ndarray) -> float:
    """||y|| for a witness scaled to ``1.y = 1``; inf when ``1.y <= 0``."""
    return float(np.linalg.norm(y)) if y.sum() > 0.5 else float(np.inf)

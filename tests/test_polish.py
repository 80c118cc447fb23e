"""Snapping an LP solution onto its active constraints: exact, and well conditioned."""

from __future__ import annotations

import warnings
import zlib

import numpy as np

import cvxvolmin
from cvxvolmin.polish import VertexPolisher


def test_nearly_parallel_active_rows_are_passed_over_for_a_well_conditioned_set():
    """At a degenerate vertex many rows are active; the snap solves a well-conditioned few."""
    angle = 1e-7
    x, tilted, y = np.array([1.0, 0.0]), np.array([np.cos(angle), np.sin(angle)]), np.eye(2)[1]
    rows, values = VertexPolisher._independent([x, tilted, y], [1.0, 2.0, 3.0], 2, 0.1)
    assert [list(row) for row in rows] == [list(x), list(y)] and values == [1.0, 3.0]
    # Any independent row, the weaker rule, would take the nearly parallel pair.
    rows, _ = VertexPolisher._independent([x, tilted, y], [1.0, 2.0, 3.0], 2, 1e-9)
    assert np.array_equal(rows[1], tilted)


def test_the_snapped_row_sum_optimum_is_exact_at_a_degenerate_vertex():
    """Table 2's row-sum trial 17 (r = 5, case 1), where a snap onto nearly dependent
    active rows gave an MSE of H of 9e-24 (measured); 320 constraints are active there
    for 25 unknowns."""
    key = (5, 1, 17)  # run_table2's stream for (rank, case, trial)
    data = np.random.default_rng(np.random.SeedSequence(0, spawn_key=(*key, 0)))
    X, _, H = cvxvolmin.make_paper_data(5, case=1, random_state=data)
    seed = np.random.SeedSequence(0, spawn_key=(*key, 1, zlib.crc32(b"row-sum")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        result = cvxvolmin.fit(
            X,
            5,
            formulation=cvxvolmin.RowSumVolMin(normalize="l1"),
            random_state=np.random.default_rng(seed),
        )
    assert cvxvolmin.matched_mse(H, result.H) < 1e-28

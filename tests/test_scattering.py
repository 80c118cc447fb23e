"""Tests of the sufficient-scattering checker (cvxvolmin.scattering).

Hand-built cases whose answer is known by geometry:

* ``hexagon(a)``, r = 3: rows ``(0, a, 1 - a)`` and permutations. On the
  slice 1.x = 1 the hull is the triangle with its corners cut by the lines
  ``x_i = 1 - a``; the inscribed circle of C reaches ``x_i = 2/3``. So a < 1/3
  is sufficiently scattered (not separable), a = 1/3 touches the circle away
  from the triangle's sides ((1) with equality, (2) fails) and a > 1/3 cuts
  it ((1) fails). The facet normal of a cut is ``(1 - a, 1 - a, -a)`` (up to
  order), so the largest non-unit vertex norm is known in closed form.
* ``pairs(r)``: rows ``e_i + e_j`` (i < j), the hypersimplex. Its cuts are
  ``x_i <= 1/2`` and C reaches ``x_i = 2/r``: (1) fails at r = 3 (the medial
  triangle), holds with equality and (2) fails at r = 4, holds strictly at
  r >= 5 (sufficiently scattered, not separable).
* ``corners(r, a)``: rows ``(1 - a) e_i + a e_j`` (i != j), a <= 1/2: the
  simplex with its corners cut at ``x_i = 1 - a``; sufficiently scattered iff
  ``1 - a > 2/r`` (at r = 3 this is the hexagon; at r >= 4 always for
  a < 1/2, and r = 4, a = 1/2 is pairs(4)).
* ``shrink(H, s)`` moves every row towards the centre: no zeros remain, so C
  (which touches each face x_k = 0) is no longer inside: (1) fails.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from cvxvolmin.scattering import (
    ScatteringResult,
    check_scattering,
    necessary_conditions,
)
from cvxvolmin.synthetic import make_paper_data

SSC = "sufficiently_scattered"
NOT = "not_sufficiently_scattered"
INC = "inconclusive"


def hexagon(a: float) -> np.ndarray:
    return np.array([p for p in itertools.permutations((0.0, a, 1.0 - a))])


def pairs(r: int) -> np.ndarray:
    eye = np.eye(r)
    return np.array([eye[i] + eye[j] for i, j in itertools.combinations(range(r), 2)])


def corners(r: int, a: float) -> np.ndarray:
    eye = np.eye(r)
    return np.array([(1 - a) * eye[i] + a * eye[j] for i in range(r) for j in range(r) if i != j])


def shrink(H: np.ndarray, s: float) -> np.ndarray:
    """Move each row (scaled to sum one) a fraction s towards the centre."""
    rows = H / H.sum(axis=1, keepdims=True)
    return (1 - s) * rows + s / H.shape[1]


def separable(r: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([np.eye(r) * rng.uniform(0.5, 2, r), rng.uniform(size=(20, r))])


def hexagon_top_norm(a: float) -> float:
    y = np.array([1 - a, 1 - a, -a]) / (2 - 3 * a)
    return float(np.linalg.norm(y))


def assert_valid_witness(H: np.ndarray, res: ScatteringResult) -> None:
    """The witness is in the dual cone and outside (or on) C*; the point on bd C."""
    y, x = res.witness, res.witness_point
    assert y is not None and x is not None
    scale = np.abs(H).max(axis=1) * np.linalg.norm(y)
    assert np.all(H @ y >= -1e-8 * scale)
    assert np.linalg.norm(y) >= y.sum() - 1e-9
    r = H.shape[1]
    assert x.sum() == pytest.approx(1.0)
    assert np.linalg.norm(x - 1 / r) == pytest.approx(1 / np.sqrt(r * (r - 1)))
    assert y @ x <= 1e-9


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("a", [0.1, 0.25, 0.3])
def test_hexagon_below_third_is_scattered_not_separable(a):
    res = check_scattering(hexagon(a), method="exact")
    assert res.verdict == SSC
    assert (res.condition1, res.condition2, res.on_boundary) == (True, True, False)
    assert res.witness is None and res.margin == 1.0
    assert res.gap == pytest.approx(1 - hexagon_top_norm(a), abs=1e-12)


def test_hexagon_at_third_is_on_the_boundary():
    res = check_scattering(hexagon(1 / 3), method="exact")
    assert res.verdict == NOT
    assert (res.condition1, res.condition2, res.on_boundary) == (True, False, True)
    assert abs(res.gap) <= 1e-9
    assert_valid_witness(hexagon(1 / 3), res)
    assert np.linalg.norm(res.witness) == pytest.approx(1.0)


@pytest.mark.parametrize("delta", [1e-3, 1e-6])
def test_hexagon_perturbed_both_sides(delta):
    below = check_scattering(hexagon(1 / 3 - delta), method="exact")
    above = check_scattering(hexagon(1 / 3 + delta), method="exact")
    assert below.verdict == SSC and not below.on_boundary
    assert above.verdict == NOT and above.condition1 is False and not above.on_boundary
    assert above.margin == pytest.approx(hexagon_top_norm(1 / 3 + delta), rel=1e-9)
    assert_valid_witness(hexagon(1 / 3 + delta), above)


def test_hexagon_above_third_fails_one_with_known_witness():
    a = 0.4
    res = check_scattering(hexagon(a), method="exact")
    assert res.verdict == NOT and res.condition1 is False
    assert sorted(res.witness) == pytest.approx(sorted(np.array([1 - a, 1 - a, -a]) / (2 - 3 * a)))


def test_pairs_r3_medial_triangle_fails():
    res = check_scattering(pairs(3), method="exact")
    assert res.verdict == NOT and res.condition1 is False
    assert_valid_witness(pairs(3), res)


def test_pairs_r4_one_with_equality_two_fails():
    res = check_scattering(pairs(4), method="exact")
    assert res.verdict == NOT
    assert (res.condition1, res.condition2, res.on_boundary) == (True, False, True)
    # C touches the facet x_i = 1/2 at its centre (1/2, 1/6, 1/6, 1/6)
    assert sorted(res.witness_point) == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 2])


@pytest.mark.parametrize("r", [5, 6])
def test_pairs_scattered_for_r_at_least_5(r):
    res = check_scattering(pairs(r), method="exact")
    assert res.verdict == SSC and res.gap > 1e-3


def test_r4_boundary_perturbed_both_sides():
    inside = check_scattering(corners(4, 0.49), method="exact")
    outside = check_scattering(shrink(pairs(4), 1e-3), method="exact")
    assert inside.verdict == SSC and not inside.on_boundary
    assert outside.verdict == NOT and outside.condition1 is False and not outside.on_boundary


@pytest.mark.parametrize(("r", "a"), [(4, 0.2), (4, 0.45), (5, 0.3), (5, 0.5)])
def test_corners_scattered_for_r_at_least_4(r, a):
    # the cut x_i <= 1 - a stays outside C (which reaches 2/r) for a <= 1/2
    res = check_scattering(corners(r, a), method="exact")
    assert res.verdict == SSC
    assert res.gap > 1e-3


@pytest.mark.parametrize("r", [2, 3, 4, 6])
def test_separable_is_scattered(r):
    res = check_scattering(separable(r, r), method="exact")
    assert res.verdict == SSC and res.gap == 1.0


def test_r2_and_r1():
    assert check_scattering(np.eye(2), method="exact").verdict == SSC
    assert check_scattering(np.array([[1.0, 1.0], [1.0, 0.0]]), method="exact").verdict == NOT
    assert check_scattering(np.array([[2.0], [0.0]])).verdict == SSC


# ------------------------------------------------------ methods and invariance


def test_necessary_conditions_report():
    assert necessary_conditions(np.eye(4)).passed
    report = necessary_conditions(shrink(pairs(5), 0.05))
    assert not report.passed and report.failure.startswith("zeros_per_column")
    assert report.zeros_per_column == [0] * 5
    json.dumps(report.to_dict())
    rank_def = necessary_conditions(np.ones((5, 3)))
    assert rank_def.failure.startswith("rank") and rank_def.witness.sum() <= 0


#: The rows with a zero in column 0 span a cone in (x_1, x_2) that misses (1, 1).
LOCAL_FAIL = np.array([[0, 1, 0.2], [0, 1, 0.5], [1, 0, 0], [1, 0, 1], [1, 1, 0]])


def test_tangent_cone_check_refutes_one():
    report = necessary_conditions(LOCAL_FAIL)
    assert report.checks == {
        "rank": True,
        "zeros_per_column": True,
        "centre": True,
        "tangent_cones": False,
    }
    y = report.witness
    assert np.all(LOCAL_FAIL @ y >= -1e-12) and y.sum() == pytest.approx(1)
    assert np.linalg.norm(y) > 1
    assert check_scattering(LOCAL_FAIL, method="exact").condition1 is False


FAILING = {
    "hexagon(0.4)": hexagon(0.4),
    "pairs(3)": pairs(3),
    "shrunk pairs(4)": shrink(pairs(4), 0.02),
    "shrunk corners(5, 0.3)": shrink(corners(5, 0.3), 0.05),
}


@pytest.mark.parametrize("name", sorted(FAILING))
def test_sample_and_exact_agree_when_sampling_refutes(name):
    H = FAILING[name]
    sampled = check_scattering(H, method="sample", n_samples=3000, random_state=0)
    exact = check_scattering(H, method="exact")
    assert sampled.verdict == NOT and sampled.condition1 is False
    assert_valid_witness(H, sampled)
    assert exact.verdict == NOT and exact.condition1 is False


@pytest.mark.parametrize("seed", range(6))
def test_sample_and_exact_agree_on_random_small_H(seed):
    rng = np.random.default_rng(seed)
    H = rng.uniform(size=(12, 4)) * (rng.uniform(size=(12, 4)) > 0.45)
    sampled = check_scattering(H, method="sample", n_samples=1000, random_state=seed)
    exact = check_scattering(H, method="exact")
    assert sampled.verdict in (NOT, INC)
    if sampled.verdict == NOT:
        assert exact.verdict == NOT and exact.condition1 is False
    if exact.verdict == SSC:
        assert sampled.verdict == INC


def test_sampling_alone_is_inconclusive_on_scattered_and_boundary_H():
    for H in (hexagon(0.25), pairs(4)):  # pairs(4): (1) holds, (2) fails
        res = check_scattering(H, method="sample", random_state=0)
        assert res.verdict == INC and res.condition1 is None and res.witness is None


def test_sampling_is_deterministic():
    a = check_scattering(hexagon(0.34), method="sample", random_state=3)
    b = check_scattering(hexagon(0.34), method="sample", random_state=3)
    assert np.array_equal(a.witness_point, b.witness_point)


def test_auto_stops_at_the_first_decisive_stage():
    assert check_scattering(LOCAL_FAIL).method == "necessary"
    assert check_scattering(hexagon(0.45), random_state=0).method == "sample"
    res = check_scattering(hexagon(0.25), random_state=0)
    assert res.method == "exact" and res.stats["stages"] == ["necessary", "sample", "exact"]


@pytest.mark.parametrize("H", [hexagon(0.3), pairs(4), hexagon(0.36), separable(4, 0)])
def test_invariance_to_row_order_scaling_duplicates_and_zero_rows(H):
    base = check_scattering(H, method="exact")
    rng = np.random.default_rng(0)
    variants = [
        H[rng.permutation(len(H))],
        H * rng.uniform(0.1, 10, size=(len(H), 1)),
        np.vstack([H, H[:3] * 7.0, H[:2]]),
        np.vstack([np.zeros((2, H.shape[1])), H]),
    ]
    for variant in variants:
        res = check_scattering(variant, method="exact")
        assert res.verdict == base.verdict
        assert (res.condition1, res.condition2, res.on_boundary) == (
            base.condition1,
            base.condition2,
            base.on_boundary,
        )
        assert res.gap == pytest.approx(base.gap, abs=1e-10)


def test_input_is_not_modified():
    H = hexagon(0.3)
    H[0] *= 5
    copy = H.copy()
    check_scattering(H)
    assert np.array_equal(H, copy)


def test_to_dict_is_json_ready():
    for res in (check_scattering(hexagon(0.4), method="exact"), check_scattering(pairs(4))):
        d = res.to_dict()
        text = json.dumps(d)
        assert json.loads(text)["verdict"] == res.verdict
        assert isinstance(d["witness"], list) and all(type(v) is float for v in d["witness"])
    rank_def = check_scattering(np.ones((4, 3))).to_dict()
    assert rank_def["margin"] == "inf"
    json.dumps(rank_def)


def test_time_limit_gives_inconclusive_not_a_run_on():
    _, _, H = make_paper_data(12, random_state=0)  # about 100 s at r = 12
    res = check_scattering(H, method="exact", time_limit=0.3)
    assert res.verdict == INC and res.condition1 is None
    assert "time_limit" in res.reason
    assert res.time_s < 3.0


def _classify(summary) -> str:
    assert summary.error is None
    if summary.halfspace_witness is not None or summary.top_norm > 1 + 1e-9:
        return "fails (1)"
    return "boundary" if summary.top_norm >= 1 - 1e-9 else "scattered"


OUTER_CASES = {
    "hexagon(0.3)": hexagon(0.3),
    "hexagon(1/3)": hexagon(1 / 3),
    "hexagon(0.4)": hexagon(0.4),
    "pairs(4)": pairs(4),
    "pairs(5)": pairs(5),
    "corners(4, 0.45)": corners(4, 0.45),
    "shrunk pairs(4)": shrink(pairs(4), 1e-3),
    "local fail": LOCAL_FAIL,
    "paper r=7": make_paper_data(7, random_state=1)[2],
    "paper r=7, 60% zeros": make_paper_data(7, zero_fraction=0.6, random_state=0)[2],
    "paper r=6, 15% zeros": make_paper_data(6, zero_fraction=0.15, random_state=0)[2],
}


@pytest.mark.parametrize("name", sorted(OUTER_CASES))
def test_outer_approximation_agrees_with_all_facets(name):
    from cvxvolmin.scattering.exact import enumerate_facets, outer_approximation
    from cvxvolmin.scattering.prepare import prepare

    rows = prepare(OUTER_CASES[name]).rows
    full, outer = enumerate_facets(rows, 1e-9), outer_approximation(rows, 1e-9)
    assert _classify(outer) == _classify(full)
    if outer.top_vertex is not None and outer.top_norm >= 1 - 1e-9:
        assert np.all(rows @ outer.top_vertex >= -1e-9)  # a vertex of P itself


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_H_r10_decided_exactly(seed):
    _, _, H = make_paper_data(10, random_state=seed)
    res = check_scattering(H, method="exact")
    assert res.verdict == SSC and res.stats["exact_strategy"] == "outer"
    assert res.time_s < 20


# ------------------------------------------------------------- paper and data


def is_separable(H: np.ndarray) -> bool:
    """Whether H has, for every k, a row that is a multiple of e_k."""
    single = (H > 0).sum(axis=1) == 1
    return len(set(np.argmax(H[single], axis=1))) == H.shape[1]


@pytest.mark.parametrize("seed", [0, 1, 8, 10])
def test_paper_H_r5_is_scattered(seed):
    # seeds 1, 8, 10 give H that are not separable (one e_k direction missing)
    _, _, H = make_paper_data(5, random_state=seed)
    res = check_scattering(H, method="exact")
    assert res.verdict == SSC and res.time_s < 2.0
    assert is_separable(H) == (seed == 0)
    assert (res.gap < 0.5) == (seed != 0)


def test_raman_ground_truth_is_not_scattered(shared_data):
    from cvxvolmin.datasets import load_raman

    H = load_raman(shared_data).H  # N x r, the project's orientation
    assert H.shape == (151, 5)
    for method in ("exact", "auto"):
        res = check_scattering(H, method=method, random_state=0)
        assert res.verdict == NOT and res.condition1 is False
        assert_valid_witness(H, res)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("H", "kwargs", "error", "message"),
    [
        (
            np.array([[1.0, -1.0], [0.0, -2.0]]),
            {},
            ValueError,
            "H has 2 negative entries (the first at index (0, 1), value -1)",
        ),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), {}, ValueError, "H contains 1 NaN or infinite"),
        (np.ones(3), {}, ValueError, "H must be a 2-D array"),
        (np.zeros((0, 3)), {}, ValueError, "H is empty"),
        (np.array([["a"]]), {}, TypeError, "H has non-numeric dtype"),
        (np.eye(3), {"method": "magic"}, ValueError, "method must be one of"),
        (np.eye(3), {"n_samples": 0}, ValueError, "n_samples must be a positive integer"),
        (np.eye(3), {"tol": -1.0}, ValueError, "tol must be a finite nonnegative number"),
        (np.eye(3), {"time_limit": 0}, ValueError, "time_limit must be positive"),
        (np.eye(3), {"time_limit": "1"}, TypeError, "time_limit must be a positive number"),
        (np.eye(3), {"random_state": "x"}, TypeError, "random_state must be None"),
    ],
)
def test_bad_inputs(H, kwargs, error, message):
    with pytest.raises(error) as info:
        check_scattering(H, **kwargs)
    assert message in str(info.value)


# ------------------------------------------------------------------ the plot


def test_plot_draws_and_marks_witness():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cvxvolmin.plot import scattering

    fig, axes = plt.subplots(1, 2)
    res = check_scattering(hexagon(0.4), method="exact")
    ax = scattering(hexagon(0.4), ax=axes[0], result=res)
    labels = [artist.get_label() for artist in ax.get_children()]
    assert "witness" in labels and "C" in labels and "cone(H.T)" in labels
    ax2 = scattering(hexagon(0.25), ax=axes[1])
    assert "witness" not in [a.get_label() for a in ax2.get_children()]
    plt.close(fig)


def test_progress_names_each_stage_as_it_starts():
    _, _, H = make_paper_data(5, random_state=1)
    seen: list[str] = []
    result = check_scattering(H, random_state=0, progress=seen.append)
    assert seen == result.stats["stages"] == ["necessary", "sample", "exact"]


def test_lp_rounding_of_zeros_is_read_as_zero():
    # A fitted H of the Swimmer data has largest entry 1/64 and its zeros come
    # back from the LP as about -6e-14, 4e-12 of the largest entry.
    _, _, H = make_paper_data(4, case=1, random_state=0)
    H = H / H.sum(axis=0) / 4
    rounded = np.where(H == 0, -6e-14 * (np.arange(H.size).reshape(H.shape) % 3), H)
    assert rounded.min() < 0
    clean = check_scattering(H, method="exact")
    noisy = check_scattering(rounded, method="exact")
    assert noisy.verdict == clean.verdict
    with pytest.raises(ValueError, match="negative entries"):
        check_scattering(np.where(H == 0, -1e-6 * H.max(), H), method="exact")


@pytest.mark.parametrize("r", [3, 5, 8])
def test_pure_rows_for_every_factor_say_so(r):
    # With a row on every axis cone(H.T) is the orthant: no vertex but the e_k.
    rows = np.vstack([np.eye(r), np.random.default_rng(r).random((30, r))])
    result = check_scattering(rows, method="exact")
    assert result.verdict == "sufficiently_scattered"
    assert "pure row for every factor" in result.reason

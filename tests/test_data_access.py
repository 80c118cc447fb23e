"""The data-access seam: dense and sparse data answer alike, and a fit reads X three times."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
import scipy.sparse

import cvxvolmin
from cvxvolmin import data as data_module
from cvxvolmin.data import DenseData, SparseData, as_data, square_safe_scale


def _matrix(seed: int = 0, shape=(7, 2000)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape)
    X[rng.random(shape) < 0.6] = 0.0
    X[:, 3] = 0.0  # a zero column
    return X


def _both(X):
    return DenseData(X), SparseData(scipy.sparse.csr_matrix(X))


def test_as_data_picks_the_kind_and_passes_a_data_matrix_through():
    X = _matrix()
    dense, sparse = as_data(X), as_data(scipy.sparse.coo_matrix(X))
    assert (dense.kind, sparse.kind) == ("dense", "sparse")
    assert dense.array is X  # no copy
    assert as_data(dense) is dense
    assert sparse.array.format == "csc"


def test_dense_and_sparse_give_the_same_statistics_and_products():
    X = _matrix()
    rng = np.random.default_rng(1)
    U, V = rng.standard_normal((X.shape[0], 3)), rng.standard_normal((X.shape[1], 2))
    dense, sparse = _both(X)
    scale = np.abs(X).max()
    for data in (dense, sparse):
        assert data.shape == X.shape
        assert data.max_abs() == scale
        assert data.count_nonfinite() == 0
        np.testing.assert_allclose(data.column_norms(), np.linalg.norm(X, axis=0), rtol=1e-15)
        np.testing.assert_allclose(data.column_sums(), X.sum(axis=0), rtol=1e-13, atol=0)
        np.testing.assert_allclose(
            data.column_sums(absolute=True), np.abs(X).sum(axis=0), rtol=1e-13
        )
        np.testing.assert_array_equal(data.nonzero_columns(), np.any(X != 0, axis=0))
        np.testing.assert_allclose(data.project(U), U.T @ X, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_allclose(data.times(V), X @ V, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_array_equal(data.columns([5, 0]), X[:, [5, 0]])
        G, c = data.gram()
        assert c == 1.0
        np.testing.assert_allclose(G, X @ X.T, rtol=1e-13, atol=1e-13 * scale**2)


def test_a_tall_matrix_gets_the_gram_of_its_smaller_side():
    X = _matrix(shape=(300, 6))
    for data in _both(X):
        G, c = data.gram()
        assert G.shape == (6, 6) and c == 1.0
        np.testing.assert_allclose(G, X.T @ X, rtol=1e-13, atol=1e-13 * np.abs(X).max() ** 2)


def test_nonfinite_entries_are_counted_by_both_kinds():
    X = _matrix()
    X[0, 0], X[2, 1500], X[4, 1999] = np.nan, np.inf, -np.inf
    assert DenseData(X).count_nonfinite() == 3
    assert SparseData(scipy.sparse.csc_matrix(X)).count_nonfinite() == 3


@pytest.mark.parametrize("magnitude", [1e-300, 1e-76, 2.0**-250, 1e-70, 1.0, 1e70, 1e76, 1e300])
def test_the_gram_matrix_is_scaled_exactly_when_squares_leave_the_range(magnitude):
    X = _matrix() * magnitude
    expected_scale = square_safe_scale(np.abs(X).max())
    exact = (X / expected_scale) @ (X / expected_scale).T  # division by a power of two: exact
    for data in _both(X):
        G, c = data.gram()
        assert c == expected_scale
        np.testing.assert_allclose(G, exact, rtol=1e-13, atol=1e-13 * np.abs(exact).max())


@pytest.mark.parametrize("shape", [(20, 5000), (200, 500)])  # sixteen strips of columns, one
def test_the_dense_passes_do_not_depend_on_the_number_of_threads(monkeypatch, shape):
    X = _matrix(shape=shape)
    U = np.linalg.qr(np.random.default_rng(3).standard_normal((shape[0], 3)))[0]
    bad = X.copy()
    bad[1, 7], bad[-1, -1] = np.nan, -np.inf
    found = []
    for threads in (1, 3):
        monkeypatch.setattr(data_module, "blas_threads", lambda threads=threads: threads)
        data = DenseData(X)
        found.append((data.gram(), data.projection(U), DenseData(bad).count_nonfinite()))
    ((G, c), projection, count), ((G3, c3), projection3, count3) = found
    assert (c, c3, count, count3) == (1.0, 1.0, 2, 2)
    np.testing.assert_array_equal(G, G3)  # bit for bit: the strips do not follow the threads
    for field in ("Y", "norms", "residual_norms"):
        np.testing.assert_array_equal(getattr(projection, field), getattr(projection3, field))
    exact = X @ X.T
    np.testing.assert_allclose(G, exact, rtol=1e-13, atol=1e-13 * np.abs(exact).max())


def test_column_blocks_cover_every_column_once_with_a_short_last_block():
    X = _matrix(shape=(7, 2000))
    for data in _both(X):
        blocks = list(data.column_blocks(scale=4.0, entries=7 * 300))
        assert [b.shape[1] for _, b in blocks] == [300] * 6 + [200]
        np.testing.assert_array_equal(np.hstack([b for _, b in blocks]), X / 4.0)
        assert blocks[-1][0] == slice(1800, 2000)


@pytest.mark.parametrize("shape", [(7, 2000), (40, 30000)])
def test_the_projection_pass_gives_exact_residuals_off_the_subspace(shape):
    X = _matrix(shape=shape)
    U = np.linalg.qr(np.random.default_rng(2).standard_normal((shape[0], 3)))[0]
    found = DenseData(X).projection(U)
    np.testing.assert_allclose(found.Y, U.T @ X, rtol=1e-12, atol=1e-13 * np.abs(X).max())
    np.testing.assert_allclose(found.norms, np.linalg.norm(X, axis=0), rtol=1e-15)
    np.testing.assert_allclose(
        found.residual_norms, np.linalg.norm(X - U @ (U.T @ X), axis=0), rtol=1e-12, atol=0
    )
    # A column inside span(U) has a residual at rounding level, not the 1e-8 of
    # a difference of squares.
    inside = DenseData(U @ np.ones((3, 1))).projection(U)
    assert inside.residual_norms[0] < 1e-14 * inside.norms[0]
    sparse = SparseData(scipy.sparse.csc_matrix(X)).projection(U)
    assert sparse.residual_norms is None
    np.testing.assert_allclose(sparse.Y, found.Y, rtol=1e-12, atol=1e-13 * np.abs(X).max())


# Every method that reads all of X; nested calls (projection reading blocks)
# count once, as the outermost.
_READERS = (
    "max_abs",
    "count_nonfinite",
    "column_norms",
    "column_sums",
    "nonzero_columns",
    "project",
    "times",
    "gram",
    "projection",
    "column_blocks",
)


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The passes over dense X that run while the test runs, by method name."""
    log: list[str] = []
    depth = [0]

    def counted(name, method):
        if name == "column_blocks":

            @functools.wraps(method)
            def blocks(self, *args, **kwargs):
                if depth[0] == 0:
                    log.append(name)
                depth[0] += 1
                try:
                    yield from method(self, *args, **kwargs)
                finally:
                    depth[0] -= 1

            return blocks

        @functools.wraps(method)
        def read(self, *args, **kwargs):
            if depth[0] == 0:
                log.append(name)
            depth[0] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        return read

    for name in _READERS:
        monkeypatch.setattr(DenseData, name, counted(name, getattr(DenseData, name)))
    return log


def test_a_large_dense_fit_reads_x_twice_and_recovers_h(reads):
    # M * N above the thin-SVD size: the Gram path (M <= N).
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_features=40, n_samples=30_000, random_state=3)
    assert X.size > 1_000_000
    result = cvxvolmin.fit(X, 4, random_state=0)
    assert reads == ["gram", "projection"]
    assert cvxvolmin.matched_mse(H, result.H) < 1e-20
    # The fit error from the reduction's residuals is the direct one.
    direct = cvxvolmin.metrics.relative_residual(X, result.W, result.H)
    assert result.fit_error == pytest.approx(direct, rel=0.5)
    assert result.fit_error < 1e-13


def test_an_ill_conditioned_basis_is_refined_at_two_more_passes(reads):
    # cond(W) = 1e4: the Gram basis leaves 4e-13 of X off it, above rounding.
    rng = np.random.default_rng(8)
    _, _, H = cvxvolmin.make_paper_data(4, case=3, n_features=40, n_samples=30_000, random_state=3)
    left = np.linalg.qr(rng.standard_normal((40, 4)))[0]
    right = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    W = left @ np.diag(np.logspace(0, -4, 4)) @ right
    result = cvxvolmin.fit(W @ H.T, 4, random_state=0)
    assert reads == ["gram", "projection", "times", "projection"]
    assert result.fit_error <= 1e-13
    assert cvxvolmin.matched_mse(H, result.H) < 1e-20


@pytest.mark.parametrize("shape", [(30, 200), (40, 30000)])
def test_the_fit_error_from_the_reduction_is_the_direct_one_for_any_q_and_noise(shape):
    from cvxvolmin.factorization import _fit_error
    from cvxvolmin.formulations import ColumnSumVolMin
    from cvxvolmin.metrics import relative_residual
    from cvxvolmin.reduction import svd_reduction

    rng = np.random.default_rng(4)
    A = rng.standard_normal((shape[0], 4))
    X = A @ rng.random((4, shape[1])) + 1e-3 * rng.standard_normal(shape)
    X[:, 7] = 0.0  # a zero column
    X[:, 9] = np.linalg.svd(A)[0][:, -1]  # orthogonal to the subspace: zeroed by the reduction
    reduction = svd_reduction(X, 4)
    W, H = ColumnSumVolMin().recover(rng.standard_normal((4, 4)), reduction)
    direct = relative_residual(X, W, H)
    assert direct > 1e-4
    assert _fit_error(X, W, H, reduction) == pytest.approx(direct, rel=1e-10)
    # W off span(basis): the direct residual, not the formula.
    tilted = W + 1e-3 * rng.standard_normal(W.shape)
    assert _fit_error(X, tilted, H, reduction) == relative_residual(X, tilted, H)


def test_the_module_names_no_scipy_sparse_check_outside_itself():
    # The seam is the one place that asks what kind the data are.
    import inspect

    from cvxvolmin import inputs, metrics, reduction, validation

    for module in (reduction, metrics, inputs, validation):
        assert "issparse" not in inspect.getsource(module), module.__name__
    assert "issparse" in inspect.getsource(data_module)


def test_singular_values_of_the_projection_agree_on_both_routes():
    from cvxvolmin import reduction

    rng = np.random.default_rng(5)
    Y = rng.standard_normal((4, 50_000)) * np.array([[1.0], [0.5], [0.1], [0.02]])
    exact = np.linalg.svd(Y, compute_uv=False)
    np.testing.assert_allclose(reduction._projected_singular_values(Y), exact, rtol=1e-12)
    # Ill conditioned (s_r / s_1 = 1e-9): the R factor, accurate at eps * s_1.
    Y[3] *= 1e-7
    exact = np.linalg.svd(Y, compute_uv=False)
    found = reduction._projected_singular_values(Y)
    np.testing.assert_allclose(found, exact, rtol=1e-6)
    assert abs(found[-1] - exact[-1]) < 1e-13 * exact[0]
    # Squares out of range: the R factor too.
    np.testing.assert_allclose(
        reduction._projected_singular_values(Y * 1e200), exact * 1e200, rtol=1e-6
    )


def test_a_large_rank_deficient_matrix_is_refused_with_its_rank():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 3)) @ rng.random((3, 30_000))  # rank 3, Gram path
    with pytest.raises(
        cvxvolmin.InvalidParameterError, match=r"numerical rank 3, less than rank=4"
    ):
        cvxvolmin.fit(X, 4, random_state=0)


def test_column_tasks_are_whole_blocks_of_about_the_task_size():
    step = data_module.BLOCK_ENTRIES // 200
    tasks = data_module.column_tasks(1_000_000, step, 200)
    # Consecutive, covering every column once, whole blocks but the last.
    assert tasks[0][0] == 0 and tasks[-1][1] == 1_000_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tasks))
    widths = [stop - start for start, stop in tasks]
    assert all(width % step == 0 for width in widths[:-1])
    # About _TASK_ENTRIES entries each: enough tasks for every thread to share.
    assert max(widths) * 200 <= data_module._TASK_ENTRIES < (max(widths) + step) * 200
    assert len(tasks) > 50
    # A block larger than the task size is still one whole block.
    assert data_module.column_tasks(10, 3, 10**9) == [(0, 3), (3, 6), (6, 9), (9, 10)]


@pytest.fixture
def small_tasks(monkeypatch):
    """Blocks of 50 columns of a 20-row X, four blocks a task."""
    monkeypatch.setattr(data_module, "BLOCK_ENTRIES", 20 * 50)
    monkeypatch.setattr(data_module, "_TASK_ENTRIES", 4 * 20 * 50)


@pytest.mark.parametrize("threads", [1, 3])
def test_the_finiteness_count_is_exact_across_tasks_and_overflowing_sums(
    monkeypatch, small_tasks, threads
):
    from cvxvolmin.exceptions import InvalidParameterError
    from cvxvolmin.validation import check_matrix

    monkeypatch.setattr(data_module, "blas_threads", lambda: threads)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((20, 1030))  # six tasks, a short last block
    # Finite entries whose sums overflow (to inf, -inf or NaN): not counted.
    X[:, 300:420] = 1.7e308 * np.sign(X[:, 300:420])
    assert DenseData(X).count_nonfinite() == 0
    assert check_matrix(X, copy=False) is X
    bad = X.copy()
    # In a finite task, an overflowing one, the short last block.
    bad[3, 10], bad[0, 350], bad[5, 1001], bad[19, 1029] = np.nan, np.inf, np.nan, -np.inf
    assert DenseData(bad).count_nonfinite() == 4
    with pytest.raises(InvalidParameterError, match="X contains 4 NaN or infinite entries"):
        check_matrix(bad, copy=False)


def test_the_projection_pass_is_accurate_for_any_threads_and_magnitudes(monkeypatch, small_tasks):
    rng = np.random.default_rng(7)
    U = np.linalg.qr(rng.standard_normal((20, 3)))[0]
    X = U @ rng.standard_normal((3, 1030)) + 1e-3 * rng.standard_normal((20, 1030))
    X[:, 5] *= 1e200  # squares overflow
    X[:, 600] *= 1e-200  # squares underflow
    X[:, 700] = 0.0
    X[:, 800] = U @ np.array([1.0, -2.0, 0.5])  # in span(U): a rounding-sized residual
    found = []
    for threads in (1, 3):
        monkeypatch.setattr(data_module, "blas_threads", lambda threads=threads: threads)
        found.append(DenseData(X).projection(U))
    for field in ("Y", "norms", "residual_norms"):  # bit for bit: columns are computed alone
        np.testing.assert_array_equal(getattr(found[0], field), getattr(found[1], field))
    projection = found[0]
    # Each column relative to its own magnitude, the scaled ones included.
    scale = np.abs(X).max(axis=0)
    scale[700] = 1.0
    Xs = X / scale
    np.testing.assert_allclose(projection.norms / scale, np.linalg.norm(Xs, axis=0), rtol=1e-15)
    np.testing.assert_allclose(projection.Y / scale, U.T @ Xs, rtol=1e-12, atol=1e-15)
    exact = np.linalg.norm(Xs - U @ (U.T @ Xs), axis=0)
    np.testing.assert_allclose(projection.residual_norms / scale, exact, rtol=1e-9, atol=1e-15)
    assert projection.norms[700] == projection.residual_norms[700] == 0.0
    assert projection.residual_norms[800] < 1e-15 * projection.norms[800]


def test_the_projection_norms_are_accurate_at_m_200():
    # ||x||^2 from its parts in and off span(U): a few units of rounding at M = 200.
    X, _, _ = cvxvolmin.make_paper_data(10, case=3, n_features=200, n_samples=3000, random_state=1)
    U = np.linalg.svd(X, full_matrices=False)[0][:, :10]
    found = DenseData(X).projection(U)
    expected = np.linalg.norm(X, axis=0)
    np.testing.assert_allclose(found.norms, expected, rtol=16 * np.finfo(float).eps, atol=0)


def _with_bad_entries(X):
    bad = X.copy()
    bad[1, 7], bad[-1, -1] = np.nan, -np.inf
    return bad


@pytest.mark.parametrize(
    ("shape", "kind"),
    [((40, 30000), "dense"), ((30000, 40), "dense"), ((30, 200), "dense"), ((30, 200), "sparse")],
)  # the wide and the tall Gram paths, the thin SVD, ARPACK
def test_svd_reduction_refuses_nonfinite_x_on_every_path(shape, kind):
    from cvxvolmin.exceptions import InvalidParameterError
    from cvxvolmin.reduction import svd_reduction

    bad = _with_bad_entries(_matrix(shape=shape))
    if kind == "sparse":
        bad = scipy.sparse.csc_matrix(bad)
    with pytest.raises(InvalidParameterError, match="X contains 2 NaN or infinite entries"):
        svd_reduction(bad, 3)


def test_the_gram_pass_is_the_finiteness_check_of_wide_dense_x(reads):
    from cvxvolmin.exceptions import InvalidParameterError
    from cvxvolmin.reduction import svd_reduction
    from cvxvolmin.validation import check_matrix

    X = cvxvolmin.make_paper_data(4, case=3, n_features=40, n_samples=30_000, random_state=3)[0]
    bad = _with_bad_entries(X)
    assert check_matrix(bad, copy=False, check_finite=False) is bad  # left to the caller
    with pytest.raises(InvalidParameterError, match="X contains 2 NaN or infinite entries"):
        svd_reduction(bad, 4)
    assert reads == ["gram"]  # the count is the Gram pass's own, on bad data only
    reads.clear()
    reduction = svd_reduction(check_matrix(X, copy=False, check_finite=False), 4)
    assert reads == ["gram", "projection"]
    assert reduction.rank == 4


@pytest.mark.parametrize("magnitude", [1e-200, 1e200])
def test_finite_x_whose_squares_leave_the_range_passes_the_gram_check(magnitude):
    # The Gram diagonal under- or overflows: X is scaled, not refused.
    from cvxvolmin.reduction import svd_reduction

    X, _, _ = cvxvolmin.make_paper_data(4, case=3, n_features=40, n_samples=30_000, random_state=3)
    G, c = DenseData(X * magnitude).gram()
    assert c != 1.0 and np.all(np.isfinite(G))
    exact = svd_reduction(X, 4)
    scaled = svd_reduction(X * magnitude, 4)
    np.testing.assert_allclose(
        scaled.singular_values[:4] / magnitude, exact.singular_values[:4], rtol=1e-12
    )

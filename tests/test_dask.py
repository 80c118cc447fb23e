"""``fit`` on dask arrays, on a real ``distributed.LocalCluster`` (the ``dask`` extra)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import cvxvolmin

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

# The tests' arrays come from memory, so their chunks travel in the graph.
pytestmark = pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")

# M x N above the thin-SVD size, so that the numpy path takes the Gram route too.
_M, _N, _R = 30, 50_000, 4


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


@pytest.fixture(scope="module")
def paper():
    return cvxvolmin.make_paper_data(_R, case=3, n_features=_M, n_samples=_N, random_state=7)


_READS = [0]


class _CountingStore:
    """An array-like store that counts the chunks read from it (a stand-in for zarr)."""

    def __init__(self, X):
        self.X, self.shape, self.dtype, self.ndim = X, X.shape, X.dtype, X.ndim

    def __getitem__(self, index):
        _READS[0] += 1
        return self.X[index]


def _fit(X, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cvxvolmin.NoisyColumnsWarning)
        return cvxvolmin.fit(X, _R, random_state=0, **options)


def test_h_equals_the_numpy_path_with_the_same_objective(client, paper):
    X, _, H = paper
    expected = _fit(X)
    found = _fit(da.from_array(X, chunks=(_M, 7000)))  # a short last chunk of 1000
    # H stays a dask array in X's chunks of columns; W and Q come back in memory
    assert isinstance(found.H, da.Array) and found.H.chunks == ((7000,) * 7 + (1000,), (_R,))
    assert isinstance(found.W, np.ndarray) and isinstance(found.Q, np.ndarray)
    assert cvxvolmin.matched_mse(expected.H, found.H) <= 1e-20
    assert cvxvolmin.matched_mse(H, found.H) <= 1e-20
    assert found.logdet == pytest.approx(expected.logdet, rel=1e-10)
    assert found.fit_error < 1e-12
    summary, expected_summary = found.summary(), expected.summary()
    for name in ("min_H", "colsum_error", "fit_error"):  # rounding-sized on both
        assert abs(summary[name] - expected_summary[name]) < 1e-12


def test_the_result_does_not_depend_on_the_chunking(client, paper):
    X, _, _ = paper
    results = [_fit(da.from_array(X, chunks=(_M, width))) for width in (4096, 25_000, _N)]
    for other in results[1:]:
        assert cvxvolmin.matched_mse(results[0].H, other.H) <= 1e-20
        assert other.logdet == pytest.approx(results[0].logdet, rel=1e-10)


def test_x_is_read_twice(client, paper):
    X, _, H = paper
    width = 5000
    source = da.from_array(_CountingStore(X), chunks=(_M, width), asarray=True)
    _READS[0] = 0
    result = _fit(source)
    # The Gram matrix (finite exactly when X is: the finiteness check), then the
    # projection with the column norms and residuals: each chunk twice.
    assert _READS[0] == 2 * (_N // width)
    # H, fit_error and the summary come from the projection kept on the workers.
    result.summary()
    assert cvxvolmin.matched_mse(H, result.H) <= 1e-20
    assert _READS[0] == 2 * (_N // width)


def test_zero_columns_give_zero_rows_and_noisy_columns_warn_as_on_numpy(client, paper):
    X, _, _ = paper
    X = X.copy()
    X[:, [5, 40_000]] = 0.0
    X[:, 17] = np.random.default_rng(0).standard_normal(_M)  # off the subspace
    caught = {}
    for kind, data in (("numpy", X), ("dask", da.from_array(X, chunks=(_M, 6000)))):
        with pytest.warns(cvxvolmin.NoisyColumnsWarning) as record:
            result = cvxvolmin.fit(data, _R, random_state=0)
        caught[kind] = [w.message for w in record if w.category is cvxvolmin.NoisyColumnsWarning]
        np.testing.assert_array_equal(result.H[[5, 40_000]], 0.0)
    (numpy_warning,), (dask_warning,) = caught["numpy"], caught["dask"]
    assert str(dask_warning) == str(numpy_warning)
    np.testing.assert_array_equal(dask_warning.columns, numpy_warning.columns)
    assert 17 in dask_warning.columns


def test_rank_errors_and_bad_entries_are_reported_as_on_numpy(client):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((_M, 3)) @ rng.random((3, _N))  # rank 3
    messages = []
    for data in (X, da.from_array(X, chunks=(_M, 8000))):
        with pytest.raises(cvxvolmin.InvalidParameterError) as caught:
            cvxvolmin.fit(data, _R, random_state=0)
        messages.append(str(caught.value))
    assert messages[0].split("(")[0] == messages[1].split("(")[0]
    assert "numerical rank 3, less than rank=4" in messages[1]
    X[2, 100] = np.nan
    with pytest.raises(cvxvolmin.InvalidParameterError, match="contains 1 NaN or infinite"):
        cvxvolmin.fit(da.from_array(X, chunks=(_M, 8000)), 3)


def test_paths_that_need_numpy_refuse_a_dask_array_before_any_solver_runs(client, paper):
    X, _, _ = paper
    with pytest.raises(cvxvolmin.InvalidParameterError, match="X is a dask array"):
        cvxvolmin.fit(da.from_array(X, chunks=(_M, 8000)), _R, formulation="row-sum")


# Raised in the workers' threads, where the caller's numpy.errstate does not reach.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning:dask.array.routines")
def test_dask_data_answers_as_dense_data(client):
    from cvxvolmin.data import DaskData, DenseData

    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3000))
    X[:, 4] = 0.0
    U = np.linalg.qr(rng.standard_normal((6, 2)))[0]
    dense, chunked = DenseData(X), DaskData(da.from_array(X, chunks=(3, 700)))  # rows split too
    assert chunked.array.chunks[0] == (6,)  # whole columns per chunk
    assert chunked.max_abs() == dense.max_abs()
    assert chunked.count_nonfinite() == 0
    np.testing.assert_allclose(chunked.column_norms(), dense.column_norms(), rtol=1e-15)
    np.testing.assert_allclose(chunked.column_sums(absolute=True), np.abs(X).sum(axis=0))
    np.testing.assert_array_equal(chunked.nonzero_columns(), dense.nonzero_columns())
    np.testing.assert_allclose(chunked.project(U), dense.project(U), rtol=1e-13, atol=1e-13)
    V = rng.standard_normal((3000, 2))
    np.testing.assert_allclose(chunked.times(V), dense.times(V), rtol=1e-12)
    np.testing.assert_allclose(chunked.gram()[0], dense.gram()[0], rtol=1e-12)
    for factor in (1e-300, 1e300):  # squares out of range: scaled by a power of two
        G, scale = DaskData(da.from_array(X * factor, chunks=(6, 700))).gram()
        expected_G, expected_scale = DenseData(X * factor).gram()
        assert scale == expected_scale != 1.0
        np.testing.assert_allclose(G, expected_G, rtol=1e-12)
    found, expected = chunked.projection(U), dense.projection(U)
    np.testing.assert_allclose(found.residual_norms, expected.residual_norms, rtol=1e-12)
    # M = 200: a chunk of 3000 columns is worked in blocks of 1310, a short one last.
    tall = rng.standard_normal((200, 3)) @ rng.random((3, 6000))
    tall[:, 2500] += 1e-3 * rng.standard_normal(200)  # off the subspace
    U = np.linalg.qr(tall[:, :3])[0]
    found = DaskData(da.from_array(tall, chunks=(200, 3000))).projection(U)
    expected = DenseData(tall).projection(U)
    np.testing.assert_allclose(found.Y, expected.Y, rtol=1e-13, atol=1e-13 * np.abs(tall).max())
    np.testing.assert_allclose(found.norms, expected.norms, rtol=1e-14)
    np.testing.assert_allclose(
        found.residual_norms, expected.residual_norms, rtol=1e-9, atol=1e-13 * found.norms.max()
    )
    assert found.residual_norms[2500] > 1e-4 * found.norms[2500]
    blocks = list(chunked.column_blocks(scale=2.0))
    assert [b.shape[1] for _, b in blocks] == [700] * 4 + [200]
    np.testing.assert_array_equal(np.hstack([b for _, b in blocks]), X / 2.0)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # in a worker
def test_the_first_pass_of_dask_data_counts_its_non_finite_entries(client):
    from cvxvolmin.data import DaskData

    X = np.ones((6, 3000))
    X[1, [10, 2500]] = [np.nan, -np.inf]
    U = np.eye(6)[:, :2]
    for first in (lambda d: d.gram(), lambda d: d.projection(U), lambda d: d.column_norms()):
        with pytest.raises(cvxvolmin.InvalidParameterError, match="X contains 2 NaN or inf"):
            first(DaskData(da.from_array(X, chunks=(6, 700))))
    with pytest.raises(cvxvolmin.InvalidParameterError, match="at least 1 NaN"):
        next(iter(DaskData(da.from_array(X, chunks=(6, 700))).column_blocks()))
    assert DaskData(da.from_array(X, chunks=(6, 700))).count_nonfinite() == 2

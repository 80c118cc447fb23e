"""zarr stores in and out (the ``dask`` extra): read lazily, checked as untrusted input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.cli import main
from cvxvolmin.io import DataFileError, load_matrix

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def paper():
    return cvxvolmin.make_paper_data(4, case=3, n_features=30, n_samples=120, random_state=0)


def _store(path, array, chunks):
    da.from_array(array, chunks=chunks).to_zarr(str(path))
    return path


def test_a_store_is_read_lazily_and_fits_as_in_memory(tmp_path, paper, capsys):
    X, _, H = paper
    store = _store(tmp_path / "X.zarr", X, (30, 50))  # a short last chunk of columns
    lazy = load_matrix(store)
    assert isinstance(lazy, da.Array) and lazy.chunks[1] == (50, 50, 20)
    np.testing.assert_array_equal(lazy.compute(), X)
    assert main(["fit", str(store), "--rank", "4", "--seed", "0", "--json"]) == 0
    from_store = json.loads(capsys.readouterr().out)
    in_memory = cvxvolmin.fit(X, 4, random_state=0)
    assert from_store["logdet"] == pytest.approx(in_memory.logdet, rel=1e-12)
    # --out to a zarr group: the same arrays an .npz holds, H (a dask array)
    # written in X's chunks of columns; --check reads the fit's H
    out = tmp_path / "fit.zarr"
    argv = ["fit", str(store), "--rank", "4", "--seed", "0", "--out", str(out), "--check"]
    assert main(argv) == 0
    assert "sufficiently scattered" in capsys.readouterr().out
    group = zarr.open_group(str(out), mode="r")
    assert sorted(group.array_keys()) == ["H", "Q", "W", "logdet_history"]
    assert group["H"].chunks == (50, 4)
    assert cvxvolmin.matched_mse(H, np.asarray(group["H"])) <= 1e-20
    # and `check` reads the group's H by name, as in memory
    capsys.readouterr()
    assert main(["check", str(out), "--var", "H", "--json", "--seed", "0"]) == 0
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert verdict == cvxvolmin.check_scattering(np.asarray(group["H"]), random_state=0).verdict


def test_a_dask_array_is_written_where_it_lies_in_even_chunks(tmp_path):
    from cvxvolmin.io import save_zarr_group

    H = np.arange(40.0).reshape(20, 2)
    uneven = da.from_array(H, chunks=((6, 4, 6, 4), (2,)))  # zarr needs even chunks
    save_zarr_group(tmp_path / "g.zarr", W=np.eye(2), H=uneven, short=da.from_array(H, 7))
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="r")
    assert group["H"].chunks == (6, 2) and group["short"].chunks == (7, 2)
    for name in ("H", "short"):
        np.testing.assert_array_equal(np.asarray(group[name]), H)
    np.testing.assert_array_equal(np.asarray(group["W"]), np.eye(2))


def test_transpose_reads_samples_as_rows(tmp_path, paper):
    X, _, _ = paper
    lazy = load_matrix(_store(tmp_path / "rows.zarr", X.T, (40, 30)), transpose=True)
    np.testing.assert_array_equal(lazy.compute(), X)


def _missing_chunk(tmp_path):
    store = _store(tmp_path / "holes.zarr", np.ones((4, 6)), (4, 2))
    array = zarr.open_array(str(store), mode="r+")
    array[:, 2:4] = array.fill_value  # zarr deletes a chunk written with its fill value
    return store


@pytest.mark.parametrize(
    "make, var, message",
    [
        (_missing_chunk, None, "declares 3 chunks .* holds 2: a missing chunk"),
        (lambda p: _store(p / "cube.zarr", np.ones((2, 2, 2)), (2, 2, 2)), None, "3-D"),
        (lambda p: _store(p / "c.zarr", np.ones((2, 2)) * 1j, (2, 2)), None, "complex"),
        (
            lambda p: (
                zarr.save_group(str(p / "g.zarr"), A=np.ones(2), B=np.ones(2)) or p / "g.zarr"
            ),
            None,
            "group of 2 arrays .* --var",
        ),
        (
            lambda p: zarr.save_group(str(p / "g.zarr"), A=np.ones((2, 2))) or p / "g.zarr",
            "B",
            "no array 'B'",
        ),
    ],
)
def test_bad_stores_are_refused_before_any_solver(tmp_path, capsys, make, var, message):
    store = make(tmp_path)
    with pytest.raises(DataFileError, match=message):
        load_matrix(store, var=var)
    argv = ["fit", str(store), "--rank", "2"] + (["--var", var] if var else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

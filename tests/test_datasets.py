"""cvxvolmin.datasets: where the real data files are looked for, and what the loaders return."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from cvxvolmin import datasets
from cvxvolmin.io import DataFileError


def test_missing_file_says_where_it_looked_and_what_to_do(tmp_path):
    with pytest.raises(datasets.DataNotFoundError, match=r"Moffet\.mat not found") as info:
        datasets.load_moffet(tmp_path)
    assert str(tmp_path) in str(info.value) and "CVXVOLMIN_DATA" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_environment_variable_is_searched_first(tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((220, 7))
    scipy.io.savemat(tmp_path / "Swimmer.mat", {"X": X})
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    data = datasets.load_swimmer()
    assert data.path == tmp_path / "Swimmer.mat"
    np.testing.assert_array_equal(data.X, X)
    # Images are stored column by column (MATLAB): a column of W shows as 20 x 11.
    np.testing.assert_array_equal(data.as_image(X[:, 0])[:, 0], X[:20, 0])
    with pytest.raises(ValueError, match="cannot be shown as a 20 x 11 image"):
        data.as_image(X[:10, 0])


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ({"X": np.ones((220, 3)), "Y": np.ones((2, 2))}, None),
        ({"X": np.ones((100, 3))}, r"has shape \(100, 3\); expected \(220, 'any'\)"),
        ({"Y": np.ones((220, 3))}, "no 2-D variable 'X'"),
        ({"X": np.array([["a", "b"]] * 220, dtype=object)}, "not numeric"),
    ],
)
def test_malformed_files_are_refused(tmp_path, contents, message):
    scipy.io.savemat(tmp_path / "Swimmer.mat", contents)
    if message is None:
        assert datasets.load_swimmer(tmp_path).X.shape == (220, 3)
    else:
        with pytest.raises(DataFileError, match=message):
            datasets.load_swimmer(tmp_path)


def test_shared_data_in_the_project_orientation(shared_data):
    moffet = datasets.load_moffet(shared_data)
    assert moffet.X.shape == (159, 2500) and moffet.rank == 3 and moffet.image_of == "H"
    raman = datasets.load_raman(shared_data)
    assert raman.X.shape == (2478, 151) and raman.H.shape == (151, 5)
    np.testing.assert_allclose(raman.H.sum(axis=1), 1.0, atol=1e-12)
    classic = datasets.load_classic(shared_data)
    assert scipy.sparse.issparse(classic.X) and classic.X.shape == (41681, 7094)
    assert classic.labels.shape == (7094,) and set(np.unique(classic.labels)) == {0, 1, 2, 3}
    swimmer = datasets.load_swimmer(shared_data)
    assert swimmer.X.shape == (220, 256) and swimmer.X.dtype == float

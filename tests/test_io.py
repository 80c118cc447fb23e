"""cvxvolmin.io: files are untrusted input, read exactly or refused with one clear message."""

from __future__ import annotations

import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse

import cvxvolmin
from cvxvolmin.io import DataFileError, load_matrix


def refused(path, message, **options):
    """Assert that ``load_matrix`` refuses ``path`` with ``message``, warning nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataFileError, match=message) as info:
            load_matrix(path, **options)
    assert type(info.value) is DataFileError
    assert "\n" not in str(info.value)
    return str(info.value)


def test_data_file_error_is_an_invalid_parameter_error():
    assert issubclass(DataFileError, cvxvolmin.InvalidParameterError)
    assert issubclass(DataFileError, ValueError) and issubclass(DataFileError, TypeError)


# --- .npy ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<f4", "<f2", "<i2", ">u4", "?", "longdouble"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_round_trip_is_exact(tmp_path, dtype, order):
    values = np.random.default_rng(0).standard_normal((5, 3)) * 100
    A = np.asarray(values, dtype=dtype, order=order)
    np.save(tmp_path / "A.npy", A)
    loaded = load_matrix(tmp_path / "A.npy")
    assert loaded.dtype == A.dtype and loaded.shape == (5, 3)
    np.testing.assert_array_equal(loaded, A)
    np.testing.assert_array_equal(load_matrix(tmp_path / "A.npy", transpose=True), A.T)


def _write_npy_header(path: Path, shape, descr="<f8", payload=b"", version=(1, 0)):
    with path.open("wb") as handle:
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        if version == (1, 0):
            np.lib.format.write_array_header_1_0(handle, header)
        else:
            np.lib.format.write_array_header_2_0(handle, header)
        handle.write(payload)


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_declaring_more_than_the_file_holds_is_refused_before_any_allocation(tmp_path, version):
    # Read as declared, this would allocate 8 TB (MemoryError and a traceback).
    path = tmp_path / "big.npy"
    _write_npy_header(path, (10**6, 10**6), payload=b"\0" * 64, version=version)
    message = refused(path, "the header declares shape")
    assert message == (
        f"{path}: the header declares shape (1000000, 1000000) of float64 "
        "(8000000000000 bytes) but the file holds 64 bytes (truncated or corrupt)."
    )


def test_npy_truncated_or_with_trailing_bytes_is_refused(tmp_path):
    path = tmp_path / "A.npy"
    np.save(path, np.ones((4, 3)))
    whole = path.read_bytes()
    path.write_bytes(whole[:-8])
    refused(path, r"declares shape \(4, 3\) of float64 \(96 bytes\) but the file holds 88 bytes")
    path.write_bytes(whole + b"xy")
    refused(path, r"\(96 bytes\) but the file holds 98 bytes \(trailing data, or corrupt\)")


def test_npy_header_length_is_checked_before_the_header_is_read(tmp_path):
    path = tmp_path / "A.npy"
    # Format 2 stores a 4-byte header length: 4 GB would be read before numpy's check.
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 4 * 10**9) + b"{")
    refused(path, "declares a .npy header of 4000000000 bytes, above numpy's limit of 10000")
    np.save(path, np.ones((4, 3)))
    path.write_bytes(path.read_bytes()[:20])
    refused(path, "declares a .npy header of 118 bytes but the file holds only 20 bytes")
    path.write_bytes(b"\x93NUMPY\x01\x00")
    refused(path, "is truncated inside its .npy header")


def test_npy_header_that_is_not_an_array_header_is_refused(tmp_path):
    path = tmp_path / "A.npy"
    header = b"{'descr': '<f8', 'shape': (4, 3)}".ljust(117) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
    refused(path, r"has a corrupt .npy header \(Header does not contain the correct keys")
    _write_npy_header(path, (-4, 3))
    refused(path, r"has a corrupt .npy header \(shape \(-4, 3\)\)")
    path.write_bytes(b"\x93NUMPY\x07\x00" + b"\0" * 20)
    refused(path, "format version 7.0, which is not supported")


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[{"a": 1}, None]], dtype=object), r"holds an object array \(dtype object\)"),
        (np.array([["a", "b"]]), r"holds non-numeric data \(dtype <U1\)"),
        (
            np.ones((2, 2)) * 1j,
            r"holds complex numbers \(dtype complex128\); the data must be real",
        ),
        (np.zeros((2, 2), dtype=[("a", "<f8")]), r"holds a structured array"),
        (np.zeros((2, 2), dtype="M8[s]"), r"holds non-numeric data \(dtype datetime64\[s\]\)"),
        (np.zeros(30), r"holds a 1-D array of shape \(30,\); the data must be a 2-D array"),
        (np.zeros((2, 2, 2)), r"holds a 3-D array of shape \(2, 2, 2\)"),
        (np.float64(3.0), r"holds a 0-D array of shape \(\)"),
    ],
)
def test_npy_bad_dtype_or_dimensions_are_refused_from_the_header(tmp_path, array, message):
    path = tmp_path / "A.npy"
    np.save(path, array, allow_pickle=True)
    refused(path, message)


class _SideEffect:
    """Unpickling it creates a file: proof that the pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def _booby_trapped_npy(tmp_path) -> tuple[Path, Path]:
    marker = tmp_path / "unpickled.marker"
    path = tmp_path / "trap.npy"
    np.save(path, np.array([[_SideEffect(marker), 1.0]], dtype=object), allow_pickle=True)
    assert not marker.exists()
    return path, marker


def test_a_pickled_npy_is_refused_and_never_unpickled(tmp_path, capsys):
    from cvxvolmin.cli import main

    path, marker = _booby_trapped_npy(tmp_path)
    # A loader that unpickled and then refused the object dtype would still
    # fail here: the marker file records that the pickle ran.
    refused(path, "holds an object array .* never unpickled")
    assert not marker.exists()
    for argv in (["fit", str(path), "--rank", "2"], ["check", str(path)]):
        assert main(argv) == 2
        _, err = capsys.readouterr()
        assert len(err.splitlines()) == 1 and "holds an object array" in err
        assert not marker.exists()
    # The trap is armed: unpickling it does create the marker.
    np.load(path, allow_pickle=True)
    assert marker.exists()


# --- paths ---------------------------------------------------------------------------


def test_missing_path_directory_and_unknown_suffix(tmp_path):
    refused(tmp_path / "missing.npy", "^no such file: ")
    (tmp_path / "folder.npy").mkdir()
    refused(tmp_path / "folder.npy", r"folder\.npy is a directory, not a data file")
    (tmp_path / "X.xlsx").write_text("x")
    refused(tmp_path / "X.xlsx", "unknown file format '.xlsx'")
    np.save(tmp_path / "X.npy", np.ones((2, 2)))
    refused(tmp_path / "X.npy", "--var applies to .mat files only", var="X")
    refused(
        tmp_path / "X.npy", "--skip-header applies to .csv and .txt files only", skip_header=True
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("1,2\n3,4\n")
    path.chmod(0)
    try:
        refused(path, "cannot read .*X.csv: Permission denied")
    finally:
        path.chmod(0o600)


# --- .csv / .txt ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),
        ("a,b,c\n1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]]),  # a header is skipped
        ('"x1","x2"\n1,2\n', [[1, 2]]),
        ("# comment\n\nwavelength sample\n1 2\n3 4\n", [[1, 2], [3, 4]]),
        ("\ufeffa,b\n1,2\n", [[1, 2]]),  # a spreadsheet's byte-order mark
        ("\ufeff1,2\n3,4\n", [[1, 2], [3, 4]]),
        ("nan,inf,-1e3\n1,2,3\n", [[np.nan, np.inf, -1e3], [1, 2, 3]]),  # numbers: data
        ("1 2 3\n", [[1, 2, 3]]),
        ("1\n2\n", [[1], [2]]),
    ],
)
def test_text_tables_and_headers(tmp_path, text, expected):
    path = tmp_path / "X.csv"
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(load_matrix(path), np.array(expected, dtype=float))


def test_a_numeric_first_row_is_never_dropped_unless_asked(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("2019,2020\n1,2\n3,4\n")  # a header of years looks like data
    np.testing.assert_array_equal(load_matrix(path), [[2019, 2020], [1, 2], [3, 4]])
    np.testing.assert_array_equal(load_matrix(path, skip_header=True), [[1, 2], [3, 4]])
    path.write_text("# units\nid,1,2\n3,4,5\n")  # names and numbers: not taken for a header
    message = refused(path, "line 2 holds 'id', not a number: 'id,1,2'")
    assert "if that line is a header, pass --skip-header / skip_header=True" in message
    np.testing.assert_array_equal(load_matrix(path, skip_header=True), [[3, 4, 5]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"X\.csv is empty; expected a table of numbers\.$"),
        ("\n# only comments\n\n", r"is empty \(blank or comment lines only\)"),
        ("a,b,c\n", "holds a header line but no numbers"),
        ("1,2,x\n3,4,5\n", "as a numeric table: line 1 holds 'x', not a number: '1,2,x'"),
        ("a,b\n1,2\n3,x\n5,6\n", "line 3 holds 'x', not a number: '3,x';"),
        ("1,2\n3,4\n5\n", "line 3 has 1 value but line 1 has 2: '5'"),
        ("1,2,\n", "line 1 holds an empty field, not a number: '1,2,';"),
        ("1 2\n" + "3 " * 40 + "x\n", r"line 2 holds 'x', not a number: '3 3 .*\.\.\.'"),
    ],
)
def test_bad_text_is_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "X.csv"
    path.write_text(text)
    found = refused(path, message)
    if "line 1 holds an empty" in found or "line 3" in found:
        assert "--skip-header" not in found  # only a line of text may be a header


def test_bytes_that_are_not_text_are_shown_in_the_line(tmp_path):
    path = tmp_path / "X.csv"
    path.write_bytes(b"1,2\n\xff\xfe,3\n")
    refused(path, "line 2 holds '\ufffd\ufffd', not a number")


# --- .mat ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (np.array([[1.0, "a"], [2.0, "b"]], dtype=object), r"not numeric \(a cell array\)"),
        ({"field": np.ones((2, 2))}, r"not numeric \(a struct or object\)"),
        ("some text", r"not numeric \(a char array, text\)"),
        (np.ones((3, 3)) * 1j, r"not real \(complex numbers\)"),
        (
            scipy.sparse.csc_matrix(np.eye(3) * 1j),
            r"not numeric \(a sparse matrix of dtype complex128\)",
        ),
        (np.ones((2, 2, 2)), r"a 3-D array of shape \(2, 2, 2\), not a matrix"),
    ],
)
def test_mat_variables_that_are_not_numeric_matrices_are_refused(tmp_path, value, what):
    path = tmp_path / "X.mat"
    scipy.io.savemat(path, {"v": value})
    refused(path, f"variable 'v' is {what}; the data must be a numeric matrix", var="v")
    refused(path, f"holds no numeric matrix of at least 2 x 2 \\(variables: v is {what}\\)\\.$")


def test_mat_selects_the_only_numeric_matrix(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    path = tmp_path / "X.mat"
    scipy.io.savemat(path, {"X": X, "labels": np.array(["a", "b"], dtype=object), "k": 1.0})
    np.testing.assert_array_equal(load_matrix(path), X)
    scipy.io.savemat(path, {"A": X, "B": X})
    refused(path, r"holds 2 numeric matrices \(A \(4, 3\), B \(4, 3\)\); choose one with --var")
    refused(path, "has no 2-D variable 'C'; it has: A, B", var="C")
    np.testing.assert_array_equal(load_matrix(path, var="B", transpose=True), X.T)
    scipy.io.savemat(path, {"row": np.ones((1, 3))})
    refused(path, r"no numeric matrix of at least 2 x 2 \(variables: row \(1, 3\)\); choose")
    np.testing.assert_array_equal(load_matrix(path, var="row"), np.ones((1, 3)))


def test_mat_that_is_not_a_mat_file_is_refused(tmp_path):
    path = tmp_path / "X.mat"
    path.write_bytes(b"\x00not a mat file at all" * 10)
    refused(path, "cannot read .* as a .mat file")


def test_pickle_module_is_not_needed_to_read_any_format(tmp_path, monkeypatch):
    # Every reader works with unpickling disabled outright.
    def no_unpickling(*args, **kwargs):
        raise AssertionError("a file was unpickled")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    X = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "X.npy", X)
    np.savetxt(tmp_path / "X.csv", X, delimiter=",")
    scipy.io.savemat(tmp_path / "X.mat", {"X": X})
    for name in ("X.npy", "X.csv", "X.mat"):
        np.testing.assert_array_equal(load_matrix(tmp_path / name), X)


def test_os_errors_while_reading_are_data_file_errors(tmp_path, monkeypatch):
    from cvxvolmin import io

    def denied(path, skip_header=False):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(io, "_load_text", denied)
    (tmp_path / "X.csv").write_text("1,2\n")
    refused(tmp_path / "X.csv", r"^cannot read .*X\.csv: Permission denied\.$")

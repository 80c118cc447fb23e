"""cvxvolmin.io: files are untrusted input, read exactly or refused with one clear message."""

from __future__ import annotations

import os
import pickle
import re
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
    # Format 1's 2-byte length is unsigned: 0xFFFF is 65535 bytes, not -1.
    path.write_bytes(b"\x93NUMPY\x01\x00" + b"\xff\xff" + b"{")
    refused(path, "declares a .npy header of 65535 bytes, above numpy's limit")
    np.save(path, np.ones((4, 3)))
    whole = path.read_bytes()  # 10 bytes of magic and length, a 118-byte header, the data
    for size in (20, 127):  # the file ends inside the header, or 1 byte short of its end
        path.write_bytes(whole[:size])
        refused(path, f"declares a .npy header of 118 bytes but the file holds only {size} bytes")
    path.write_bytes(b"\x93NUMPY\x01\x00")
    message = refused(path, "is truncated inside its .npy header")
    assert message.startswith(f"{path} ")


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_header_of_exactly_numpys_limit_is_read(tmp_path, version):
    X = np.arange(12.0).reshape(4, 3)
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }".ljust(9999) + b"\n"
    length = struct.pack("<H" if version == (1, 0) else "<I", len(header))
    path = tmp_path / "A.npy"
    path.write_bytes(b"\x93NUMPY" + bytes(version) + length + header + X.tobytes())
    np.testing.assert_array_equal(load_matrix(path), X)
    length = struct.pack("<H" if version == (1, 0) else "<I", len(header) + 1)
    path.write_bytes(b"\x93NUMPY" + bytes(version) + length + header + b" ")
    refused(path, "declares a .npy header of 10001 bytes, above numpy's limit of 10000")


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_npy_every_format_numpy_writes_is_read(tmp_path, version):
    X = np.arange(12.0).reshape(4, 3)
    path = tmp_path / "A.npy"
    with path.open("wb") as handle:
        np.lib.format.write_array(handle, X, version=version)
    np.testing.assert_array_equal(load_matrix(path), X)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_npy_empty_matrix_is_read_as_such(tmp_path, shape):
    # An empty matrix is a matrix: refusing it is the caller's business.
    np.save(tmp_path / "A.npy", np.zeros(shape))
    loaded = load_matrix(tmp_path / "A.npy")
    assert loaded.shape == shape and loaded.dtype == np.float64


def test_npy_that_shrinks_while_it_is_read_is_refused(tmp_path, monkeypatch):
    # The size is checked, then the data read: a file cut in between must not
    # leave uninitialized memory in the matrix.
    path = tmp_path / "A.npy"
    np.save(path, np.ones((4, 3)))
    path.write_bytes(path.read_bytes()[:-8])
    real_stat = Path.stat

    def stat_before_the_cut(self, *args, **kwargs):
        result = real_stat(self, *args, **kwargs)
        if self != path:
            return result
        fields = list(result)
        fields[6] += 8  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(Path, "stat", stat_before_the_cut)
    refused(path, f"^{re.escape(str(path))} became shorter while it was read\\.$")


def test_npy_header_that_is_not_an_array_header_is_refused(tmp_path):
    path = tmp_path / "A.npy"
    header = b"{'descr': '<f8', 'shape': (4, 3)}".ljust(117) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
    refused(path, r"has a corrupt .npy header \(Header does not contain the correct keys")
    _write_npy_header(path, (-4, 3))
    refused(path, r"has a corrupt .npy header \(shape \(-4, 3\)\)")
    for version in (b"\x07\x00", b"\x03\x01", b"\x04\x00"):
        path.write_bytes(b"\x93NUMPY" + version + b"\0" * 20)
        refused(path, f"format version {version[0]}.{version[1]}, which is not supported")
    path.write_bytes(b"PK\x03\x04" + b"\0" * 20)  # e.g. an .npz saved as .npy
    refused(
        path, r"is not a .npy file \(its header is missing\); save the array with numpy\.save\.$"
    )


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.array([[{"a": 1}, None]], dtype=object),
            r"holds an object array \(dtype object\).* save a numeric array "
            r"\(e\.g\. np\.save\(path, X\.astype\(float\)\)\)\.$",
        ),
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
    refused(tmp_path / "X.xlsx", r"unknown file format '\.xlsx' for .*; use one of \.npy, \.csv, ")
    (tmp_path / "X").write_text("x")
    refused(
        tmp_path / "X",
        r"unknown file format '\(none\)' for .*\.npy, \.csv, \.txt, \.mat, \.zarr\.$",
    )
    (tmp_path / "X.zarr").write_text("x")
    refused(tmp_path / "X.zarr", r"X\.zarr is a file; a \.zarr store is a folder")
    np.save(tmp_path / "X.npy", np.ones((2, 2)))
    refused(tmp_path / "X.npy", "--var applies to .mat files only", var="X")
    refused(
        tmp_path / "X.npy", "--skip-header applies to .csv and .txt files only", skip_header=True
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_path_that_is_not_a_regular_file_is_refused(tmp_path):
    # Reading a named pipe would block until something writes to it.
    os.mkfifo(tmp_path / "X.csv")
    refused(tmp_path / "X.csv", r"X\.csv is not a regular file\.$")


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
        ("1,2 # a comment # with two marks\n3,4\n", [[1, 2], [3, 4]]),  # the first # counts
        ("1,2\n# 3,4\n5,6 #\n", [[1, 2], [5, 6]]),
    ],
)
@pytest.mark.parametrize("name", ["X.csv", "X.txt", "X.TXT"])
def test_text_tables_and_headers(tmp_path, text, expected, name):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_matrix(path)
    # Integers in the file are read as floats, like every other number.
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, np.array(expected, dtype=float))


def test_a_numeric_first_row_is_never_dropped_unless_asked(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("2019,2020\n1,2\n3,4\n")  # a header of years looks like data
    np.testing.assert_array_equal(load_matrix(path), [[2019, 2020], [1, 2], [3, 4]])
    np.testing.assert_array_equal(load_matrix(path, skip_header=True), [[1, 2], [3, 4]])
    path.write_text("# units\nid,1,2\n3,4,5\n")  # names and numbers: not taken for a header
    refused(
        path,
        r"line 2 holds 'id', not a number: 'id,1,2' \(if that line is a header, pass "
        r"--skip-header / skip_header=True\); expected numbers",
    )
    np.testing.assert_array_equal(load_matrix(path, skip_header=True), [[3, 4, 5]])
    path.rename(tmp_path / "X.txt")  # .txt files are text too
    np.testing.assert_array_equal(load_matrix(tmp_path / "X.txt", skip_header=True), [[3, 4, 5]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"X\.csv is empty; expected a table of numbers\.$"),
        ("\n# only comments\n\n", r"X\.csv is empty \(blank or comment lines only\); expected"),
        ("a,b\n\x1c \t\n", "holds a header line but no numbers"),  # \x1c: a blank to numpy too
        ("a,b,c\n", "holds a header line but no numbers"),
        ("1,2,x\n3,4,5\n", "as a numeric table: line 1 holds 'x', not a number: '1,2,x'"),
        ("a,b\n1,2\n3,x\n5,6\n", "line 3 holds 'x', not a number: '3,x';"),
        ("1,2\n3,4\n5\n", "line 3 has 1 value but line 1 has 2: '5'"),
        ("\n1,2\n3,4,5\n", "line 3 has 3 values but line 2 has 2: '3,4,5'"),
        ("1,2,\n", "line 1 holds an empty field, not a number: '1,2,';"),
    ],
)
def test_bad_text_is_refused_naming_the_line(tmp_path, text, message):
    path = tmp_path / "X.csv"
    path.write_text(text)
    found = refused(path, message)
    if "as a numeric table" in found:
        assert found.endswith(
            "; expected numbers separated by commas or whitespace, one row per line."
        )
    if "line 1 holds an empty" in found or "line 3" in found:
        assert "--skip-header" not in found  # only a line of text may be a header


def test_what_float_takes_but_numpy_refuses_is_explained_in_numpys_words(tmp_path):
    path = tmp_path / "X.csv"
    path.write_text("1_000,2\n")  # float("1_000") is 1000.0
    with pytest.raises(ValueError) as numpy_error:
        np.loadtxt(path, delimiter=",")
    words = str(numpy_error.value).splitlines()[0]
    assert "1_000" in words
    refused(path, re.escape(f"as a numeric table: {words}; expected numbers separated by"))


@pytest.mark.parametrize("width", [59, 60, 61, 100])
def test_a_bad_line_is_shown_cut_to_60_characters(tmp_path, width):
    line = "x" + " " * (width - 2) + "1"
    shown = line if width <= 60 else line[:57] + "..."
    path = tmp_path / "X.csv"
    path.write_text(f"1 2\n{line}\n")
    refused(path, re.escape(f"line 2 holds 'x', not a number: {shown!r}; expected"))


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
    scipy.io.savemat(path, {"row": np.ones((1, 3)), "s": "text"})
    refused(
        path,
        r"\(variables: row \(1, 3\), s is not numeric \(a char array, text\)\); "
        r"choose one with --var NAME\.$",
    )
    np.testing.assert_array_equal(load_matrix(path, var="row"), np.ones((1, 3)))


def test_mat_without_variables_is_refused_saying_so(tmp_path):
    path = tmp_path / "X.mat"
    scipy.io.savemat(path, {})
    refused(path, r"holds no numeric matrix of at least 2 x 2 \(variables: none\)\.$")
    refused(path, r"has no 2-D variable 'X'; it has: none\.$", var="X")


def test_mat_that_is_not_a_mat_file_is_refused(tmp_path):
    path = tmp_path / "X.mat"
    path.write_bytes(b"\x00not a mat file at all" * 10)
    refused(path, "cannot read .* as a .mat file")
    # The header of a MATLAB v7.3 file (HDF5 inside): version 2, little-endian.
    path.write_bytes(b"MATLAB 7.3 MAT-file".ljust(124) + b"\x00\x02IM")
    refused(
        path,
        r"X\.mat is a MATLAB v7\.3 \(HDF5\) file, which is not supported; save it with "
        r"save\(\.\.\., '-v7'\) in MATLAB or convert it to \.npy\.$",
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValueError("Mat 4 mopt wrong format\nmore detail"), "Mat 4 mopt wrong format"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_mat_reader_errors_are_named_in_one_line(tmp_path, monkeypatch, error, reason):
    # scipy raises many types on corrupt files: the first line of the message, or the
    # type when there is no message.
    def loadmat(path):
        raise error

    monkeypatch.setattr(scipy.io, "loadmat", loadmat)
    (tmp_path / "X.mat").write_bytes(b"\0" * 128)
    refused(tmp_path / "X.mat", rf"^cannot read .*X\.mat as a \.mat file \({reason}\)\.$")


def test_mat_value_that_is_not_an_array_is_named_by_its_type(tmp_path, monkeypatch):
    # loadmat's own classes are arrays; anything else is refused, not read.
    monkeypatch.setattr(scipy.io, "loadmat", lambda path: {"v": [[1.0, 2.0], [3.0, 4.0]]})
    (tmp_path / "X.mat").write_bytes(b"\0" * 128)
    refused(tmp_path / "X.mat", r"variable 'v' is not numeric \(a list\);", var="v")


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


def test_zarr_stores_refuse_skip_header_and_read_a_group_of_one_array(tmp_path):
    """A store has no header row to skip; a group with no array says so and how to choose;
    a group with one array is read without --var."""
    da = pytest.importorskip("dask.array")
    zarr = pytest.importorskip("zarr")
    store = tmp_path / "X.zarr"
    da.from_array(np.ones((3, 4)), chunks=(3, 2)).to_zarr(str(store))
    with pytest.raises(DataFileError, match=r"^--skip-header applies to \.csv and \.txt files"):
        load_matrix(store, skip_header=True)
    zarr.open_group(str(tmp_path / "empty.zarr"), mode="w")
    with pytest.raises(DataFileError, match=r"group of 0 arrays \(none\); name one with --var"):
        load_matrix(tmp_path / "empty.zarr")
    group = zarr.open_group(str(tmp_path / "one.zarr"), mode="w")  # one array: no --var needed
    group.create_array("X", shape=(2, 3), dtype="f8")[:] = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        load_matrix(tmp_path / "one.zarr").compute(), np.arange(6.0).reshape(2, 3)
    )

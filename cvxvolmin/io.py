"""Reading data matrices from files, which are untrusted input.

Nothing is ever unpickled, and nothing is allocated on a file's word alone:

* ``.npy``: the header is parsed first (``numpy.lib.format``); object,
  structured and non-numeric dtypes are refused from the header, as are
  arrays that are not 2-D and headers whose declared size (shape times item
  size) differs from the bytes the file holds. Only then is the data read.
* ``.csv``/``.txt``: numbers separated by commas or whitespace, ``#``
  comments; a first line with no number in it is a header and is skipped
  (``skip_header=True`` skips the first line whatever it holds). An error
  names the line and shows it.
* ``.mat``: read by :func:`scipy.io.loadmat`; cell, struct, char and other
  non-numeric variables are refused.
* ``.zarr`` (a folder; the ``dask`` extra): opened lazily as a dask array,
  so data beyond memory is never loaded; the array's metadata is checked
  (2-D, numeric dtype), and a store missing any of its declared chunks is
  refused, since zarr would read a missing chunk as its fill value. A group
  names its array with ``var``.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from .exceptions import InvalidParameterError

#: File extensions ``load_matrix`` understands.
FORMATS = (".npy", ".csv", ".txt", ".mat", ".zarr")

# dtype kinds read as numbers: bool, signed and unsigned integers, floats.
_NUMERIC_KINDS = "biuf"
# numpy's own limit on a .npy header (numpy.lib.format's max_header_size).
_MAX_NPY_HEADER = 10_000
# Length of a shown line of a text file in error messages.
_SNIPPET = 60


class DataFileError(InvalidParameterError):
    """A data file is missing, unreadable or holds no usable matrix."""


def _dtype_problem(dtype: np.dtype) -> str | None:
    """Why ``dtype`` cannot hold a data matrix, or None when it can."""
    if dtype.hasobject:
        return (
            "an object array (dtype object), which only unpickling could read, and files "
            "are never unpickled; save a numeric array (e.g. np.save(path, X.astype(float)))"
        )
    if dtype.names is not None or dtype.subdtype is not None:
        return f"a structured array (dtype {dtype}); save a plain numeric matrix"
    if dtype.kind == "c":
        return f"complex numbers (dtype {dtype}); the data must be real"
    if dtype.kind not in _NUMERIC_KINDS:
        return f"non-numeric data (dtype {dtype}); save a numeric matrix"
    return None


def _npy_header_length(handle, path: Path, version: tuple[int, int], size: int) -> None:
    """Refuse a header longer than numpy's limit or than the file, before it is read.

    numpy reads the whole header (up to 4 GiB in format 2) before checking
    its length, so the length field is checked here first.
    """
    start = handle.tell()
    fmt = "<H" if version == (1, 0) else "<I"
    field = handle.read(struct.calcsize(fmt))
    handle.seek(start)
    if len(field) < struct.calcsize(fmt):
        raise DataFileError(f"{path} is truncated inside its .npy header.")
    (length,) = struct.unpack(fmt, field)
    if length > _MAX_NPY_HEADER:
        raise DataFileError(
            f"{path} declares a .npy header of {length} bytes, above numpy's limit of "
            f"{_MAX_NPY_HEADER} (corrupt, or not a plain numeric array)."
        )
    if start + len(field) + length > size:
        raise DataFileError(
            f"{path} declares a .npy header of {length} bytes but the file holds only "
            f"{size} bytes (truncated or corrupt)."
        )


def _load_npy(path: Path) -> np.ndarray:
    size = path.stat().st_size
    with path.open("rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
        except ValueError:
            raise DataFileError(
                f"{path} is not a .npy file (its header is missing); save the array with "
                "numpy.save."
            ) from None
        if version == (1, 0):
            read_header = np.lib.format.read_array_header_1_0
        elif version in ((2, 0), (3, 0)):
            # Format 3 differs from 2 only in the header's encoding (utf-8 for
            # structured field names); a numeric dtype's header is ASCII.
            read_header = np.lib.format.read_array_header_2_0
        else:
            raise DataFileError(
                f"{path} is a .npy file of format version {version[0]}.{version[1]}, which "
                "is not supported (1.0 to 3.0 are); save it again with numpy.save."
            )
        _npy_header_length(handle, path, version, size)
        try:
            shape, fortran_order, dtype = read_header(handle, max_header_size=_MAX_NPY_HEADER)
        except ValueError as exc:
            reason = str(exc).splitlines()[0]
            raise DataFileError(f"{path} has a corrupt .npy header ({reason}).") from None
        problem = _dtype_problem(dtype)
        if problem is not None:
            raise DataFileError(f"{path} holds {problem}.")
        if len(shape) != 2:
            raise DataFileError(
                f"{path} holds a {len(shape)}-D array of shape {shape}; the data must be a "
                "2-D array (a matrix)."
            )
        if min(shape) < 0:
            raise DataFileError(f"{path} has a corrupt .npy header (shape {shape}).")
        count = math.prod(shape)
        declared = count * dtype.itemsize
        held = size - handle.tell()
        if declared != held:
            what = "truncated or corrupt" if held < declared else "trailing data, or corrupt"
            raise DataFileError(
                f"{path}: the header declares shape {shape} of {dtype} ({declared} bytes) "
                f"but the file holds {held} bytes ({what})."
            )
        data = np.empty(count, dtype=dtype)
        if count and handle.readinto(data.view(np.uint8)) != declared:
            raise DataFileError(f"{path} became shorter while it was read.")
    return data.reshape(shape[::-1]).T if fortran_order else data.reshape(shape)


def _content(line: str) -> str:
    """A text line without its ``#`` comment and surrounding blanks."""
    return line.partition("#")[0].strip()


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _snippet(content: str) -> str:
    shown = content if len(content) <= _SNIPPET else content[: _SNIPPET - 3] + "..."
    return repr(shown)


def _open_text(path: Path):
    # utf-8-sig drops the byte-order mark spreadsheet programs write; bytes
    # that are not utf-8 show up as U+FFFD in the line an error names.
    return path.open(encoding="utf-8-sig", errors="replace")


def _first_lines(path: Path, skip_header: bool):
    """The header's line number (or 0) and the first data line's number and content."""
    header = 0
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            content = _content(line)
            if not content:
                continue
            if not header:
                delimiter = "," if "," in content else None
                # A header has no number in it: a line with any number is
                # data (or an error), never dropped.
                if skip_header or not any(map(_is_number, content.split(delimiter))):
                    header = number
                    continue
            return header, number, content
    return header, 0, ""


def _locate_problem(path: Path, delimiter: str | None, skip: int) -> tuple[int, str, bool] | None:
    """Where a table fails to parse: the first bad field or ragged row.

    Returns the line number, a description, and whether the line holds a
    field of text (so that it may be a header); None if no line is at fault.
    """
    width = first = 0
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            content = _content(line)
            if number <= skip or not content:
                continue
            fields = content.split(delimiter)
            bad = next((f.strip() for f in fields if not _is_number(f)), None)
            if bad is not None:
                shown = "an empty field" if bad == "" else repr(bad)
                return (
                    number,
                    f"line {number} holds {shown}, not a number: {_snippet(content)}",
                    bool(bad),
                )
            if not width:
                width, first = len(fields), number
            elif len(fields) != width:
                values = "value" if len(fields) == 1 else "values"
                return (
                    number,
                    f"line {number} has {len(fields)} {values} but line {first} has {width}: "
                    f"{_snippet(content)}",
                    False,
                )
    return None


def _load_text(path: Path, skip_header: bool) -> np.ndarray:
    header, first, content = _first_lines(path, skip_header)
    if not first:
        if header:
            raise DataFileError(f"{path} holds a header line but no numbers.")
        empty = "is empty" if path.stat().st_size == 0 else "is empty (blank or comment lines only)"
        raise DataFileError(f"{path} {empty}; expected a table of numbers.")
    delimiter = "," if "," in content else None
    try:
        # Line `first` holds data, so numpy never warns of an empty input; its
        # default dtype is float.
        with _open_text(path) as handle:
            data = np.loadtxt(handle, delimiter=delimiter, ndmin=2, skiprows=header)
    except ValueError as exc:
        located = _locate_problem(path, delimiter, header)
        if located is None:  # numpy refused what float() accepts: its own words
            problem, hint = str(exc).splitlines()[0], ""
        else:
            number, problem, text = located
            # A first line that mixes names and numbers is not taken for a
            # header (it could be data); say how to skip it if it is one.
            maybe_header = text and number == first and not header
            hint = " (if that line is a header, pass --skip-header / skip_header=True)"
            hint = hint if maybe_header else ""
        raise DataFileError(
            f"cannot read {path} as a numeric table: {problem}{hint}; expected numbers "
            "separated by commas or whitespace, one row per line."
        ) from None
    return data


def _describe_mat(value) -> str | None:
    """What keeps a loaded .mat variable from being a numeric matrix, or None."""
    from .data import is_sparse

    if is_sparse(value):
        if value.dtype.kind in _NUMERIC_KINDS:
            return None
        return f"not numeric (a sparse matrix of dtype {value.dtype})"
    if not isinstance(value, np.ndarray):
        return f"not numeric (a {type(value).__name__})"
    # A struct's fields are objects: ask for names first.
    if value.dtype.names is not None:
        return "not numeric (a struct or object)"
    if value.dtype.hasobject:
        return "not numeric (a cell array)"
    if value.dtype.kind in "US":
        return "not numeric (a char array, text)"
    if value.dtype.kind == "c":
        return "not real (complex numbers)"
    if value.dtype.kind not in _NUMERIC_KINDS:
        return f"not numeric (dtype {value.dtype})"
    if value.ndim != 2:
        return f"a {value.ndim}-D array of shape {value.shape}, not a matrix"
    return None


def _load_mat(path: Path, var: str | None):
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataFileError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which is not supported; save it with "
            "save(..., '-v7') in MATLAB or convert it to .npy."
        ) from None
    except Exception as exc:  # scipy raises several types on corrupt files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFileError(f"cannot read {path} as a .mat file ({reason}).") from None
    variables = {name: value for name, value in contents.items() if not name.startswith("__")}
    problems = {name: _describe_mat(value) for name, value in variables.items()}
    if var is not None:
        if var not in variables:
            names = ", ".join(sorted(variables)) or "none"
            raise DataFileError(f"{path} has no 2-D variable {var!r}; it has: {names}.")
        if problems[var] is not None:
            raise DataFileError(
                f"{path}: variable {var!r} is {problems[var]}; the data must be a numeric matrix."
            )
        return variables[var]
    matrices = {
        name: value
        for name, value in variables.items()
        if problems[name] is None and min(value.shape) > 1
    }
    if not matrices:
        listed = ", ".join(
            f"{n} is {p}" if p else f"{n} {variables[n].shape}" for n, p in sorted(problems.items())
        )
        # Numeric vectors are not chosen on their own, but may be named.
        named = "; choose one with --var NAME" if None in problems.values() else ""
        raise DataFileError(
            f"{path} holds no numeric matrix of at least 2 x 2 (variables: "
            f"{listed or 'none'}){named}."
        )
    if len(matrices) > 1:
        listed = ", ".join(f"{n} {v.shape}" for n, v in sorted(matrices.items()))
        raise DataFileError(
            f"{path} holds {len(matrices)} numeric matrices ({listed}); choose one with --var NAME."
        )
    return next(iter(matrices.values()))


def _load_zarr(path: Path, var: str | None):
    """A lazy dask array over a zarr store's 2-D numeric array, every chunk present."""
    try:
        import dask.array as da
        import zarr
    except ImportError:
        raise DataFileError(
            f"reading {path} needs zarr and dask: pip install 'cvxvolmin[dask]'."
        ) from None
    try:
        node = zarr.open(store=str(path), mode="r")
        if var is not None:
            if not isinstance(node, zarr.Group) or var not in node:
                raise DataFileError(f"{path} holds no array {var!r}.")
            node = node[var]
        elif isinstance(node, zarr.Group):
            names = sorted(node.array_keys())
            if len(names) != 1:
                raise DataFileError(
                    f"{path} is a zarr group of {len(names)} arrays "
                    f"({', '.join(names) or 'none'}); name one with --var."
                )
            node = node[names[0]]
        problem = _dtype_problem(np.dtype(node.dtype))
        if problem is not None:
            raise DataFileError(f"{path} holds {problem}.")
        if node.ndim != 2:
            raise DataFileError(f"{path} holds a {node.ndim}-D array; a matrix is 2-D.")
        if node.nchunks_initialized != node.nchunks:
            raise DataFileError(
                f"{path} declares {node.nchunks} chunks of its {node.shape[0]} x "
                f"{node.shape[1]} array but holds {node.nchunks_initialized}: a missing "
                "chunk would read as the fill value. Rewrite the store."
            )
    except DataFileError:
        raise
    except Exception as exc:  # zarr's own errors on a corrupt store
        raise DataFileError(f"cannot read {path} as a zarr array: {exc}.") from None
    return da.from_zarr(node)


def load_matrix(
    path: str | Path,
    *,
    var: str | None = None,
    transpose: bool = False,
    skip_header: bool = False,
):
    """Load a 2-D numeric array from ``.npy``, ``.csv``/``.txt``, ``.mat`` or ``.zarr``.

    The file is untrusted: nothing is unpickled, and a ``.npy`` file's
    header is checked (dtype, dimensions, declared size against the file's
    size) before any data is read.

    Parameters
    ----------
    path : str or Path
        The file. Its extension selects the reader.
    var : str, optional
        For ``.mat`` files, the variable to read (default: the only numeric
        matrix in the file); for a ``.zarr`` group, its array.
    transpose : bool, default False
        Return the transpose (for files that store samples as rows).
    skip_header : bool, default False
        For ``.csv``/``.txt`` files, skip the first non-blank line whatever
        it holds (a header of numbers, such as years). Without it the first
        line is skipped only when none of its fields is a number.

    Returns
    -------
    ndarray, scipy.sparse matrix or dask array (``.zarr``, lazy)

    Raises
    ------
    DataFileError
        If the file is missing, a directory, of an unknown format,
        unreadable, corrupt, or holds no single numeric 2-D matrix; the
        message says which.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr" and path.is_dir():
        if skip_header:
            raise DataFileError("--skip-header applies to .csv and .txt files only, not .zarr.")
        data = _load_zarr(path, var)
        return data.T if transpose else data
    if path.is_dir():
        raise DataFileError(f"{path} is a directory, not a data file.")
    if not path.exists():
        raise DataFileError(f"no such file: {path}.")
    if not path.is_file():
        raise DataFileError(f"{path} is not a regular file.")
    if var is not None and suffix != ".mat":
        raise DataFileError(f"--var applies to .mat files only (and .zarr groups), not {suffix}.")
    if skip_header and suffix not in (".csv", ".txt"):
        raise DataFileError(f"--skip-header applies to .csv and .txt files only, not {suffix}.")
    try:
        if suffix == ".npy":
            data = _load_npy(path)
        elif suffix in (".csv", ".txt"):
            data = _load_text(path, skip_header)
        elif suffix == ".mat":
            data = _load_mat(path, var)
        elif suffix == ".zarr":
            raise DataFileError(f"{path} is a file; a .zarr store is a folder.")
        else:
            raise DataFileError(
                f"unknown file format {suffix or '(none)'!r} for {path}; use one of "
                f"{', '.join(FORMATS)}."
            )
    except OSError as exc:  # e.g. no permission to read
        raise DataFileError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return data.T if transpose else data


def save_zarr_group(path: str | Path, **arrays) -> None:
    """Write arrays to a new zarr group at ``path`` (the ``dask`` extra), one array each.

    Numpy arrays are written as they are; a dask array (the H of a fit on
    dask X) is written chunk by chunk where its chunks lie, never gathered:
    its chunks of rows become the store's (uneven chunks are first made
    even, as zarr needs, at the first chunk's length).

    Examples
    --------
    >>> import tempfile, numpy as np, dask.array as da, zarr
    >>> folder = tempfile.mkdtemp()
    >>> H = da.from_array(np.arange(10.0).reshape(5, 2), chunks=(2, 2))
    >>> save_zarr_group(f"{folder}/fit.zarr", W=np.eye(2), H=H)
    >>> group = zarr.open_group(f"{folder}/fit.zarr", mode="r")
    >>> sorted(group.array_keys()), group["H"].chunks
    (['H', 'W'], (2, 2))
    """
    import zarr

    from .data import is_dask

    lazy = {name: array for name, array in arrays.items() if is_dask(array)}
    zarr.save_group(
        str(path), **{name: np.asarray(a) for name, a in arrays.items() if name not in lazy}
    )
    for name, array in lazy.items():
        rows = array.chunks[0]
        if len(set(rows[:-1])) > 1 or rows[-1] > rows[0]:
            array = array.rechunk({0: rows[0]})
        array.rechunk({1: -1}).to_zarr(str(path), component=name)

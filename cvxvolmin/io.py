"""Reading data matrices from files, which are untrusted input.

Nothing is ever unpickled: ``.npy`` files are read with
``allow_pickle=False`` and object arrays are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: File extensions ``load_matrix`` understands.
FORMATS = (".npy", ".csv", ".txt", ".mat")


class DataFileError(ValueError):
    """A data file is missing, unreadable or holds no usable matrix."""


def _load_npy(path: Path) -> np.ndarray:
    with path.open("rb") as handle:
        try:
            np.lib.format.read_magic(handle)
        except ValueError:
            raise DataFileError(
                f"{path} is not a .npy file (its header is missing); save the array with "
                "numpy.save."
            ) from None
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise DataFileError(
                f"{path} holds an object array, which would need unpickling; save a "
                "numeric array (e.g. np.save(path, X.astype(float)))."
            ) from None
        raise DataFileError(f"cannot read {path} as .npy ({exc}).") from None
    except (EOFError, OSError) as exc:
        raise DataFileError(f"cannot read {path} as .npy ({exc}).") from None
    return data


def _load_text(path: Path) -> np.ndarray:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        first = next((line for line in handle if line.strip() and not line.startswith("#")), "")
    delimiter = "," if "," in first else None
    try:
        data = np.loadtxt(path, delimiter=delimiter, ndmin=2, dtype=float)
    except ValueError as exc:
        raise DataFileError(
            f"cannot read {path} as a numeric table ({exc}); expected numbers separated "
            "by commas or whitespace, one row per line."
        ) from None
    return data


def _load_mat(path: Path, var: str | None) -> np.ndarray:
    import scipy.io
    import scipy.sparse

    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataFileError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which is not supported; save it with "
            "save(..., '-v7') in MATLAB or convert it to .npy."
        ) from None
    except Exception as exc:  # scipy raises several types on corrupt files
        raise DataFileError(f"cannot read {path} as a .mat file ({exc}).") from None
    arrays = {
        name: value
        for name, value in contents.items()
        if not name.startswith("__")
        and (scipy.sparse.issparse(value) or (isinstance(value, np.ndarray) and value.ndim == 2))
    }
    if var is not None:
        if var not in arrays:
            names = ", ".join(sorted(arrays)) or "none"
            raise DataFileError(f"{path} has no 2-D variable {var!r}; it has: {names}.")
        return arrays[var]
    matrices = {name: value for name, value in arrays.items() if min(value.shape) > 1}
    if len(matrices) != 1:
        listed = ", ".join(f"{n} {v.shape}" for n, v in sorted(matrices.items())) or "none"
        raise DataFileError(
            f"{path} holds {len(matrices)} 2-D variables ({listed}); choose one with --var NAME."
        )
    return next(iter(matrices.values()))


def load_matrix(path: str | Path, *, var: str | None = None, transpose: bool = False):
    """Load a 2-D array from ``.npy``, ``.csv``/``.txt`` or ``.mat``.

    Parameters
    ----------
    path : str or Path
        The file. Its extension selects the reader.
    var : str, optional
        For ``.mat`` files, the variable to read (default: the only 2-D
        matrix in the file).
    transpose : bool, default False
        Return the transpose (for files that store samples as rows).

    Returns
    -------
    ndarray or scipy.sparse matrix

    Raises
    ------
    DataFileError
        If the file is missing, of an unknown format, unreadable, or holds
        no single numeric 2-D matrix.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"no such file: {path}.")
    suffix = path.suffix.lower()
    if var is not None and suffix != ".mat":
        raise DataFileError(f"--var applies to .mat files only, not {suffix}.")
    if suffix == ".npy":
        data = _load_npy(path)
    elif suffix in (".csv", ".txt"):
        data = _load_text(path)
    elif suffix == ".mat":
        data = _load_mat(path, var)
    else:
        raise DataFileError(
            f"unknown file format {suffix or '(none)'!r} for {path}; use one of "
            f"{', '.join(FORMATS)}."
        )
    if isinstance(data, np.ndarray) and data.dtype == object:
        raise DataFileError(f"{path} holds an object array; save a numeric array.")
    return data.T if transpose else data

"""Loaders for public real data sets, in this project's orientation.

The files are not shipped with cvxvolmin (they are MATLAB files from the
public companion data of N. Gillis, *Nonnegative Matrix Factorization*, SIAM
2020). Each loader looks for its file in, in order: the ``data_home``
argument, the folder named by the environment variable ``CVXVOLMIN_DATA``,
and ``../shared/data`` beside the working directory and beside the source
checkout. A missing file raises :class:`DataNotFoundError`, which says where
it looked and how to point cvxvolmin at the folder.

Every loader returns a :class:`RealDataset` whose ``X`` has **samples as
columns** (``X ≈ W @ H.T``), like everything else in cvxvolmin. Files are
read with :func:`scipy.io.loadmat` (nothing is unpickled) and checked for
the expected variables, shapes and numeric types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse

from .exceptions import CvxvolminError, InvalidParameterError
from .io import DataFileError, _load_mat

__all__ = [
    "DATA_ENV",
    "DataNotFoundError",
    "RealDataset",
    "find_data_file",
    "load_classic",
    "load_moffet",
    "load_raman",
    "load_swimmer",
]

#: The environment variable naming the folder that holds the data files.
DATA_ENV = "CVXVOLMIN_DATA"


class DataNotFoundError(CvxvolminError, FileNotFoundError):
    """A real data file is not in any of the folders searched."""


@dataclass(frozen=True)
class RealDataset:
    """A real data set in cvxvolmin's orientation, ``X ≈ W @ H.T``.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"moffet"``.
    X : ndarray or scipy.sparse matrix of shape (M, N)
        The data, samples as columns (a float array; sparse for text).
    rank : int
        The rank usually used for this data set.
    description : str
        What the rows and columns are.
    W, H : ndarray or None
        The ground truth (M x r and N x r) where it is known.
    labels : ndarray of int or None
        The true class (0, 1, ...) of each sample where it is known.
    image_shape : tuple of int or None
        The shape in which a column of W (``"pixels"`` layout) or of H
        (``"samples"`` layout) is shown as an image; see :meth:`as_image`.
    image_of : str or None
        ``"W"`` when each column of X (and of W) is an image, ``"H"`` when
        each column of H is an image (one value per sample, e.g. per pixel).
    path : Path or None
        The file the data came from.
    """

    name: str
    X: np.ndarray | scipy.sparse.spmatrix
    rank: int
    description: str
    W: np.ndarray | None = None
    H: np.ndarray | None = None
    labels: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    image_of: str | None = None
    path: Path | None = None

    def as_image(self, vector: np.ndarray) -> np.ndarray:
        """Reshape one column (of W or H, see ``image_of``) into an image.

        The files come from MATLAB, which stores images column by column, so
        the reshape is in Fortran order.
        """
        if self.image_shape is None:
            raise InvalidParameterError(f"the {self.name} data set has no image layout.")
        vector = np.asarray(vector)
        if vector.size != self.image_shape[0] * self.image_shape[1]:
            raise InvalidParameterError(
                f"a vector of {vector.size} entries cannot be shown as a "
                f"{self.image_shape[0]} x {self.image_shape[1]} image; pass one column of "
                f"{self.image_of}."
            )
        return vector.reshape(self.image_shape, order="F")


def _search_dirs(data_home: str | os.PathLike | None) -> list[Path]:
    if data_home is not None:
        return [Path(data_home)]
    dirs = []
    if os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]))
    dirs.append(Path.cwd().parent / "shared" / "data")
    dirs.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    unique: list[Path] = []
    for folder in dirs:
        if folder not in unique:
            unique.append(folder)
    return unique


def find_data_file(filename: str, data_home: str | os.PathLike | None = None) -> Path:
    """Where ``filename`` is: the first of the searched folders that holds it.

    Parameters
    ----------
    filename : str
        The file name, e.g. ``"Moffet.mat"``.
    data_home : str or path-like, optional
        Look only here. Default: ``$CVXVOLMIN_DATA``, then ``../shared/data``
        beside the working directory and beside the source checkout.

    Returns
    -------
    Path

    Raises
    ------
    DataNotFoundError
        When no searched folder holds the file.
    """
    dirs = _search_dirs(data_home)
    for folder in dirs:
        if (folder / filename).is_file():
            return folder / filename
    where = ", ".join(str(folder) for folder in dirs)
    raise DataNotFoundError(
        f"{filename} not found (looked in {where}); set {DATA_ENV} to the folder that holds "
        "the real data sets, or pass data_home=."
    )


def _variable(path: Path, name: str, shape: tuple[int | None, int | None]):
    value = _load_mat(path, name)
    if isinstance(value, np.ndarray) and not np.issubdtype(value.dtype, np.number):
        raise DataFileError(f"{path}: variable {name!r} is not numeric ({value.dtype}).")
    for axis, expected in enumerate(shape):
        if expected is not None and value.shape[axis] != expected:
            raise DataFileError(
                f"{path}: variable {name!r} has shape {value.shape}; expected "
                f"{tuple('any' if s is None else s for s in shape)}."
            )
    return value.astype(float) if isinstance(value, np.ndarray) else value


def load_moffet(data_home: str | os.PathLike | None = None) -> RealDataset:
    """The Moffett Field hyperspectral image (AVIRIS): 159 bands x 2500 pixels.

    Reflectances in [0, 0.8]; the pixels of a 50 x 50 scene are the columns.
    Usually factored at rank 3 (vegetation, soil, water); a column of H is
    then an abundance map, shown with :meth:`RealDataset.as_image`.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder holding ``Moffet.mat``; see :func:`find_data_file`.

    Returns
    -------
    RealDataset
    """
    path = find_data_file("Moffet.mat", data_home)
    X = _variable(path, "X", (None, 2500))
    return RealDataset(
        name="moffet",
        X=X,
        rank=3,
        description="hyperspectral image, 159 bands (rows) x 2500 pixels of a 50 x 50 scene",
        image_shape=(50, 50),
        image_of="H",
        path=path,
    )


def load_raman(data_home: str | os.PathLike | None = None) -> RealDataset:
    """Raman spectra of a reaction with ground truth: ``X = W @ H.T``, 2478 x 151.

    W (2478 x 5) holds the pure-component spectra and H (151 x 5) their
    concentrations at 151 times; each **row** of H sums to one (the
    concentrations at one time), the normalization of row-sum VolMin.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder holding ``RamanSMCR.mat``; see :func:`find_data_file`.

    Returns
    -------
    RealDataset
    """
    path = find_data_file("RamanSMCR.mat", data_home)
    W = _variable(path, "W", (None, None))
    H = _variable(path, "H", (W.shape[1], None)).T  # the file stores H.T
    return RealDataset(
        name="raman",
        X=W @ H.T,
        rank=W.shape[1],
        description=(
            f"Raman spectroscopy, {W.shape[0]} wavenumbers (rows) x {H.shape[0]} times; "
            f"{W.shape[1]} components with known spectra W and concentrations H"
        ),
        W=W,
        H=H,
        path=path,
    )


def load_classic(data_home: str | os.PathLike | None = None) -> RealDataset:
    """The Classic document collection: a sparse term x document matrix.

    ``X`` is 41681 terms x 7094 documents (abstracts from CACM, CISI,
    Cranfield and Medline), in CSR format, and ``labels`` the collection of
    each document (0 to 3). The file stores the document x term matrix; this
    loader transposes it, so that documents are the samples (columns).

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder holding ``classic.mat``; see :func:`find_data_file`.

    Returns
    -------
    RealDataset
    """
    path = find_data_file("classic.mat", data_home)
    docs_by_terms = _variable(path, "X", (None, None))
    classid = _variable(path, "classid", (docs_by_terms.shape[0], 1))
    X = scipy.sparse.csr_matrix(docs_by_terms.T, dtype=float)
    labels = np.asarray(classid, dtype=int).ravel()
    return RealDataset(
        name="classic",
        X=X,
        rank=int(np.unique(labels).size),
        description=f"{X.shape[0]} terms (rows) x {X.shape[1]} documents, 4 collections",
        labels=labels - labels.min(),
        path=path,
    )


def load_swimmer(data_home: str | os.PathLike | None = None) -> RealDataset:
    """The Swimmer images (Donoho and Stodden, 2003): 220 pixels x 256 images.

    Each 20 x 11 image is a torso with four limbs, each limb in one of four
    positions; the parts are 16 limb positions and the torso, but the
    numerical rank of X is 13. Pixel values are 0 or 1 (returned as floats).

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder holding ``Swimmer.mat``; see :func:`find_data_file`.

    Returns
    -------
    RealDataset
    """
    path = find_data_file("Swimmer.mat", data_home)
    X = _variable(path, "X", (220, None))
    return RealDataset(
        name="swimmer",
        X=X,
        rank=13,
        description=f"{X.shape[1]} images of 20 x 11 pixels (rows are pixels)",
        image_shape=(20, 11),
        image_of="W",
        path=path,
    )

"""One interface over the data matrix X (M x N, samples as columns).

Everything the exact path asks of X goes through a :class:`DataMatrix`
(:class:`DenseData`, :class:`SparseData`, :class:`DaskData`):
products on either side, the Gram matrix of the smaller side, column
statistics, the finiteness check and dense blocks of columns. The reduction,
the metrics and the input checks ask it, never ``scipy.sparse.issparse``;
another kind of data (chunks of columns on disk or on a cluster) is one more
subclass, and the callers stay as they are (:class:`DaskData` is one). Each
method is one pass over X at most; :meth:`DataMatrix.projection` gathers everything the reduction
needs after the Gram matrix into one pass.

Numerics shared by every kind: nothing squares X unscaled when its entries'
squares would leave the floating-point range (beyond about 1e±75); then X is
divided by a power of two (exact), one block of columns at a time.
"""

from __future__ import annotations

import contextvars
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.linalg.blas import dgemm
from threadpoolctl import ThreadpoolController

from .exceptions import InvalidParameterError

# Columns per block hold about this many entries (2 MB): no M x N temporary.
BLOCK_ENTRIES = 262_144
# Squares of entries between these stay normal floats with room for sums of
# up to 2**300 terms: a Gram matrix of X can be formed without scaling.
SQUARE_SAFE = (2.0**-250, 2.0**250)
# Squares below this are subnormal or close: a column's norm is recomputed scaled.
_SMALLEST_SAFE_SQUARE = 1e-280
# Entries per task of a pass run by several threads (16 MB of X: tasks to share).
_TASK_ENTRIES = 8 * BLOCK_ENTRIES
# The Gram matrix of wide X is summed in at most this many strips of columns (as
# many threads can share it), a number fixed by the shape alone, so that its
# rounding does not depend on the threads; each strip costs an M x M matrix.
_GRAM_STRIPS = 16

_controller: ThreadpoolController | None = None


def blas_controller() -> ThreadpoolController:
    """One ``threadpoolctl`` controller for the process.

    ``threadpool_limits`` scans the loaded libraries on every call; the
    controller scans them once (at the first use, after numpy and scipy are
    loaded) and its ``limit`` only sets the counts.
    """
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def one_blas_thread():
    """A context in which BLAS runs one thread (``with one_blas_thread(): ...``)."""
    return blas_controller().limit(limits=1, user_api="blas")


def blas_threads() -> int:
    """How many threads BLAS may run now (the machine's, or a caller's limit)."""
    libraries = blas_controller().select(user_api="blas").lib_controllers
    return max([library.num_threads for library in libraries], default=1)


def run_in_threads(function: Callable, tasks: list, threads: int | None = None) -> list:
    """``[function(task) for task in tasks]``, by ``threads`` Python threads, one BLAS thread each.

    ``threads`` defaults to :func:`blas_threads`: a pass over X takes as many
    cores as BLAS would, but each thread works through its own tasks, while
    OpenBLAS's threads wait for each other at every product (measured beside
    busy processes on 2 cores: ``X @ X.T`` at N = 1e6 took 12 to 22 s with two
    BLAS threads and 2 to 3 s with one; the same product in two Python threads
    stays at the speed of one core under load and of two when quiet). The
    results do not depend on ``threads``: each task is computed alone.
    """
    threads = blas_threads() if threads is None else threads
    with one_blas_thread():
        if threads <= 1 or len(tasks) <= 1:
            return [function(task) for task in tasks]
        # Each task runs in a copy of the caller's context, so that the
        # caller's np.errstate (a context variable) holds in the threads too.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(min(threads, len(tasks))) as pool:
            return list(pool.map(lambda task: context.copy().run(function, task), tasks))


def column_tasks(n: int, step: int, rows: int) -> list[tuple[int, int]]:
    """Consecutive ranges ``(start, stop)`` of whole blocks of ``step`` columns.

    Each holds about ``_TASK_ENTRIES`` entries of a matrix with ``rows`` rows
    (at least one block).
    """
    width = step * max(1, _TASK_ENTRIES // max(step * rows, 1))
    return [(start, min(start + width, n)) for start in range(0, n, width)]


def power_of_two_scale(value):
    """A power of two near ``value`` (1 for zero or non-finite): dividing by it is exact.

    Elementwise for an array of nonnegative values; a float for a scalar.
    """
    value = np.asarray(value, dtype=float)
    usable = (value != 0) & np.isfinite(value)
    scale = np.where(usable, np.ldexp(1.0, np.frexp(np.where(usable, value, 1.0))[1]), 1.0)
    return float(scale) if scale.ndim == 0 else scale


def square_safe_scale(top: float) -> float:
    """1, or a power of two near ``top`` (the largest |entry|) when squares would leave range."""
    low, high = SQUARE_SAFE
    return 1.0 if low <= top <= high or top == 0 else power_of_two_scale(top)


def dense_column_norms(A: np.ndarray) -> np.ndarray:
    """``||a_n||`` of every column of a dense A, accurate at any magnitude.

    Columns whose squares overflow or underflow are divided by a power of two
    near their own largest entry first (1e-300 beside 1e300 included); the
    others cost one product.
    """
    with np.errstate(over="ignore", under="ignore"):  # such columns are redone below
        squares = np.einsum("ij,ij->j", A, A)
    return _redo_suspects(A, squares)


def _redo_suspects(A, squares: np.ndarray) -> np.ndarray:
    norms = np.sqrt(squares)
    # Zero columns are recomputed too (cheaply): their squares may have underflowed.
    suspect = np.flatnonzero(~np.isfinite(squares) | (squares < _SMALLEST_SAFE_SQUARE))
    step = max(1, BLOCK_ENTRIES // max(A.shape[0], 1))
    for start in range(0, suspect.size, step):
        columns = suspect[start : start + step]
        block = A[:, columns]
        block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
        scales = power_of_two_scale(np.abs(block).max(axis=0, initial=0.0))
        block = block / scales
        norms[columns] = np.sqrt(np.einsum("ij,ij->j", block, block)) * scales
    return norms


@dataclass(frozen=True)
class Projection:
    """What one pass over X gives the reduction, for an orthonormal U (M x r).

    Attributes
    ----------
    Y : ndarray of shape (r, N)
        ``U.T @ X``, each column a product with that column alone.
    norms : ndarray of shape (N,)
        ``||x_n||``.
    residual_norms : ndarray of shape (N,) or None
        ``||x_n - U @ Y[:, n]||``, computed as a difference of vectors (exact to
        rounding relative to ``||x_n||``); None where that costs a dense sweep
        (sparse data), and callers then use ``norms`` and ``||Y[:, n]||``.
    persisted : dask array of shape (r + 2, N) or None
        Dask data only: ``Y``, ``norms`` and ``residual_norms`` stacked, chunked
        like X's columns and persisted where they were computed (on the
        workers of a ``distributed.Client``), so that results per column
        (H) can be formed there without reading X again.
    """

    Y: np.ndarray
    norms: np.ndarray
    residual_norms: np.ndarray | None
    persisted: object | None = None


class DataMatrix(ABC):
    """X (M x N, samples as columns) as the exact path reads it.

    Subclasses implement the products and the column statistics for one kind
    of storage; :func:`as_data` picks the class. No method writes into X or
    forms an M x N temporary.
    """

    #: The storage kind: the reduction picks its strategy by it and by the size.
    kind: ClassVar[str] = ""

    def __init__(self, X):
        self.array = X

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.array.shape)

    @abstractmethod
    def max_abs(self) -> float:
        """The largest absolute entry (0 for no entries)."""

    @abstractmethod
    def count_nonfinite(self) -> int:
        """How many entries are NaN or infinite."""

    @abstractmethod
    def column_norms(self) -> np.ndarray:
        """``||x_n||`` of every column, accurate at any magnitude."""

    @abstractmethod
    def column_sums(self, absolute: bool = False) -> np.ndarray:
        """``sum_m x_mn`` (of ``|x_mn|`` with ``absolute``) of every column."""

    @abstractmethod
    def nonzero_columns(self) -> np.ndarray:
        """A boolean mask of the columns with a nonzero entry."""

    @abstractmethod
    def project(self, U: np.ndarray) -> np.ndarray:
        """``U.T @ X`` (k x N, dense) for U of shape (M, k)."""

    @abstractmethod
    def times(self, V: np.ndarray) -> np.ndarray:
        """``X @ V`` (M x k, dense) for V of shape (N, k)."""

    @abstractmethod
    def columns(self, index) -> np.ndarray:
        """The columns ``X[:, index]`` as a dense array."""

    @abstractmethod
    def gram(self) -> tuple[np.ndarray, float]:
        """``(G, c)``: the Gram matrix of ``X / c`` on the smaller side.

        ``X X.T`` (M x M) when M <= N, else ``X.T X``; c is 1 unless the
        squares of X's entries leave the floating-point range.
        """

    def column_blocks(
        self, scale: float = 1.0, entries: int = BLOCK_ENTRIES
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(columns, X[:, columns] / scale)`` as dense blocks of about ``entries``.

        The blocks are views of X where it allows (dense, ``scale`` 1): read them only.
        """
        m, n = self.shape
        step = max(1, entries // max(m, 1))
        inverse = 1.0 / scale
        for start in range(0, n, step):
            where = slice(start, min(start + step, n))
            block = self.columns(where)
            yield where, (block * inverse if scale != 1.0 else block)

    def projection(self, U: np.ndarray) -> Projection:
        """``U.T @ X``, the column norms and the residuals off span(U), in one pass."""
        Y = self.project(U)
        return Projection(Y, self.column_norms(), None)


class DenseData(DataMatrix):
    """X as a float64 numpy array (never copied)."""

    kind = "dense"

    def max_abs(self) -> float:
        X = self.array
        return 0.0 if X.size == 0 else float(max(X.max(), -X.min()))

    def count_nonfinite(self) -> int:
        m, n = self.shape
        X, step = self.array, max(1, BLOCK_ENTRIES // max(m, 1))

        def count(task: tuple[int, int]) -> int:
            # A NaN or an infinity makes every sum it enters non-finite: a finite
            # sum (one read, no temporary) proves the task's entries finite, and
            # only a non-finite one (bad entries, or finite ones whose sum
            # overflows) costs the count, block by block (no M x N boolean array).
            with np.errstate(over="ignore", invalid="ignore"):
                if np.isfinite(X[:, task[0] : task[1]].sum()):
                    return 0
            return sum(
                int(np.count_nonzero(~np.isfinite(X[:, start : min(start + step, task[1])])))
                for start in range(task[0], task[1], step)
            )

        return sum(run_in_threads(count, column_tasks(n, step, m)))

    def column_norms(self) -> np.ndarray:
        return dense_column_norms(self.array)

    def column_sums(self, absolute: bool = False) -> np.ndarray:
        return (np.abs(self.array) if absolute else self.array).sum(axis=0)

    def nonzero_columns(self) -> np.ndarray:
        return np.any(self.array != 0, axis=0)

    def project(self, U: np.ndarray) -> np.ndarray:
        return U.T @ self.array  # k x N at once: no N x k intermediate

    def times(self, V: np.ndarray) -> np.ndarray:
        return self.array @ V

    def columns(self, index) -> np.ndarray:
        return self.array[:, index]

    def gram(self) -> tuple[np.ndarray, float]:
        """The Gram matrix; its pass is also the finiteness check (as :class:`DaskData`'s).

        Raises
        ------
        InvalidParameterError
            If X has NaN or infinite entries (counted only when the Gram
            matrix's diagonal, or max|x| for tall X, is not finite).
        """
        X = self.array
        transpose = X.shape[0] > X.shape[1]
        if not transpose:
            # Unscaled first: its diagonal (the rows' squared norms) tells whether
            # the largest entry lies in the safe range, with no pass to find it.
            with np.errstate(over="ignore", invalid="ignore"):  # then redone, scaled
                G = self._wide_gram()
            # Every entry is squared into its row's diagonal entry: finite exactly
            # when the entries are and their squares do not overflow.
            top = np.sqrt(G.diagonal().max(initial=0.0))  # max|x| <= top <= sqrt(N) max|x|
            low, high = SQUARE_SAFE
            if np.isfinite(top) and low * np.sqrt(X.shape[1]) <= top <= high:
                return G, 1.0
            scale = square_safe_scale(self._finite_max_abs(np.isfinite(top)))
            if scale == 1.0 and np.all(np.isfinite(G)):
                return G, 1.0  # in range after all (a band the diagonal leaves open)
        else:
            scale = square_safe_scale(self._finite_max_abs())
            if scale == 1.0:
                return X.T @ X, 1.0
        if transpose:  # X.T X = sum over blocks of rows
            G = np.zeros((X.shape[1], X.shape[1]))
            step = max(1, BLOCK_ENTRIES // max(X.shape[1], 1))
            for start in range(0, X.shape[0], step):
                block = X[start : start + step] * (1.0 / scale)
                G += block.T @ block
            return G, scale
        G = np.zeros((X.shape[0], X.shape[0]))
        for _, block in self.column_blocks(scale):
            G += block @ block.T
        return G, scale

    def _finite_max_abs(self, finite: bool = False) -> float:
        """max|x| (one pass), after a count of the bad entries unless X is known ``finite``."""
        top = self.max_abs()  # NaN or infinite exactly when some entry is
        if not (finite or np.isfinite(top)):
            raise InvalidParameterError(nonfinite_message("X", self.count_nonfinite()))
        return top

    def _wide_gram(self) -> np.ndarray:
        """``X @ X.T`` (M <= N): a sum over strips of columns, run by :func:`run_in_threads`."""
        X = self.array
        m, n = X.shape
        # Extra memory: one M x M matrix per strip, at most a quarter of X's size.
        strips = max(1, min(_GRAM_STRIPS, n // (4 * max(m, 1))))
        bounds = np.linspace(0, n, strips + 1).astype(int)
        step = max(1, _TASK_ENTRIES // max(m, 1))

        def strip(task: tuple[int, int]) -> np.ndarray:
            G = np.zeros((m, m))
            for start in range(task[0], task[1], step):
                block = X[:, start : min(start + step, task[1])]
                G += block @ block.T
            return G

        parts = run_in_threads(strip, list(itertools.pairwise(bounds)))
        G = parts[0]
        for part in parts[1:]:  # in order: the same sum whatever the threads
            G += part
        return G

    def projection(self, U: np.ndarray) -> Projection:
        m, n = self.shape
        step = max(1, BLOCK_ENTRIES // max(m, 1))
        # Contiguous once: a strided U (eigenvectors reversed) is copied by every product.
        U, Ut = np.ascontiguousarray(U), np.ascontiguousarray(U.T)
        if n <= step:  # one block: the products on X itself
            return Projection(*_block_projection(self.array, U, Ut))
        X = self.array
        Y = np.empty((U.shape[1], n))
        norms, residuals = np.empty(n), np.empty(n)

        def project(task: tuple[int, int]) -> None:
            # Many small products (r x M by a block): threads of their own
            # (:func:`run_in_threads`), one BLAS thread each, writing disjoint columns.
            for start in range(task[0], task[1], step):
                where = slice(start, min(start + step, task[1]))
                Y[:, where], norms[where], residuals[where] = _block_projection(X[:, where], U, Ut)

        run_in_threads(project, column_tasks(n, step, m))
        return Projection(Y, norms, residuals)


def _block_projection(block: np.ndarray, U: np.ndarray, Ut: np.ndarray):
    """``(U.T @ block, ||x_n||, ||x_n - U U.T x_n||)`` for a dense block, U orthonormal.

    The residuals are differences of vectors (exact to rounding relative to
    ``||x_n||``), subtracted by the product itself (BLAS ``dgemm`` with
    ``beta = 1`` on a copy of the block: faster than a product then a
    subtraction, equal to rounding). The norms come from ``||x_n||^2 =
    ||U.T x_n||^2 + ||x_n - U U.T x_n||^2``, with no second read of the block,
    accurate to a few units of rounding (2e-15 at M = 200); the columns whose
    squares leave the range are redone from the block, scaled, as in
    :func:`dense_column_norms`.
    """
    part = Ut @ block
    # off = block - U @ part, in the Fortran order BLAS sees: off.T -= part.T @ U.T.
    off = dgemm(-1.0, part.T, U.T, 1.0, np.array(block).T, overwrite_c=True).T
    return part, *_norms_from_parts(block, part, off)


def _norms_from_parts(block: np.ndarray, part: np.ndarray, off: np.ndarray):
    """``||x_n||`` and ``||x_n - U U.T x_n||`` from ``part = U.T block`` and ``off``, the residuals.

    ``||x_n||^2 = ||U.T x_n||^2 + ||off_n||^2``: no second read of the block;
    the columns whose squares leave the range are redone, scaled.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # such columns are redone
        outside = np.einsum("ij,ij->j", off, off)
        total = np.einsum("ij,ij->j", part, part) + outside
    return _redo_suspects(block, total), _redo_suspects(off, outside)


class SparseData(DataMatrix):
    """X as a ``scipy.sparse`` matrix, held in CSC format (columns are samples)."""

    kind = "sparse"

    def __init__(self, X):
        import scipy.sparse

        X = scipy.sparse.csc_matrix(X)
        if not X.has_canonical_format:  # duplicates would be squared apart
            X = X.copy()
            X.sum_duplicates()
        super().__init__(X)

    def max_abs(self) -> float:
        return float(np.max(np.abs(self.array.data), initial=0.0))

    def count_nonfinite(self) -> int:
        return int(np.count_nonzero(~np.isfinite(self.array.data)))

    def column_norms(self) -> np.ndarray:
        X = self.array
        with np.errstate(over="ignore", under="ignore"):  # such columns are redone
            squares = np.asarray(X.multiply(X).sum(axis=0)).ravel()
        return _redo_suspects(X, squares)

    def column_sums(self, absolute: bool = False) -> np.ndarray:
        X = abs(self.array) if absolute else self.array
        return np.asarray(X.sum(axis=0)).ravel()

    def nonzero_columns(self) -> np.ndarray:
        return np.asarray((self.array != 0).sum(axis=0)).ravel() > 0

    def project(self, U: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(self.array.T @ U).T)

    def times(self, V: np.ndarray) -> np.ndarray:
        return np.asarray(self.array @ V)

    def columns(self, index) -> np.ndarray:
        return self.array[:, index].toarray()

    def scaled(self, scale: float):
        """The sparse matrix divided by ``scale`` (a copy of the nonzeros unless 1)."""
        return self.array if scale == 1.0 else self.array * (1.0 / scale)

    def gram(self) -> tuple[np.ndarray, float]:
        scale = square_safe_scale(self.max_abs())
        X = self.scaled(scale)
        G = X.T @ X if X.shape[0] > X.shape[1] else X @ X.T
        return np.asarray(G.toarray()), scale


class DaskData(DataMatrix):
    """X as a ``dask.array`` (the ``dask`` extra), in chunks of whole columns.

    Every method is one pass over the chunks at most, run by dask's scheduler
    (a ``distributed.Client`` when one is active); the results are the small
    arrays of the other kinds (r x N, N, M x M), in memory. Blocks of
    columns are the array's own chunks.

    NaN and infinite entries cost no pass of their own: every entry of X
    reaches the diagonal of its Gram matrix and its column's norm, which are
    then NaN or infinite (the norms are computed overflow-safe, so they are
    finite exactly when the column is). A non-finite result of a method
    (:meth:`gram`, :meth:`projection`, ...) is followed by a count of the bad
    entries, and an error if there are any (otherwise it was overflow). So
    the exact path reads X twice: the Gram matrix, then the projection
    (:meth:`projection`, which leaves its results persisted on the workers,
    :attr:`Projection.persisted`).
    """

    kind = "dask"

    def __init__(self, X):
        # Whole columns in each chunk: per-column work stays within a chunk.
        super().__init__(X.rechunk({0: -1}) if len(X.chunks[0]) > 1 else X)

    def _checked(self, found):
        """``found`` (a computed result), after a count of X's bad entries if it is not finite."""
        if not np.all(np.isfinite(found)):
            bad = self.count_nonfinite()  # one more pass, on bad data (or overflow) only
            if bad:
                raise InvalidParameterError(nonfinite_message("X", bad))
        return found

    def _per_chunk(self, function, rows: int):
        """``function(chunk)`` (rows x chunk width) for every chunk, side by side, lazily."""
        X = self.array
        return X.map_blocks(
            lambda block: np.asarray(function(np.asarray(block, dtype=float))),
            chunks=((rows,), X.chunks[1]),
            dtype=float,
            meta=np.empty((0, 0)),
        )

    def max_abs(self) -> float:
        return float(self._checked(abs(self.array).max().compute()))

    def count_nonfinite(self) -> int:
        import dask.array as da

        return int((~da.isfinite(self.array)).sum().compute())

    def column_norms(self) -> np.ndarray:
        found = self._per_chunk(lambda block: dense_column_norms(block)[None, :], 1)
        return self._checked(np.asarray(found.compute())[0])

    def column_sums(self, absolute: bool = False) -> np.ndarray:
        X = abs(self.array) if absolute else self.array
        return self._checked(np.asarray(X.sum(axis=0).compute()))

    def nonzero_columns(self) -> np.ndarray:
        """The mask of nonzero columns (a NaN is nonzero: no check here)."""
        return np.asarray((self.array != 0).any(axis=0).compute())

    def project(self, U: np.ndarray) -> np.ndarray:
        found = self._per_chunk(lambda block: U.T @ block, U.shape[1])
        return self._checked(np.asarray(found.compute()))

    def times(self, V: np.ndarray) -> np.ndarray:
        import dask.array as da

        V = da.from_array(np.asarray(V), chunks=(self.array.chunks[1], V.shape[1]))
        return self._checked(np.asarray((self.array @ V).compute()))

    def columns(self, index) -> np.ndarray:
        block = np.asarray(self.array[:, index].compute(), dtype=float)
        if not np.all(np.isfinite(block)):  # these columns only
            bad = int(np.count_nonzero(~np.isfinite(block)))
            raise InvalidParameterError(nonfinite_message("X", bad, some=True))
        return block

    def column_blocks(
        self, scale: float = 1.0, entries: int = BLOCK_ENTRIES
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """The array's own chunks, one at a time (``entries`` is not used)."""
        start = 0
        for width in self.array.chunks[1]:
            where = slice(start, start + width)
            yield where, self.columns(where) / scale
            start += width

    def gram(self) -> tuple[np.ndarray, float]:
        """The Gram matrix in one pass, which is also the finiteness check.

        More passes only for data that need them: the count of bad entries
        when the Gram matrix is not finite, and max|x| then a pass on X
        divided by a power of two when the squares of X's entries leave the
        floating-point range (beyond about 1e+-75).
        """
        X = self.array
        transpose = X.shape[0] > X.shape[1]
        product = (X.T @ X) if transpose else (X @ X.T)
        with np.errstate(over="ignore", invalid="ignore"):  # then redone, scaled
            G = self._checked(np.asarray(product.compute()))
        # As DenseData.gram: whether X must be scaled, from the diagonal.
        top = np.sqrt(G.diagonal().max(initial=0.0))  # max|x| <= top <= sqrt(n) max|x|
        low, high = SQUARE_SAFE
        if np.isfinite(top) and low * np.sqrt(max(X.shape)) <= top <= high:
            return G, 1.0
        scale = square_safe_scale(self.max_abs())
        if scale == 1.0 and np.all(np.isfinite(G)):
            return G, 1.0
        Xs = X * (1.0 / scale)
        return np.asarray(((Xs.T @ Xs) if transpose else (Xs @ Xs.T)).compute()), scale

    @staticmethod
    def chunk_projection(chunk: np.ndarray, U: np.ndarray) -> np.ndarray:
        """``U.T @ chunk``, ``||x_n||`` and ``||x_n - U U.T x_n||`` stacked: (r + 2) x width.

        :func:`_block_projection`'s work, on blocks of the chunk that stay in
        cache with the temporaries made once: dask's workers return freed
        memory to the system at once (their ``MALLOC_TRIM_THRESHOLD_``), so a
        new temporary per block is a page fault per page. Measured per
        50 000-column chunk at M = 100 with that setting: 56 ms, 104 ms with
        _block_projection's own temporaries, 94 ms on the whole chunk; 41 ms
        for its Gram product.
        """
        (m, width), r = chunk.shape, U.shape[1]
        U, Ut = np.ascontiguousarray(U), np.ascontiguousarray(U.T)
        step = max(1, BLOCK_ENTRIES // max(m, 1))
        out = np.empty((r + 2, width))
        most = min(step, width)
        part, off = np.empty((r, most)), np.empty((m, most))
        for start in range(0, width, step):
            where = slice(start, start + step)
            block = chunk[:, where]
            used = block.shape[1]
            p, o = part[:, :used], off[:, :used]
            np.matmul(Ut, block, out=p)
            out[:r, where] = p
            np.matmul(U, p, out=o)
            np.subtract(block, o, out=o)
            out[r, where], out[r + 1, where] = _norms_from_parts(block, p, o)
        return out

    def projection(self, U: np.ndarray) -> Projection:
        """One pass: ``U.T @ X`` with the column norms and residuals, also kept on the workers."""
        import dask

        r, U = U.shape[1], np.ascontiguousarray(U)  # made contiguous once, not per chunk
        persisted = self._per_chunk(lambda chunk: DaskData.chunk_projection(chunk, U), r + 2)
        persisted = persisted.persist()
        # Chunk by chunk from where they lie: ``persisted.compute()`` would first
        # concatenate them on one worker (2 to 5 times slower, measured at N = 1e6).
        found = np.concatenate(dask.compute(*persisted.to_delayed().ravel()), axis=1)
        self._checked(found[r])  # the norms: finite exactly when the columns are
        # found[:r] is C-contiguous already (the leading rows of a C-ordered array).
        return Projection(found[:r], found[r], found[r + 1], persisted)


def nonfinite_message(name: str, count: int, some: bool = False) -> str:
    """The error of data with ``count`` NaN or infinite entries (``some``: in a part read)."""
    where = "at least " if some else ""
    return (
        f"{name} contains {where}{count} NaN or infinite entries; remove or impute them "
        "before fitting."
    )


def is_dask(X) -> bool:
    """Whether X is a ``dask.array.Array`` (without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def is_sparse(X) -> bool:
    """Whether X is a ``scipy.sparse`` matrix or array."""
    import scipy.sparse

    return scipy.sparse.issparse(X)


def as_data(X) -> DataMatrix:
    """The :class:`DataMatrix` over X: a DataMatrix as it is, sparse or dense otherwise.

    Dense X is used as it is (no copy); callers validate it first
    (:func:`cvxvolmin.validation.check_matrix`).

    Examples
    --------
    >>> import numpy as np
    >>> data = as_data(np.array([[3.0, 0.0], [4.0, 0.0]]))
    >>> data.kind, data.column_norms().tolist(), data.nonzero_columns().tolist()
    ('dense', [5.0, 0.0], [True, False])
    """
    if isinstance(X, DataMatrix):
        return X
    if is_sparse(X):
        return SparseData(X)
    if is_dask(X):
        return DaskData(X)
    return DenseData(np.asarray(X))

"""Teaching figures (matplotlib is optional: ``pip install cvxvolmin[plot]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .exceptions import InvalidParameterError
from .scattering.geometry import inner_radius, slice_basis
from .scattering.prepare import prepare

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .experiments import StudyResult
    from .scattering import ScatteringResult

#: The slice 1.x = 1 of R^3 drawn as an equilateral triangle of side 1.
_TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "cvxvolmin.plot needs matplotlib, which is not installed: pip install cvxvolmin[plot]"
        ) from exc
    return plt


def _planar(r: int):
    """A map from the slice 1.x = 1 to the plane, and the scale it applies.

    For r = 3 it is exact (the paper's Figure 1 view); for r > 3 it is an
    orthogonal projection (a shadow: the hull of the projected rows is the
    projection of the hull, and C projects onto a disc of its radius).
    """
    if r == 3:
        return (lambda X: np.asarray(X) @ _TRIANGLE), 1.0 / np.sqrt(2.0)
    B = slice_basis(r)[:, :2]
    return (lambda X: (np.asarray(X) - 1.0 / r) @ B), 1.0


def scattering(H, ax: Axes | None = None, result: ScatteringResult | None = None) -> Axes:
    """Draw the slice ``1.x = 1``: orthant, C, the rows of H and cone(H.T).

    For r = 3 this is the view of the paper's Figure 1 (Fu, Huang,
    Sidiropoulos 2018): the triangle is the orthant, the circle is C, the
    dots are the rows of H scaled to sum one and the shaded polygon is
    cone(H.T). H is sufficiently scattered when the polygon contains the
    circle and touches it only where the circle touches the triangle. For
    r > 3 the picture is a projection and only suggestive.

    Parameters
    ----------
    H : array_like of shape (N, r), r >= 3
        Nonnegative; rows are samples.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.
    result : ScatteringResult, optional
        When given, its verdict is the title and its witness (a point of
        bd C outside, or on the boundary of, cone(H.T)) is marked.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from cvxvolmin.scattering import check_scattering
    >>> H = np.array([[0, .3, .7], [0, .7, .3], [.3, 0, .7], [.7, 0, .3], [.3, .7, 0], [.7, .3, 0]])
    >>> ax = scattering(H, result=check_scattering(H))
    """
    plt = _import_pyplot()
    from matplotlib.patches import Circle, Polygon
    from scipy.spatial import ConvexHull, QhullError

    prepared = prepare(H)
    r = prepared.r
    if r < 3:
        raise InvalidParameterError(f"the slice view needs r >= 3 columns; H has r = {r}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    to_plane, scale = _planar(r)

    corners = to_plane(np.eye(r))
    if r > 3:
        corners = corners[ConvexHull(corners).vertices]
    ax.add_patch(Polygon(corners, closed=True, fill=False, color="0.3", lw=1.2, label="orthant"))

    points = to_plane(prepared.rows)
    if points.shape[0] >= 3:
        try:
            hull = points[ConvexHull(points).vertices]
            ax.add_patch(Polygon(hull, closed=True, alpha=0.25, color="C0", label="cone(H.T)"))
        except QhullError:  # collinear rows: a segment, nothing to shade
            pass
    centre = to_plane(np.full((1, r), 1.0 / r))[0]
    radius = inner_radius(r) * scale
    ax.add_patch(Circle(centre, radius, fill=False, color="C3", lw=1.5, label="C"))
    ax.scatter(points[:, 0], points[:, 1], s=12, color="C0", zorder=3, label="rows of H")

    if result is not None:
        if result.witness_point is not None:
            w = to_plane(result.witness_point[None, :])[0]
            ax.plot(w[0], w[1], "x", color="k", ms=10, mew=2, zorder=4, label="witness")
        title = result.verdict.replace("_", " ")
        if result.on_boundary:
            title += " (on the boundary)"
        ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def snr_study(result: StudyResult) -> Figure:
    """Median MSE of H against SNR, one panel per case, one line per method (and rank).

    The y axis is logarithmic. A cell whose trials all failed is left out of
    its line; where some trials failed, the marker is hollow.

    Parameters
    ----------
    result : StudyResult
        A study over SNRs: :func:`cvxvolmin.robust.run_snr_study`,
        :func:`cvxvolmin.run_study` with ``snrs_db``, or ``cvxvolmin
        reproduce noise``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import cvxvolmin
    >>> study = cvxvolmin.run_study(["column-sum"], cases=(3,), trials=1, snrs_db=(30, 60),
    ...                             n_samples=60)
    >>> figure = cvxvolmin.plot.snr_study(study)
    >>> [ax.get_xlabel() for ax in figure.axes]
    ['SNR (dB)']
    """
    from .synthetic import CASES

    cfg = result.config
    if not cfg.get("snrs_db"):
        raise InvalidParameterError(
            "this study ran on clean data; plot.snr_study needs one over SNRs "
            "(run_study(..., snrs_db=...)); plot.study draws a clean one."
        )
    plt = _import_pyplot()
    cases, snrs, ranks = cfg["cases"], cfg["snrs_db"], cfg["ranks"]
    fig, axes = plt.subplots(
        1, len(cases), figsize=(3.6 * len(cases), 3.4), sharey=True, squeeze=False
    )
    floor = np.finfo(float).tiny  # an exact recovery (MSE 0) still shows on a log axis
    lines = [(method, rank) for method in cfg["methods"] for rank in ranks]
    for ax, case in zip(axes[0], cases, strict=True):
        for k, (method, rank) in enumerate(lines):
            rows = [result.row(method, case, rank, snr) for snr in snrs]
            kept = [row for row in rows if not np.isnan(row.median_mse)]
            x = [row.snr_db for row in kept]
            y = [max(row.median_mse, floor) for row in kept]
            label = method if len(ranks) == 1 else f"{method}, r = {rank}"
            line = ax.semilogy(x, y, "-", color=f"C{k % 10}", label=label)[0]
            for row, yi in zip(kept, y, strict=True):
                ax.plot(
                    row.snr_db,
                    yi,
                    "o",
                    color=line.get_color(),
                    mfc="none" if row.n_failed else line.get_color(),
                )
        ax.set_title(f"case {case}: {CASES[case]}" if case in CASES else f"{case}", fontsize=9)
        ax.set_xlabel("SNR (dB)")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel(f"median MSE of H ({cfg['trials']} trials)")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def study(result: StudyResult, ax: Axes | None = None) -> Axes:
    """Median MSE of H per case, one bar per method and rank (log scale).

    A cell whose trials all failed gets no bar and an "all failed" mark;
    one with some failed trials is hatched.

    Parameters
    ----------
    result : StudyResult
        From :func:`cvxvolmin.run_study`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import cvxvolmin
    >>> study = cvxvolmin.run_study(["column-sum"], cases=(3,), trials=1, n_samples=60)
    >>> ax = study.plot()
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['3']
    """
    cfg = result.config
    if cfg.get("snrs_db"):
        raise InvalidParameterError(
            "this study ran over SNRs; plot.snr_study draws it (MSE against SNR per case)."
        )
    plt = _import_pyplot()
    if ax is None:
        ax = plt.subplots(figsize=(1.2 + 1.6 * len(cfg["cases"]), 3.4))[1]
    series = [(m, rank) for m in cfg["methods"] for rank in cfg["ranks"]]
    width = 0.8 / len(series)
    floor = np.finfo(float).tiny  # an exact recovery (MSE 0) still shows on a log axis
    for k, (method, rank) in enumerate(series):
        for i, case in enumerate(cfg["cases"]):
            row = result.row(method, case, rank)
            x = i - 0.4 + (k + 0.5) * width
            if np.isnan(row.median_mse):
                ax.annotate(
                    "all failed",
                    (x, 0.5),
                    xycoords=("data", "axes fraction"),
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=f"C{k}",
                )
                continue
            label = method if len(cfg["ranks"]) == 1 else f"{method}, r = {rank}"
            ax.bar(
                x,
                max(row.median_mse, floor),
                width,
                color=f"C{k}",
                hatch="//" if row.n_failed else None,
                label=label if i == 0 else None,
            )
    ax.set_yscale("log")
    ax.set_xticks(range(len(cfg["cases"])), [str(c) for c in cfg["cases"]])
    ax.set_xlabel("case")
    ax.set_ylabel(f"median MSE of H ({cfg['trials']} trials)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return ax

"""Four r = 3 cases of the sufficiently scattered condition, in the paper's view.

Usage: ``python examples/plot_scattering.py [out.png]``; without a path the
figure is shown (with the Agg backend, for instance ``MPLBACKEND=Agg``, pass a
path). Panels: a separable H, a sufficiently scattered H that is not
separable, an H for which (1) fails, and one where (1) holds with equality
but (2) fails (C touches the hull away from the triangle's sides).
"""

from __future__ import annotations

import itertools
import sys

import matplotlib.pyplot as plt
import numpy as np

from cvxvolmin.plot import scattering
from cvxvolmin.scattering import check_scattering


def hexagon(a: float) -> np.ndarray:
    """Rows (0, a, 1 - a) and permutations: corners of the triangle cut at 1 - a."""
    return np.array(list(itertools.permutations((0.0, a, 1.0 - a))))


def main(argv: list[str]) -> None:
    rng = np.random.default_rng(0)
    cases = {
        "separable": np.vstack([np.eye(3), rng.uniform(size=(15, 3))]),
        "scattered, not separable": hexagon(0.2),
        "(1) fails": hexagon(0.42),
        "(1) with equality, (2) fails": hexagon(1 / 3),
    }
    fig, axes = plt.subplots(1, 4, figsize=(14, 4))
    for ax, (name, H) in zip(axes, cases.items(), strict=True):
        result = check_scattering(H, method="exact")
        scattering(H, ax=ax, result=result)
        ax.set_title(f"{name}\n{ax.get_title()}", fontsize=9)
    axes[0].legend(loc="upper left", fontsize=7, frameon=False)
    fig.tight_layout()
    if len(argv) > 1:
        fig.savefig(argv[1], dpi=120)
        print(f"saved {argv[1]}")
    else:
        plt.show()


if __name__ == "__main__":
    main(sys.argv)

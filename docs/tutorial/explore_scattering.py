"""
Move the rows of H: an interactive notebook
===========================================

A companion to the class. Download this page as a Jupyter notebook (the
button at the bottom) and run it: sliders change H, the fraction of zeros
and the position of one row, and each change redraws the cone picture,
reruns the checker (``cvxvolmin.check_scattering``) and refits, to show
whether column-sum VolMin recovers the truth. The sliders need
``pip install 'cvxvolmin[teach]'`` (ipywidgets); run as a script, or on
this page, the notebook shows a few settings chosen in advance.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import cvxvolmin
from cvxvolmin.plot import scattering

M, N, r = 20, 30, 3
W = np.random.default_rng(1).standard_normal((M, r))  # mixed sign, fixed
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0]])  # the picture's triangle


def place(angle: float, reach: float) -> np.ndarray:
    """The point of the triangle at ``angle`` degrees from its centre.

    ``reach`` 0 is the centre and 1 the edge (a row with a zero entry):
    returns the weights of the three corners, which sum to one.
    """
    centre = CORNERS.mean(axis=0)
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    lift = np.vstack([CORNERS.T, np.ones(3)])  # plane point -> corner weights
    start = np.linalg.solve(lift, np.append(centre, 1.0))
    step = np.linalg.solve(lift, np.append(direction, 0.0))
    to_edge = min(-start[k] / step[k] for k in range(3) if step[k] < 0)
    return np.clip(start + reach * to_edge * step, 0.0, None)


def make_h(zero_fraction=0.35, move_row=False, row=25, angle=90.0, reach=1.0, seed=0):
    """Uniform entries, each zero with probability ``zero_fraction``; one row moved."""
    rng = np.random.default_rng(seed)
    H = rng.uniform(size=(N, r)) * (rng.uniform(size=(N, r)) >= zero_fraction)
    if move_row:
        H[row] = place(angle, reach)  # a row's scale changes neither its ray nor the cone
    return H


def explore(zero_fraction=0.35, move_row=False, row=25, angle=90.0, reach=1.0, seed=0):
    """Draw H's cone, check it, fit ``X = W H.T`` and say whether H came back."""
    H = make_h(zero_fraction, move_row, row, angle, reach, seed)
    check = cvxvolmin.check_scattering(H, method="exact")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. rows of H that are all zero
        fitted = cvxvolmin.fit(W @ H.T, r, random_state=0)
    mse = cvxvolmin.matched_mse(H, fitted.H)
    recovered = mse < 1e-20  # unit-norm columns: rounding error is about 1e-30
    _, ax = plt.subplots(figsize=(4.5, 4.5))
    scattering(H, ax=ax, result=check)
    if move_row:
        moved = (H[row] / H[row].sum()) @ CORNERS
        ax.scatter(*moved, s=120, facecolors="none", edgecolors="C1", lw=2, zorder=5)
    ax.set_xlabel(f"fit: MSE {mse:.1e}, truth {'recovered' if recovered else 'not recovered'}")
    plt.show()
    print(
        f"zeros {zero_fraction:.2f}, row {row} {'moved' if move_row else 'kept'}: "
        f"{check.verdict}; MSE {mse:.1e}; recovered {recovered}"
    )
    return check.verdict, mse


# The sliders: an ipywidgets abbreviation for each parameter of explore.
CONTROLS = {
    "zero_fraction": (0.0, 0.6, 0.05),
    "move_row": False,
    "row": (0, N - 1),
    "angle": (0.0, 355.0, 5.0),
    "reach": (0.0, 1.0, 0.05),
    "seed": (0, 20),
}

# %% [markdown]
# The sliders
# -----------
#
# In Jupyter this cell shows them (move one and wait a second: each change
# solves a few LPs). Things to try: lower the zero fraction until the
# verdict flips; then tick ``move_row`` and push one row onto an edge
# (``reach`` 1) at the angle of the cross, the checker's witness: a point of
# the circle C that the cone misses.

# %%
try:
    get_ipython  # noqa: B018 (defined only in IPython and Jupyter)
    from ipywidgets import interact
except (NameError, ImportError):  # a plain script, or the documentation's build
    interact = None
if interact is not None:
    interact(explore, **CONTROLS)

# %% [markdown]
# Settings chosen in advance
# --------------------------
#
# The paper's 35% zeros: sufficiently scattered, and the fit is exact.

# %%
explore()

# %% [markdown]
# Move row 25 to the centre of the triangle: the cone no longer reaches the
# circle near the top (the cross). The theorem no longer applies, yet the
# fit still finds the truth: sufficient scattering is *sufficient* for
# recovery, not necessary. Here no factorization of smaller volume exists
# although the cone misses a sliver of C.

# %%
explore(move_row=True, row=25, reach=0.0)

# %% [markdown]
# No zeros at all: the rows crowd the middle, the cone misses much of C, and
# the fit finds a factorization of smaller volume than the truth.

# %%
explore(zero_fraction=0.0)

# %% [markdown]
# At 25% zeros the cone misses C near the top (the cross, at about 83
# degrees). Moving a single row onto the edge there closes the gap.

# %%
explore(zero_fraction=0.25)
explore(zero_fraction=0.25, move_row=True, row=0, angle=83.0, reach=1.0)

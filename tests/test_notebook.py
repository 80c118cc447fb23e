"""The interactive notebook (docs/tutorial/explore_scattering.py), without widgets."""

from __future__ import annotations

import builtins
import contextlib
import inspect
import io
import re
import runpy
import sys
import types
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial" / "explore_scattering.py"


def _run_notebook(folder: Path) -> tuple[dict, str]:
    """Run the notebook's source as a script in ``folder``; its namespace and what it printed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.chdir(folder)
        try:
            namespace = runpy.run_path(str(NOTEBOOK), run_name="__main__")
        finally:
            plt.close("all")
    return namespace, out.getvalue()


@pytest.fixture(scope="module")
def as_a_script(tmp_path_factory) -> tuple[dict, str]:
    """The notebook run once as a plain script: no IPython, so no widgets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(builtins, "get_ipython", raising=False)
        return _run_notebook(tmp_path_factory.mktemp("notebook"))


@pytest.fixture
def fake_jupyter(monkeypatch):
    """A kernel's ``get_ipython`` and an ipywidgets whose ``interact`` records its call."""
    calls = []
    monkeypatch.setattr(builtins, "get_ipython", lambda: None, raising=False)
    monkeypatch.setitem(
        sys.modules,
        "ipywidgets",
        types.SimpleNamespace(interact=lambda f, **controls: calls.append((f, controls))),
    )
    return calls


def test_the_settings_shown_without_widgets(as_a_script):
    # As a script (and in the docs build) no slider is made: the page's fixed
    # settings run, and each says the checker's verdict and whether the fit
    # recovered H. These are the claims the notebook's text makes of them.
    namespace, out = as_a_script
    assert namespace["interact"] is None
    lines = re.findall(
        r"^zeros (\S+), row (\d+) (moved|kept): (\w+); MSE (\S+); recovered (True|False)$",
        out,
        flags=re.M,
    )
    shown = [(zeros, moved, verdict, ok) for zeros, _, moved, verdict, _, ok in lines]
    assert shown == [
        ("0.35", "kept", "sufficiently_scattered", "True"),
        # one row moved to the centre: the condition fails, the truth still comes back
        ("0.35", "moved", "not_sufficiently_scattered", "True"),
        ("0.00", "kept", "not_sufficiently_scattered", "False"),
        ("0.25", "kept", "not_sufficiently_scattered", "True"),
        # one row pushed onto the edge at the witness's angle closes the gap
        ("0.25", "moved", "sufficiently_scattered", "True"),
    ], out
    for *_, mse, recovered in lines:
        assert (float(mse) < 1e-20) == (recovered == "True")


def test_the_sliders_drive_explore(tmp_path, fake_jupyter):
    # In a kernel the notebook hands explore and one control per parameter to
    # ipywidgets.interact; every control's default and range fit explore.
    namespace, _ = _run_notebook(tmp_path)
    [(function, controls)] = fake_jupyter
    explore = namespace["explore"]
    assert function is explore and controls == namespace["CONTROLS"]
    parameters = inspect.signature(explore).parameters
    assert set(controls) == set(parameters)
    for name, control in controls.items():
        default = parameters[name].default
        if isinstance(control, tuple):  # a slider: (low, high[, step])
            assert control[0] <= default <= control[1], name
        else:  # a checkbox: its value is the default
            assert control == default, name
    assert controls["row"] == (0, namespace["N"] - 1)


def test_the_sliders_far_ends_run(as_a_script):
    # Each slider's far end is a valid H: 60% zeros, the last row moved to an
    # edge at the largest angle, the last seed.
    namespace, _ = as_a_script
    high = {name: c[1] for name, c in namespace["CONTROLS"].items() if isinstance(c, tuple)}
    with contextlib.redirect_stdout(io.StringIO()):
        verdict, mse = namespace["explore"](move_row=True, **high)
    assert verdict in {"sufficiently_scattered", "not_sufficiently_scattered"}
    assert mse >= 0
    import matplotlib.pyplot as plt

    plt.close("all")


def test_place_reaches_the_edge_and_the_centre(as_a_script):
    namespace, _ = as_a_script
    place = namespace["place"]
    for angle in (0.0, 83.0, 90.0, 210.0, 355.0):
        edge = place(angle, 1.0)
        assert edge.sum() == pytest.approx(1.0) and edge.min() == pytest.approx(0.0, abs=1e-12)
        assert place(angle, 0.0) == pytest.approx([1 / 3] * 3)
        assert place(angle, 0.5).min() > 0  # halfway is inside the triangle
    assert place(90.0, 1.0) == pytest.approx([0.0, 0.0, 1.0])  # straight up: the top corner

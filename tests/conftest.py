"""Shared fixtures: the paper's data and the location of the shared real data sets."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

import cvxvolmin

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The real data sets: $CVXVOLMIN_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("CVXVOLMIN_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder; skips the test when it is absent."""
    folder = data_dir()
    if not folder.is_dir():
        pytest.skip(f"shared data sets not found at {folder} (set CVXVOLMIN_DATA)")
    return folder


@pytest.fixture
def run_real_example(shared_data, monkeypatch, tmp_path):
    """Run ``examples/real_data/<name>.py`` in-process on the shared data.

    The returned function takes the example's name and returns the script's
    namespace (its ``RESULTS`` and everything else it defines). Figures go to
    ``tmp_path``, which is also the working folder; skips without the data.
    """
    monkeypatch.setenv("CVXVOLMIN_DATA", str(shared_data))
    monkeypatch.setenv("CVXVOLMIN_EXAMPLE_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)

    def run(name: str) -> dict:
        import matplotlib.pyplot as plt

        script = REPO_ROOT / "examples" / "real_data" / f"{name}.py"
        try:
            return runpy.run_path(str(script), run_name="__main__")
        finally:
            plt.close("all")

    return run


@pytest.fixture(scope="session")
def case3_r5():
    """The paper's case 3 (Gaussian W) at r = 5, seed 0."""
    return cvxvolmin.make_paper_data(5, case=3, random_state=0)

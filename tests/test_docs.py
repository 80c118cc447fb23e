"""The documentation's executable parts: the tutorial script, the gallery sources, the build."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TUTORIAL = DOCS / "tutorial" / "class.py"
EXAMPLES = sorted((REPO / "examples").glob("*.py"))
DOCS_PACKAGES = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme")


def _run(script: Path, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tutorial_runs_as_a_script(tmp_path):
    done = _run(TUTORIAL, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    # It reaches the experiment, and column-sum VolMin is exact there.
    assert "column-sum VolMin: MSE" in done.stdout
    assert " column-sum, case 3: mean MSE" in done.stdout


def test_tutorial_is_a_jupytext_percent_script():
    text = TUTORIAL.read_text(encoding="utf-8")
    cells = [line for line in text.splitlines() if line.startswith("# %%")]
    assert sum(line.startswith("# %% [markdown]") for line in cells) >= 5
    assert sum(line.strip() == "# %%" for line in cells) >= 5
    if importlib.util.find_spec("jupytext") is not None:  # optional deeper check
        import jupytext

        notebook = jupytext.reads(text, fmt="py:percent")
        kinds = {cell.cell_type for cell in notebook.cells}
        assert kinds == {"markdown", "code"}


@pytest.mark.parametrize("script", [*EXAMPLES, TUTORIAL], ids=lambda path: path.name)
def test_gallery_sources_start_with_a_docstring(script):
    # sphinx-gallery refuses a script without a module docstring (its title).
    docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    assert docstring and docstring.strip().splitlines()[0].strip()


def test_examples_cited_by_the_docs_exist():
    # ":ref:`sphx_glr_auto_examples_NAME.py`" must name a script in examples/.
    names = {path.stem for path in EXAMPLES}
    for page in DOCS.rglob("*.rst"):
        if "_build" in page.parts or page.parts[len(DOCS.parts)].startswith(("auto_", "generated")):
            continue
        text = page.read_text(encoding="utf-8")
        for chunk in text.split("sphx_glr_auto_examples_")[1:]:
            name = chunk.split(".py")[0]
            assert name in names, f"{page.relative_to(REPO)} cites missing example {name}.py"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    missing = [name for name in DOCS_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"docs build not tested: {', '.join(missing)} not installed (pip install -e '.[docs]')"
        )
    # Build a copy, so that the generated gallery does not land in the source tree.
    shutil.copytree(
        DOCS,
        tmp_path / "docs",
        ignore=shutil.ignore_patterns(
            "_build", "auto_examples", "auto_tutorial", "generated", "sg_execution_times.rst"
        ),
    )
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            str(tmp_path / "docs"),
            str(tmp_path / "html"),
        ],
        env={**os.environ, "MPLBACKEND": "Agg", "CVXVOLMIN_DOCS_FAST": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    for page in (
        "index",
        "concepts",
        "table2",
        "api",
        "auto_examples/index",
        "auto_tutorial/class",
        "auto_examples/plot_paper_figure2",
    ):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page

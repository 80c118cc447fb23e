"""The documentation's executable parts: the tutorial script, the gallery sources, the build."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cvxvolmin.experiments import PAPER_TABLE2

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TUTORIAL = DOCS / "tutorial" / "class.py"
EXAMPLES = sorted((REPO / "examples").glob("*.py"))


def _run(script: Path, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg", **env},
        capture_output=True,
        text=True,
        timeout=240,  # below the suite's per-test limit (300 s), so that this reports first
    )


def _figure(text: str, pattern: str) -> float:
    """The number that ``pattern`` (a regex with one group) captures in ``text``."""
    found = re.search(pattern, text, flags=re.MULTILINE)
    assert found, f"the output has no line matching {pattern!r}:\n{text}"
    return float(found.group(1))


def test_tutorial_runs_as_a_script(tmp_path):
    done = _run(TUTORIAL, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    # Part 1: the same X; the alternative H is negative with zeros in H,
    # nonnegative for the crowded H, and of smaller volume (det(B)^2 < 1).
    assert _figure(out, r"H with zeros: same X True, min of the new H ([-+.\d]+)") < 0
    assert _figure(out, r"crowded H: same X True, min of the new H ([-+.\d]+)") > 0
    ratios = [float(v) for v in re.findall(r"volume ratio ([.\d]+)", out)]
    assert len(ratios) == 2 and all(0 < ratio < 1 for ratio in ratios)
    # Part 2: only column-sum VolMin is exact; row-sum (l1) warns and fails.
    assert _figure(out, r"plain NMF: MSE (\S+)$") > 1e-3
    assert _figure(out, r"row-sum VolMin: MSE (\S+)$") > 1e-3
    assert _figure(out, r"column-sum VolMin: MSE (\S+)$") < 1e-20
    assert "ModelMismatchWarning" in _line(out, "warnings raised:")
    # The oracle normalizing vector puts the mixed-sign data on a simplex; l1 does not.
    assert _figure(out, r"oracle normalization.*MSE (\S+)$") < 1e-20
    assert _figure(out, r"l1 normalization.*MSE (\S+)$") > 1e-3
    # Part 3: the checker's verdicts, and the crowded H is not recovered.
    assert re.search(r"^H with zeros: sufficiently_scattered$", out, flags=re.MULTILINE), out
    assert re.search(r"^crowded H: not_sufficiently_scattered$", out, flags=re.MULTILINE), out
    assert _figure(out, r"crowded H: MSE (\S+)$") > 1e-3
    # Part 4: log|det Q| never decreases; the fit is exact and H >= 0 to rounding.
    history = _line(out, "log|det Q| per sweep:").split(":", 1)[1].strip(" []").split()
    assert len(history) >= 1 and np.all(np.diff([float(v) for v in history]) >= -1e-9)
    assert _figure(out, r"fit error (\S+),") < 1e-12
    assert _figure(out, r"min H (\S+)$") > -1e-12
    # Part 5: the Table 2 pattern, next to the paper's values as published.
    rows = {
        (method, int(case)): (float(mse), float(paper))
        for method, case, mse, paper in re.findall(
            r"^\s*(\S+), case (\d): mean MSE (\S+) \(paper (\S+)\)$", out, flags=re.MULTILINE
        )
    }
    assert {case for _, case in rows} == {1, 2, 3} and len(rows) >= 6, out
    for (method, case), (mse, paper) in rows.items():
        assert paper == pytest.approx(PAPER_TABLE2[(method, 5, case)], rel=5e-3)
        if method == "column-sum":
            assert mse < 1e-20, (method, case, mse)
    if ("row-sum", 1) in rows:
        assert max(rows["row-sum", 1][0], rows["row-sum", 2][0]) < 1e-8
        assert rows["row-sum", 3][0] > 1e-3
    assert rows["plain-nmf", 3][0] > 1e-2
    assert rows["plain-nmf", 3][0] > 1e4 * rows["plain-nmf", 1][0]


def _line(text: str, start: str) -> str:
    """The one output line that starts with ``start`` (after spaces)."""
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(start)]
    assert len(lines) == 1, f"expected one line starting {start!r}, got {lines}:\n{text}"
    return lines[0]


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
@pytest.mark.timeout(600)  # runs every example and the tutorial: 60 s on a loaded machine
def test_docs_build_without_warnings(tmp_path, docs_tools):
    # Without the docs extra this skips, or fails under CVXVOLMIN_REQUIRE=docs
    # (see conftest.py); CI installs the extra and requires it.
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
        timeout=570,  # below the test's own limit: the build's timeout reports first
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


_DOCTEST_PAGES = sorted(
    page
    for page in DOCS.rglob("*.rst")
    if not {"_build", "generated", "auto_examples", "auto_tutorial"} & set(page.parts)
    and ">>> " in page.read_text(encoding="utf-8")
)


def test_some_pages_hold_doctests():
    assert DOCS / "howto" / "prototype_variant.rst" in _DOCTEST_PAGES


@pytest.mark.parametrize("page", _DOCTEST_PAGES, ids=lambda page: page.name)
def test_doctests_in_the_docs_pages_run(page, tmp_path, monkeypatch):
    """A page whose snippets are doctests prints what it shows (run from a scratch folder)."""
    import doctest

    monkeypatch.chdir(tmp_path)
    results = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        report=False,
    )
    assert results.attempted > 0
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"

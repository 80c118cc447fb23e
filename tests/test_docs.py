"""The documentation's executable parts: the tutorial script, the gallery sources, the build."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

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


# The class's exercises hold their solutions' code as literal blocks in folded
# "Solution" admonitions; the test runs them after the class, in its namespace.
_SOLUTIONS_MARK = "=== solutions ==="


def _solution_code(script: Path) -> list[str]:
    """The code of each literal block inside a "Solution" admonition of ``script``."""
    text = "\n".join(
        line[2:] if line.startswith("# ") else line.lstrip("#")
        for line in script.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    )
    blocks = []
    for admonition in re.split(r"^\s*\.\. admonition:: Solution", text, flags=re.M)[1:]:
        found = re.search(r"^(\s*)::\n\n((?:\1\s+\S.*\n|\n)+)", admonition, flags=re.M)
        if found:
            blocks.append(textwrap.dedent(found.group(2)))
    return blocks


def test_tutorial_runs_as_a_script(tmp_path):
    # The class as a script (run_name "__main__"), then its solutions' code.
    driver = tmp_path / "driver.py"
    driver.write_text(
        "import runpy, sys\n"
        f"namespace = runpy.run_path({str(TUTORIAL)!r}, run_name='__main__')\n"
        f"print({_SOLUTIONS_MARK!r}, flush=True)\n"
        f"for code in {_solution_code(TUTORIAL)!r}:\n"
        "    exec(code, namespace)\n",
        encoding="utf-8",
    )
    done = _run(driver, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out, solutions = done.stdout.split(_SOLUTIONS_MARK)
    assert "nan" not in out.lower(), out
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
    # The volumes: equal for the scattered H, the fit's smaller for the crowded
    # one, which it does not recover; the columns of A = pinv(H) H_fit sum to one
    # and, for the crowded H, leave C* (||a_i|| > 1.a_i), so |det A| > 1.
    logdets = {
        name: (float(truth), float(fit), float(mse))
        for name, truth, fit, mse in re.findall(
            r"^(.*): log det\(W.T W\) truth (\S+), fit (\S+); MSE (\S+)$", out, flags=re.M
        )
    }
    truth, fit, mse = logdets["H with zeros"]
    assert fit == pytest.approx(truth, rel=1e-6) and mse < 1e-20
    truth, fit, mse = logdets["crowded H"]
    assert fit < truth - 0.1 * abs(truth) and mse > 1e-3
    for name, bound in [("H with zeros", 1.0), ("crowded H", None)]:
        line = _line(out, f"{name}: 1.a_i")
        sums, norms = (
            np.array(line.split(part)[1].split("]")[0].strip(" [").split(), float)
            for part in ("1.a_i =", "||a_i|| =")
        )
        assert sums == pytest.approx(np.ones(3), rel=1e-6)
        if bound is None:
            assert norms.max() > 1.1 * sums.max()  # a column of A outside C*
        else:
            assert norms == pytest.approx(np.ones(3), rel=1e-4)  # A a permutation
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
    # Exercise 1's solution: scattered, and exact, down to 5% zeros; no zeros breaks both.
    sweep = re.findall(r"^(\S+) (\w+) (\S+)$", solutions, flags=re.M)
    assert [float(zeros) for zeros, _, _ in sweep] == [0.35, 0.15, 0.05, 0.0], solutions
    for zeros, verdict, mse in sweep:
        if float(zeros) > 0:
            assert verdict == "sufficiently_scattered" and float(mse) < 1e-20
        else:
            assert verdict == "not_sufficiently_scattered" and float(mse) > 1e-3
    # Exercise 3's solution: a cap at the truth's largest entry recovers it, a tighter one cannot.
    assert _figure(solutions, r"^1.0 x largest: MSE (\S+)$") < 1e-20
    assert _figure(solutions, r"^0.9 x largest: MSE (\S+)$") > 1e-3


def test_tutorial_without_scikit_learn_says_what_to_install(tmp_path):
    # Plain NMF on nonnegative data needs scikit-learn: without it the class
    # stops before any fit with the install command, instead of printing nan.
    blocked = tmp_path / "without_sklearn.py"
    blocked.write_text(
        "import runpy, sys\n"
        "sys.modules['sklearn'] = None  # import sklearn now raises ImportError\n"
        f"runpy.run_path({str(TUTORIAL)!r}, run_name='__main__')\n",
        encoding="utf-8",
    )
    done = _run(blocked, tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    assert "scikit-learn" in done.stderr and "pip install 'cvxvolmin[teach]'" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_solutions_are_folded_and_found():
    # Every exercise has a folded solution (sphinx-togglebutton's dropdown);
    # exercises 1 and 3 carry code, which the script test runs.
    text = TUTORIAL.read_text(encoding="utf-8")
    exercises = text.split("# Exercises\n", 1)[1]
    assert len(re.findall(r"^# \d\. ", exercises, flags=re.M)) == 3
    assert exercises.count(".. admonition:: Solution") == 3
    assert exercises.count(":class: dropdown") == 3
    assert len(_solution_code(TUTORIAL)) == 2


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


class _Assets(HTMLParser):
    """What a page loads: scripts, stylesheets, images and frames (not plain links)."""

    def __init__(self):
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "video", "audio"} and attrs.get("src"):
            self.loaded.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and attrs.get("rel") in {"stylesheet", "preload"}:
            self.loaded.append(attrs["href"])


def _css_references(css: Path) -> list[str]:
    """The ``@import`` and ``url(...)`` targets of a stylesheet (data: URIs left out)."""
    text = css.read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"""@import\s+(?:url\()?['"]?([^'")\s;]+)""", text)
    found += re.findall(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""", text)
    return [ref for ref in found if not ref.startswith(("data:", "#"))]


def _offline_problems(site: Path) -> list[str]:
    """Every remote or missing asset that a page of ``site`` (or its CSS) loads."""
    problems, seen_css = [], set()

    def check(ref: str, base: Path, where: str) -> None:
        parts = urlsplit(ref)
        if parts.scheme or ref.startswith("//"):
            problems.append(f"{where} loads a remote {ref}")
            return
        target = (base / parts.path).resolve()
        if not target.is_file():
            problems.append(f"{where} loads {ref}, which the build does not hold")
        elif target.suffix == ".css" and target not in seen_css:
            seen_css.add(target)
            for inner in _css_references(target):
                check(inner, target.parent, str(target.relative_to(site)))

    pages = [page for page in site.rglob("*.html") if "_static" not in page.parts]
    for page in sorted(pages):
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        for ref in parser.loaded:
            check(ref, page.parent, str(page.relative_to(site)))
    return problems


def _mathjax_scripts(page: Path) -> list[str]:
    parser = _Assets()
    parser.feed(page.read_text(encoding="utf-8"))
    return [ref for ref in parser.loaded if "mathjax" in ref.lower()]


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

    def build(builder: str, *options: str, timeout: float) -> Path:
        out = tmp_path / builder
        command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", builder, "-q"]
        done = subprocess.run(
            [*command, *options, str(tmp_path / "docs"), str(out)],
            env={**os.environ, "MPLBACKEND": "Agg", "CVXVOLMIN_DOCS_FAST": "1"},
            capture_output=True,
            text=True,
            timeout=timeout,  # the two builds together stay below the test's own limit
        )
        assert done.returncode == 0, (builder, (done.stdout + done.stderr)[-4000:])
        return out

    html = build("html", timeout=480)
    for page in (
        "index",
        "concepts",
        "table2",
        "api",
        "auto_examples/index",
        "auto_tutorial/class",
        "auto_tutorial/explore_scattering",
        "auto_examples/plot_paper_figure2",
    ):
        assert (html / f"{page}.html").is_file(), page

    # Offline: nothing remote, nothing missing; MathJax and its fonts served from the build.
    assert _offline_problems(html) == []
    mathjax = html / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").stat().st_size > 100_000
    assert len(list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))) >= 10
    index_mathjax = [ref.split("?")[0] for ref in _mathjax_scripts(html / "index.html")]
    assert index_mathjax == ["_static/mathjax/tex-chtml.js"]
    assert len(_mathjax_scripts(html / "auto_tutorial" / "class.html")) == 1

    # The class's solutions are folded (sphinx-togglebutton), its proof is math.
    class_page = (html / "auto_tutorial" / "class.html").read_text(encoding="utf-8")
    assert class_page.count("dropdown") >= 3 and "togglebutton.js" in class_page
    assert r"\operatorname{cone}(H^\top)^* \subseteq C^*" in class_page

    # The class's notebook folds its solutions too (HTML details, code fenced).
    class_notebook = (tmp_path / "docs" / "auto_tutorial" / "class.ipynb").read_text("utf-8")
    assert class_notebook.count("<details><summary>Solution</summary>") == 3
    assert "admonition::" not in class_notebook and "```python" in class_notebook

    # The notebook: sphinx-gallery's .ipynb of the same source, with the sliders' cell.
    notebook = tmp_path / "docs" / "auto_tutorial" / "explore_scattering.ipynb"
    assert "interact(explore, **CONTROLS)" in notebook.read_text(encoding="utf-8")

    # The slides: the same class page through reveal.js (the class is not run
    # again: sphinx-gallery's cache), as offline as the site.
    slides = build("revealjs", "-c", str(tmp_path / "docs" / "slides"), timeout=100)
    deck = slides / "auto_tutorial" / "class.html"
    text = deck.read_text(encoding="utf-8")
    assert "reveal.js" in text and text.count("<section") >= 15
    for part in range(1, 6):
        assert f"Part {part} (" in text
    assert "Hadamard" in text and text.count("sphx_glr_class_") >= 6  # the proof, the figures
    assert _offline_problems(slides) == []
    assert len(_mathjax_scripts(deck)) == 1


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

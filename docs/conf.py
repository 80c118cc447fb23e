"""Sphinx configuration of the cvxvolmin documentation.

Build (from the repository root), warnings treated as errors::

    make -C docs html
    # or: CVXVOLMIN_DOCS_FAST=1 python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery executes ``examples/*.py`` and ``docs/tutorial/*.py`` at build
time; ``CVXVOLMIN_DOCS_FAST=1`` (set by the Makefile) lets examples choose
smaller sizes.

The site works without network: MathJax is served from the build (see
``_mathjax_static`` below) and no page loads a remote script or stylesheet
(``tests/test_docs.py`` checks the built HTML). ``make -C docs slides``
builds the class as reveal.js slides from the same source
(``docs/slides/conf.py``).
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import warnings
from pathlib import Path

import cvxvolmin

HERE = Path(__file__).resolve().parent

project = "cvxvolmin"
author = "cvxvolmin developers"
copyright = "cvxvolmin developers"
release = cvxvolmin.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_togglebutton",  # the class's solutions, hidden until opened
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "tutorial/GALLERY_HEADER.rst"]
templates_path: list[str] = []
default_role = "literal"
nitpicky = False

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- sphinx-gallery -----------------------------------------------------------
os.environ.setdefault("MPLBACKEND", "Agg")
# Examples print cvxvolmin's warnings (e.g. ModelMismatchWarning) on purpose.
warnings.filterwarnings("default", module="cvxvolmin")

sphinx_gallery_conf = {
    "examples_dirs": [str(HERE.parent / "examples"), str(HERE / "tutorial")],
    "gallery_dirs": ["auto_examples", "auto_tutorial"],
    # Execute every script, not only plot_*.py: all of them must run.
    "filename_pattern": re.escape(os.sep) + r"[a-z_0-9]+\.py$",
    "ignore_pattern": r"(__init__\.py|real_data)",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "show_memory": False,
    # Its timing pages load jQuery and DataTables from CDNs: not offline.
    "write_computation_times": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"cvxvolmin {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False


# -- math, offline --------------------------------------------------------------
# A classroom may have no network, so MathJax is served from the build rather
# than a CDN. The copy (MathJax 3.2.2: the es5 bundle, its fonts and
# extensions) comes from the PyPI wheel sphinx-mathjax-offline, used here only
# as a source of files: pip is all CI has, whereas rendering at build time
# needs LaTeX (imgmath) or node (KaTeX prerendering), which it may not have.


def _mathjax_static() -> Path:
    """The folder holding ``mathjax/tex-chtml.js`` in the installed wheel."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("sphinx-mathjax-offline")
    except PackageNotFoundError as exc:
        raise RuntimeError(
            "the docs serve MathJax from the build and take it from the "
            "sphinx-mathjax-offline package, which is not installed: pip install '.[docs]'"
        ) from exc
    for file in dist.files or ():
        if file.name == "tex-chtml.js" and file.parent.name == "mathjax":
            return Path(dist.locate_file(file)).parent.parent
    raise RuntimeError(f"sphinx-mathjax-offline {dist.version} ships no mathjax/tex-chtml.js")


MATHJAX_STATIC = _mathjax_static()
html_static_path = [str(MATHJAX_STATIC)]  # copied to the build as _static/mathjax/
mathjax_path = "mathjax/tex-chtml.js"  # relative: resolved against each page's _static


# -- examples whose docstring has no reST title -------------------------------
# sphinx-gallery uses the first paragraph of an example's docstring as its
# title but only makes it a section when it is underlined. For a one-line
# first paragraph without an underline, add one, so that the page has a title.


def _title_from_first_line(app, docname, source):
    if not docname.startswith(("auto_examples/", "auto_tutorial/")):
        return
    text = source[0]
    anchor = f".. _sphx_glr_{docname.replace('/', '_')}.py:\n\n"
    start = text.find(anchor)
    if start < 0:
        return
    first = start + len(anchor)
    lines = text[first:].split("\n", 2)
    if len(lines) == 3 and lines[0].strip() and not lines[1].strip():
        # A one-line first paragraph, not underlined: underline it.
        title = lines[0]
        source[0] = text[:first] + title + "\n" + "=" * len(title) + "\n\n" + lines[2]


# -- the class's solutions, folded in its notebook too ---------------------------
# sphinx-gallery copies a reST admonition into the notebook's markdown as it is,
# an indented block that Jupyter shows as code. A "Solution" dropdown becomes
# an HTML <details> block there instead, which Jupyter folds as the page does.

_SOLUTION = re.compile(
    r"^(?P<indent>[ \t]*)\.\. admonition:: (?P<title>Solution.*)\n"
    r"(?P=indent)[ \t]+:class: dropdown\n"
    r"(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)*)",
    flags=re.M,
)
_LITERAL = re.compile(r"^::\n\n(?P<code>(?:[ \t]+\S.*\n|[ \t]*\n)+)", flags=re.M)


def _fold_solutions(markdown: str) -> str:
    """Each "Solution" dropdown of ``markdown`` as a <details> block, its code fenced."""

    def fenced(match: re.Match) -> str:
        return "```python\n" + textwrap.dedent(match["code"]).strip("\n") + "\n```\n\n"

    def fold(match: re.Match) -> str:
        body = _LITERAL.sub(fenced, textwrap.dedent(match["body"]).strip("\n") + "\n")
        title = match["title"]
        return f"<details><summary>{title}</summary>\n\n{body.strip()}\n\n</details>\n\n"

    return _SOLUTION.sub(fold, markdown)


def _fold_notebook_solutions(app) -> None:
    """Rewrite the gallery's notebooks (after sphinx-gallery wrote them)."""
    for folder in app.config.sphinx_gallery_conf["gallery_dirs"]:
        for path in sorted((Path(app.srcdir) / folder).glob("*.ipynb")):
            notebook = json.loads(path.read_text(encoding="utf-8"))
            changed = False
            for cell in notebook["cells"]:
                if cell["cell_type"] == "markdown":
                    text = "".join(cell["source"])
                    folded = _fold_solutions(text)
                    if folded != text:
                        cell["source"], changed = folded.splitlines(keepends=True), True
            if changed:
                path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")


def setup(app):
    app.connect("source-read", _title_from_first_line)
    # sphinx-gallery writes the notebooks at builder-inited (priority 500)
    app.connect("builder-inited", _fold_notebook_solutions, priority=900)

"""Sphinx configuration of the class's slides: the class page as a reveal.js deck.

Build (from the repository root), warnings treated as errors::

    make -C docs slides
    # or: python -m sphinx -W -b revealjs -c docs/slides docs docs/_build/slides

It reads the same source as the site (``docs/tutorial/class.py``, through
sphinx-gallery) with the site's configuration, so no prose is duplicated: only
the builder and the set of pages differ. Each section of the class is a
slide (its parts side by side, their subsections below them), and the deck is
offline like the site: reveal.js and MathJax are served from the build.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from sphinx_gallery import glr_path_static

_site = runpy.run_path(str(Path(__file__).resolve().parents[1] / "conf.py"))
globals().update({name: value for name, value in _site.items() if not name.startswith("__")})

extensions = [*_site["extensions"], "sphinx_revealjs"]
root_doc = "auto_tutorial/class"
include_patterns = ["auto_tutorial/class.rst"]
sphinx_gallery_conf = {
    **_site["sphinx_gallery_conf"],
    "examples_dirs": [str(_site["HERE"] / "tutorial")],
    "gallery_dirs": ["auto_tutorial"],
    # The class only: the notebook's page is left to the site's build.
    "ignore_pattern": r"(__init__\.py|explore_)",
}

# The revealjs builder copies these instead of html_static_path: MathJax, the
# deck's style, and sphinx-gallery's assets (which it links from every page).
revealjs_static_path = [str(_site["MATHJAX_STATIC"]), glr_path_static(), "_static"]
revealjs_css_files = ["pygments.css", "slides.css"]
revealjs_style_theme = "white"
revealjs_script_conf = {
    "width": 1280,
    "height": 800,
    "center": False,
    "hash": True,
    "slideNumber": "c/t",
}

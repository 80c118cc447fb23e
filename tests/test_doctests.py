"""The examples in the docstrings run and print what they show (numpydoc ``Examples``)."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import cvxvolmin

_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Modules that need an optional extra to import.
_EXTRAS = {"cvxvolmin.plot": "matplotlib"}


def _modules() -> list[str]:
    names = ["cvxvolmin"]
    names += [m.name for m in pkgutil.walk_packages(cvxvolmin.__path__, "cvxvolmin.")]
    return [name for name in names if name != "cvxvolmin.__main__"]


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    if name in _EXTRAS:
        pytest.importorskip(_EXTRAS[name])
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    report: list[str] = []
    for test in finder.find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_every_public_function_shows_an_example():
    """A user reads the example first: each function of the public API has one."""
    functions = [name for name in cvxvolmin.__all__ if inspect.isfunction(getattr(cvxvolmin, name))]
    assert len(functions) >= 10
    missing = [name for name in functions if ">>>" not in (getattr(cvxvolmin, name).__doc__ or "")]
    assert not missing, f"public functions without an Examples section: {missing}"

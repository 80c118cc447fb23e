"""Shared fixtures: the paper's data, the shared real data sets, the optional parts.

Two groups of tests need what the README's test extra does not install:

* ``docs``: the documentation build (``tests/test_docs.py``) needs the docs
  extra, ``pip install ".[docs]"``;
* ``data``: the real-data tests need the shared data sets, found at
  ``$CVXVOLMIN_DATA`` or at ``../shared/data`` beside the repository.

Without them these tests skip, and the skip reason and the end of the report
say what to install or set. ``CVXVOLMIN_REQUIRE=docs,data`` (or ``all``)
turns those skips into failures, and fails the session when no test of a
required group ran at all (a deselection or a rename cannot pass silently).
CI sets it, and can select these tests with ``-m needs_docs`` or
``-m needs_data``: markers this file puts on every test that uses the
fixtures below. The shared data folder is read-only in CI: a session that
changes anything in it (a new, removed or rewritten file) fails.
"""

from __future__ import annotations

import importlib.metadata
import os
import runpy
from pathlib import Path

import pytest
from hypothesis import settings

import cvxvolmin

# Property-based tests draw new examples on every local run (that is how they
# find what nobody thought of); under CI they are derandomized, so that a
# submission's verdict does not depend on the draw. No example database is kept.
settings.register_profile("local", database=None)
settings.register_profile("ci", database=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_ENV = "CVXVOLMIN_REQUIRE"
# The docs extra's distributions (sphinx-mathjax-offline ships files, not a module).
DOCS_PACKAGES = (
    "sphinx",
    "numpydoc",
    "sphinx-gallery",
    "pydata-sphinx-theme",
    "sphinx-mathjax-offline",
    "sphinx-togglebutton",
    "sphinx-revealjs",
)
OPTIONAL_PARTS = {  # part: (the tests, what they need)
    "docs": ("the docs build", "pip install '.[docs]'"),
    "data": ("the real-data tests", "set CVXVOLMIN_DATA to the folder of the shared data sets"),
}
_wanted: set[str] = set()  # the optional parts some test asked for in this session
_ran: set[str] = set()  # the optional parts a test actually used
_skipped: dict[str, int] = {}  # skips per optional part, for the summary
_data_changes: list[str] = []


def data_dir() -> Path:
    """The real data sets: $CVXVOLMIN_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("CVXVOLMIN_DATA", REPO_ROOT.parent / "shared" / "data"))


def required_parts() -> set[str]:
    """The optional parts named by $CVXVOLMIN_REQUIRE (comma-separated, or "all")."""
    names = {name.strip() for name in os.environ.get(REQUIRE_ENV, "").split(",") if name.strip()}
    if "all" in names:
        return set(OPTIONAL_PARTS)
    unknown = names - set(OPTIONAL_PARTS)
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE_ENV}: unknown part(s) {', '.join(sorted(unknown))}; "
            f"expected a comma-separated subset of {', '.join(OPTIONAL_PARTS)} or 'all'"
        )
    return names


def missing_part(part: str, why: str):
    """Skip the calling test for a missing optional ``part``, or fail if it is required."""
    what, remedy = OPTIONAL_PARTS[part]
    message = f"{what} not run: {why}; {remedy}"
    if part in required_parts():
        pytest.fail(f"{message} ({REQUIRE_ENV} requires {part})", pytrace=False)
    _skipped[part] = _skipped.get(part, 0) + 1
    pytest.skip(f"{message} ({REQUIRE_ENV}={part} makes this skip a failure)")


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture
def docs_tools() -> None:
    """The documentation's build tools; skips (or fails, see above) without the docs extra."""
    _wanted.add("docs")
    missing = [name for name in DOCS_PACKAGES if not _installed(name)]
    if missing:
        missing_part("docs", f"{', '.join(missing)} not installed")
    _ran.add("docs")


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder; skips (or fails, see above) when it is absent."""
    _wanted.add("data")
    folder = data_dir()
    if not folder.is_dir():
        missing_part("data", f"no shared data sets at {folder}")
    _ran.add("data")
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


# -- reporting and guarding the optional parts ---------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


_DATA_KEY = pytest.StashKey[tuple]()


def pytest_configure(config):
    required_parts()  # an unknown name is a usage error before any test runs
    config.stash[_DATA_KEY] = (data_dir(), _snapshot(data_dir()))
    for part, fixture in _FIXTURE_OF_PART.items():
        config.addinivalue_line(
            "markers", f"needs_{part}: uses the {fixture} fixture (set by conftest.py)"
        )


# Each test of an optional part is marked, so that ``-m needs_docs`` or
# ``-m needs_data`` selects exactly them (CI does; a rename cannot drop one).
_FIXTURE_OF_PART = {"docs": "docs_tools", "data": "shared_data"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for part, fixture in _FIXTURE_OF_PART.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(f"needs_{part}")


def pytest_report_header(config):
    docs = [name for name in DOCS_PACKAGES if not _installed(name)]
    folder = data_dir()
    return [
        "optional parts: docs build "
        + (f"skipped, missing {', '.join(docs)} (pip install '.[docs]')" if docs else "runs")
        + "; real data "
        + (f"from {folder}" if folder.is_dir() else f"skipped, none at {folder} (CVXVOLMIN_DATA)")
        + f"; {REQUIRE_ENV}={os.environ.get(REQUIRE_ENV, '')!r}"
    ]


def pytest_sessionfinish(session, exitstatus):
    folder, before = session.config.stash[_DATA_KEY]
    after = _snapshot(folder)
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    if changed:
        _data_changes.extend(changed)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # A required part that no test used: deselected, renamed or never collected.
    if exitstatus == pytest.ExitCode.OK and required_parts() - _ran:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    write = terminalreporter.write_line
    for part, count in sorted(_skipped.items()):
        what, remedy = OPTIONAL_PARTS[part]
        terminalreporter.section(f"skipped: {what}", sep="-", yellow=True)
        write(f"{count} test(s) skipped ({what}): {remedy}.")
        write(f"CI runs them with {REQUIRE_ENV}={part}, which makes such a skip a failure.")
    not_run = required_parts() - _wanted
    if not_run:
        terminalreporter.section("required parts not run", sep="-", red=True)
        write(
            f"{REQUIRE_ENV} requires {', '.join(sorted(not_run))}, but no test using "
            "it ran (deselected or renamed?): the session fails."
        )
    if _data_changes:
        folder = config.stash[_DATA_KEY][0]
        terminalreporter.section("shared data changed", sep="-", red=True)
        write(
            f"the session wrote into {folder} (it must stay read-only): {', '.join(_data_changes)}"
        )


@pytest.fixture
def joggled_refines(monkeypatch) -> list[bool]:
    """Facet enumeration forced to joggle; per candidate vertex it refines, whether
    its rows pinned none (``_refine_one``'s k == -2), in order."""
    from cvxvolmin.scattering import exact

    monkeypatch.setattr(exact, "_FORCE_JOGGLE", True)
    failed: list[bool] = []
    original = exact._refine_one

    def recording(*args):
        vertex, k = original(*args)
        failed.append(k == -2)
        return vertex, k

    monkeypatch.setattr(exact, "_refine_one", recording)
    return failed

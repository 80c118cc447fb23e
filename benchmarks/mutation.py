"""Mutation testing of cvxvolmin, one module at a time, with mutmut 3.

Not run by CI or the test suite: a pass takes minutes per module. Each
module is mutated against its own test files only (``MODULES`` below), so a
surviving mutant names a change of behaviour that those tests do not see.

Usage (from the repository root, in the project's environment)::

    pip install "mutmut>=3,<4"
    python benchmarks/mutation.py validation metrics    # chosen modules
    python benchmarks/mutation.py --all                 # every module in MODULES
    python benchmarks/mutation.py --list                # the modules and their tests
    python benchmarks/mutation.py engine --tests tests/test_engine.py  # other tests
    python benchmarks/mutation.py lp --json lp.json --keep /tmp/mutation-lp

For each module the script

1. copies the working tree (tracked and untracked files, minus git's ignored
   ones) into a scratch folder, so that mutmut's ``mutants/`` folder and its
   caches never land in the repository;
2. writes a ``[tool.mutmut]`` table into the copy's ``pyproject.toml``: the
   repository's own table plus ``only_mutate`` (the module's files) and
   ``pytest_add_cli_args_test_selection`` (the module's tests);
3. runs those tests once unmutated and deselects any that fail (reported:
   mutmut needs a passing baseline, and a failure there is not the module's);
4. runs ``mutmut run`` and reads its verdicts from ``mutants/**.meta``;
5. prints, per module: mutants, killed, survived, timeouts, no tests (the
   mutated function was not reached by the selected tests) and other
   verdicts, the wall time, and each survivor as ``file:line  function:
   old -> new``.

mutmut runs the tests in-process (pytest.main inside ``mutants/``), so a
test that runs the library in a subprocess (``python -m cvxvolmin ...``)
executes the unmutated installed copy and cannot kill a mutant; the mapping
therefore lists in-process tests. mutmut's per-mutant time limit is
``(tests' time + 1 s) x 30`` CPU seconds; the suite's own pytest-timeout
(300 s per test) also applies.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]

# module: (files to mutate, as only_mutate patterns; the tests that exercise them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    # the joint steps (row-sum criteria) are exercised by test_row_sum
    "engine": (
        ["cvxvolmin/engine.py"],
        ["tests/test_engine.py", "tests/test_fit.py", "tests/test_row_sum.py"],
    ),
    "lp": (
        ["cvxvolmin/lp.py"],
        ["tests/test_lp.py", "tests/test_working_set.py", "tests/test_fit.py"],
    ),
    "working_set": (["cvxvolmin/working_set.py"], ["tests/test_working_set.py"]),
    "formulations": (
        ["cvxvolmin/formulations/*"],
        [
            "tests/test_formulations.py",
            "tests/test_row_sum.py",
            "tests/test_box.py",
            "tests/test_coupled.py",
        ],
    ),
    # the snap of joint steps at the degenerate row-sum optimum
    "polish": (["cvxvolmin/polish.py"], ["tests/test_polish.py", "tests/test_row_sum.py"]),
    "scattering": (
        ["cvxvolmin/scattering/*"],
        [
            "tests/test_scattering.py",
            "tests/test_scattering_properties.py",
            "tests/test_scattering_mutation.py",
            "tests/test_scattering_search.py",
            "tests/test_scattering_exact_mutation.py",
            "tests/test_scattering_crosscheck.py",
        ],
    ),
    "validation": (
        ["cvxvolmin/validation.py"],
        [
            "tests/test_validation.py",
            "tests/test_robust.py::test_bad_inputs_fail_before_any_solver",
        ],
    ),
    "io": (["cvxvolmin/io.py"], ["tests/test_io.py", "tests/test_datasets.py"]),
    "cli": (["cvxvolmin/cli.py"], ["tests/test_cli.py"]),
    "metrics": (["cvxvolmin/metrics.py"], ["tests/test_metrics.py"]),
}


@dataclass
class Survivor:
    mutant: str
    status: str
    location: str  # file:line
    function: str
    old: str
    new: str


@dataclass
class ModuleResult:
    module: str
    files: list[str]
    tests: list[str]
    deselected: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[Survivor] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    @property
    def score(self) -> float | None:
        """Killed (timeouts included) among the mutants the tests reached."""
        reached = sum(self.counts.values()) - self.counts.get("no tests", 0)
        reached -= self.counts.get("skipped", 0)
        caught = self.counts.get("killed", 0) + self.counts.get("timeout", 0)
        return caught / reached if reached else None


# -- the scratch copy ------------------------------------------------------------------


def _project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


def _toml_value(value) -> str:
    # JSON spells strings, numbers, booleans and lists the way TOML does.
    return json.dumps(value)


def _write_config(workspace: Path, files: list[str], tests: list[str], deselect: list[str]):
    pyproject = workspace / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    settings = dict(tomllib.loads(text).get("tool", {}).get("mutmut", {}))
    settings.update(
        only_mutate=files,
        pytest_add_cli_args_test_selection=tests,
        pytest_add_cli_args=[
            *settings.get("pytest_add_cli_args", []),
            *(arg for nodeid in deselect for arg in ("--deselect", nodeid)),
        ],
        use_git_change_detection=False,  # a fresh copy, no cache to invalidate
    )
    # Drop the repository's table (up to the next table header) and append ours.
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    table = "\n".join(f"{key} = {_toml_value(value)}" for key, value in settings.items())
    pyproject.write_text(text.rstrip() + "\n\n[tool.mutmut]\n" + table + "\n", encoding="utf-8")


def _environment() -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("CVXVOLMIN_REQUIRE", None)  # the real-data tests may skip here
    data = Path(env.get("CVXVOLMIN_DATA", REPO.parent / "shared" / "data"))
    if data.is_dir():  # the copy has no ../shared beside it
        env["CVXVOLMIN_DATA"] = str(data)
    return env


def _failing_tests(workspace: Path, tests: list[str], env: dict[str, str]) -> list[str]:
    """The node ids among ``tests`` that fail unmutated (to deselect)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *tests],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode not in (0, 1):  # 1: some tests failed; anything else: cannot run
        raise RuntimeError(
            f"the baseline run failed (exit {done.returncode}):\n{done.stdout[-3000:]}"
        )
    return sorted(set(re.findall(r"^(?:FAILED|ERROR) (\S+?)(?: - .*)?$", done.stdout, re.M)))


# -- reading mutmut's verdicts --------------------------------------------------------


def _status_of(code) -> str:
    try:
        from mutmut.stats import status_by_exit_code
    except ImportError:  # pragma: no cover - mutmut's layout changed
        return {0: "survived", 1: "killed", 3: "killed", 33: "no tests", 36: "timeout"}.get(
            code, f"exit {code}"
        )
    return status_by_exit_code[code]


def _verdicts(workspace: Path) -> dict[str, str]:
    verdicts = {}
    for meta in sorted((workspace / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            verdicts[name] = _status_of(code)
    return verdicts


def _function_span(source: str, key: str) -> tuple[str, int, int] | None:
    """(qualified name, first line, last line) of the function a mutant key names."""
    mangled = key.partition("__mutmut_")[0].rpartition(".")[2]
    if "ǁ" in mangled:  # xǁClassǁmethod
        _, cls, name = mangled.split("ǁ")
    else:  # x_function
        cls, name = None, mangled[2:]
    for node in ast.walk(ast.parse(source)):
        if cls is not None and not (isinstance(node, ast.ClassDef) and node.name == cls):
            continue
        body = node.body if cls is not None else [node]
        for item in body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == name:
                first = min([item.lineno, *(d.lineno for d in item.decorator_list)])
                return (f"{cls}.{name}" if cls else name), first, item.end_lineno
    return None


def _survivor(workspace: Path, name: str, status: str, env: dict[str, str]) -> Survivor:
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
    diff = subprocess.run(
        [mutmut, "show", name], cwd=workspace, env=env, capture_output=True, text=True
    ).stdout
    path = next((line[4:].strip() for line in diff.splitlines() if line.startswith("--- ")), "?")
    old = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[:3] != "---"]
    new = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[:3] != "+++"]
    hunk = re.search(r"^@@ -(\d+)", diff, re.M)
    location, function = f"{path}:?", name
    source_file = workspace / path
    if source_file.is_file():
        source = source_file.read_text(encoding="utf-8")
        span = _function_span(source, name)
        if span is not None:
            function, first, last = span
            lines = source.splitlines()
            line = first
            if old:  # the removed line, searched in the function (cst may keep comments above)
                offset = _first_change(diff) if hunk else 0
                guess = first + offset
                candidates = [
                    n for n in range(first, last + 1) if lines[n - 1].strip() == old[0].strip()
                ]
                if candidates:
                    line = min(candidates, key=lambda n: abs(n - guess))
            location = f"{path}:{line}"
    return Survivor(
        mutant=name,
        status=status,
        location=location,
        function=function,
        old=" / ".join(text.strip() for text in old),
        new=" / ".join(text.strip() for text in new),
    )


def _first_change(diff: str) -> int:
    """0-based line of the first removed line within the function's text."""
    position = None
    for line in diff.splitlines():
        found = re.match(r"^@@ -(\d+)", line)
        if found:
            position = int(found.group(1)) - 1
        elif position is not None and line[:3] not in ("---", "+++"):
            if line.startswith("-"):
                return position
            if not line.startswith("+"):
                position += 1
    return 0


# -- one module -------------------------------------------------------------------------


def run_module(
    module: str, tests: list[str] | None, max_children: int, keep: Path | None
) -> ModuleResult:
    files, default_tests = MODULES[module]
    result = ModuleResult(module=module, files=files, tests=tests or default_tests)
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix=f"cvxvolmin-mutation-{module}-"))
    workspace = scratch / "project"
    env = _environment()
    try:
        for name in _project_files():
            target = workspace / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
        result.deselected = _failing_tests(workspace, result.tests, env)
        _write_config(workspace, files, result.tests, result.deselected)
        mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
        log = scratch / "mutmut.log"
        with log.open("w") as out:
            done = subprocess.run(
                [mutmut, "run", "--max-children", str(max_children)],
                cwd=workspace,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        verdicts = _verdicts(workspace)
        if done.returncode != 0 or not verdicts:
            tail = log.read_text(errors="replace")[-3000:]
            result.error = f"mutmut run exited {done.returncode}; log tail:\n{tail}"
        for status in verdicts.values():
            result.counts[status] = result.counts.get(status, 0) + 1
        result.survivors = [
            _survivor(workspace, name, status, env)
            for name, status in sorted(verdicts.items())
            if status not in ("killed", "timeout", "caught by type check")
        ]
    except Exception as error:  # report and go on with the next module
        result.error = f"{type(error).__name__}: {error}"
    finally:
        result.seconds = time.perf_counter() - start
        if keep is not None:
            target = keep / module
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(scratch, target, symlinks=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def report(result: ModuleResult) -> str:
    counts = result.counts
    total = sum(counts.values())
    other = {
        k: v for k, v in counts.items() if k not in ("killed", "survived", "timeout", "no tests")
    }
    score = "n/a" if result.score is None else f"{100 * result.score:.1f}%"
    lines = [
        f"== {result.module}: {', '.join(result.files)}",
        f"   tests: {' '.join(result.tests)}",
        f"   mutants {total}, killed {counts.get('killed', 0)}, "
        f"survived {counts.get('survived', 0)}, timeouts {counts.get('timeout', 0)}, "
        f"no tests {counts.get('no tests', 0)}"
        + "".join(f", {k} {v}" for k, v in sorted(other.items()))
        + f"; killed of reached {score}; {result.seconds:.0f} s",
    ]
    if result.deselected:
        lines.append(f"   deselected (fail unmutated): {' '.join(result.deselected)}")
    if result.error:
        lines.append("   ERROR: " + result.error.replace("\n", "\n   "))
    for kind in ("survived", "no tests"):
        group = [s for s in result.survivors if s.status == kind]
        if group:
            lines.append(f"   {kind}:")
        for s in group:
            lines.append(f"     {s.location}  {s.function}: {s.old or '(nothing)'}  ->  {s.new}")
    for s in result.survivors:
        if s.status not in ("survived", "no tests"):
            lines.append(f"     [{s.status}] {s.location}  {s.function}: {s.old}  ->  {s.new}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Mutation testing per module with mutmut (see the module docstring)."
    )
    parser.add_argument("modules", nargs="*", help=f"among: {', '.join(MODULES)}")
    parser.add_argument("--all", action="store_true", help="every module")
    parser.add_argument("--list", action="store_true", help="print the mapping and exit")
    parser.add_argument(
        "--tests", nargs="+", help="test files or node ids instead of the mapping's"
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--keep", type=Path, help="keep each module's scratch copy under this folder"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)

    if args.list:
        for module, (files, tests) in MODULES.items():
            print(f"{module:>12}: {' '.join(files)}  <-  {' '.join(tests)}")
        return 0
    modules = list(MODULES) if args.all else args.modules
    unknown = [m for m in modules if m not in MODULES]
    if not modules or unknown:
        parser.error(f"name modules among {', '.join(MODULES)} (or --all); unknown: {unknown}")
    try:
        import mutmut
    except ImportError:
        parser.error('mutmut is not installed: pip install "mutmut>=3,<4"')
    if not getattr(mutmut, "__version__", "3").startswith("3"):
        print(f"warning: written for mutmut 3.x, found {mutmut.__version__}", file=sys.stderr)

    results = []
    for module in modules:
        results.append(run_module(module, args.tests, args.max_children, args.keep))
        print(report(results[-1]), flush=True)
    if args.json:
        payload = [{**asdict(r), "score": r.score} for r in results]
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Running a benchmark on an older commit beside this tree, each in its own process.

The benchmarks compare trees side by side in one run (the machines are shared
and noisy, so only ratios measured together mean anything): :func:`trees`
checks the baseline commit out into a temporary ``git worktree``, and
:func:`run_on_tree` runs a script there with that tree's package first on
the path, reading its result as JSON from the last line it prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def trees(baseline: str | None) -> Iterator[dict[str, Path]]:
    """``{name: source tree}``: the baseline commit's (in a worktree) first, then this one."""
    if baseline is None:
        yield {"this tree": ROOT}
        return
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(old), baseline], cwd=ROOT, check=True
        )
        try:
            yield {baseline: old, "this tree": ROOT}
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT)


def run_on_tree(script: str | Path, tree: Path, argv: list[str]) -> object:
    """``python script *argv`` on the code of ``tree``; the JSON of its last line of output."""
    done = subprocess.run(
        [sys.executable, str(Path(script).resolve()), *argv],
        env=dict(os.environ, PYTHONPATH=str(tree)),
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])

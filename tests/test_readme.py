"""The README's snippets run as pasted, in order: Python in one namespace, the shell
commands in one folder."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest

from cvxvolmin.cli import build_parser, main

README = (Path(__file__).parent.parent / "README.md").read_text()

# Experiments that take minutes as written: the command line is checked (its options
# parse), and tests/test_study.py, tests/test_table2.py run the same code at small sizes.
LONG_RUNS = ("reproduce table2", "reproduce noise", "study ")
# Installs and builds: what CI itself runs (.ci/run).
INSTALLS = ("pip ", "make ")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def _commands(block: str) -> list[list[str]]:
    """Each line of a shell block (continuations joined, comments dropped) as the words of
    its ``&&``-separated commands."""
    lines = block.replace("\\\n", " ").splitlines()
    commands = [
        [words for part in line.split(" && ") if (words := shlex.split(part, comments=True))]
        for line in lines
        if not line.startswith(INSTALLS)
    ]
    return [line for line in commands if line]


def test_the_python_snippets_run_in_order_without_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the dask snippet writes a zarr store
    blocks = _blocks("python")
    assert len(blocks) >= 3  # a first fit, a formulation of one's own, the checker
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a snippet fitting the wrong rank warns
        for number, block in enumerate(blocks):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    # What the snippets say they show.
    import cvxvolmin

    assert cvxvolmin.matched_mse(namespace["H"], namespace["result"].H) <= 1e-20
    assert cvxvolmin.matched_mse(namespace["H"], namespace["capped"].H) <= 1e-20
    assert namespace["report"].verdict == "sufficiently_scattered"


def test_the_shell_snippets_run_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ran = parsed = 0
    for block in _blocks("bash"):
        for line in _commands(block):
            for words in line:
                assert words[0] in ("cvxvolmin", "echo"), f"cannot run {words} from the README"
                if words[0] == "echo":
                    continue
                arguments = words[1:]
                if " ".join(arguments).startswith(LONG_RUNS):
                    build_parser().parse_args(arguments)  # exits 2 on a usage error
                    parsed += 1
                    continue
                status = main(arguments)
                _, err = capsys.readouterr()
                assert status == 0, f"`{shlex.join(words)}` exited {status}: {err}"
                assert "warning" not in err, f"`{shlex.join(words)}` warned: {err}"
                ran += 1
    assert ran >= 10 and parsed == 3
    assert {"X.npy", "H.npy", "data.mat", "X.csv", "fit.npz"} <= {
        p.name for p in tmp_path.iterdir()
    }


@pytest.mark.parametrize(
    "verdict, status",
    [("sufficiently_scattered", 0), ("not_sufficiently_scattered", 3), ("inconclusive", 4)],
)
def test_check_strict_exit_status_is_the_verdict(tmp_path, capsys, verdict, status):
    # The README's `check --strict && ...` relies on it; without --strict every verdict is 0.
    import json

    import numpy as np

    import cvxvolmin

    _, _, H = cvxvolmin.make_paper_data(15 if verdict == "inconclusive" else 4, random_state=1)
    if verdict == "not_sufficiently_scattered":
        H = 1.0 + 0.1 * np.random.default_rng(0).uniform(size=(50, 3))
    np.save(tmp_path / "H.npy", H)
    # r = 15 is beyond the checker in 0.2 s: the paper's H there is not refuted either.
    command = ["check", str(tmp_path / "H.npy"), "--seed", "0", "--time-limit", "0.2"]
    assert main([*command, "--strict", "--json"]) == status
    assert json.loads(capsys.readouterr().out)["verdict"] == verdict
    assert main([*command, "--strict"]) == status
    assert main(command) == 0

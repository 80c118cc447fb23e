"""Every script in examples/ runs, and computes what its text says it shows.

Each example runs once, as a script, and a check per example reads the
figures it prints (MSEs, verdicts, histories) and asserts the claims of its
docstring against bounds with margin: exact recoveries at rounding level,
failures far above it, orderings and ratios that follow from the theory. A
new example must come with its check (``test_every_example_has_a_check``).
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
CHECKS = {}
EXACT = 1e-18  # matched MSE of an exact recovery (measured 1e-31 to 4e-22)
WRONG = 1e-3  # matched MSE of a wrong answer (measured 1.5e-2 and above)


def check(name: str):
    """Register the function checking ``examples/<name>``'s output."""

    def register(function):
        CHECKS[name] = function
        return function

    return register


def _run(script: Path, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "MPLBACKEND": "Agg", "CVXVOLMIN_EXAMPLE_OUT": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,  # below the suite's per-test limit, so that this reports first
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _match(out: str, pattern: str) -> re.Match:
    found = re.search(pattern, out, flags=re.MULTILINE)
    assert found, f"no output line matches {pattern!r}:\n{out}"
    return found


def _number(out: str, pattern: str) -> float:
    return float(_match(out, pattern).group(1))


def _nondecreasing(values, slack: float = 1e-6) -> bool:
    return bool(np.all(np.diff(np.asarray(values, dtype=float)) >= -slack))


def test_there_are_examples():
    assert EXAMPLES


def test_every_example_has_a_check():
    assert {path.name for path in EXAMPLES} == set(CHECKS)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example(script, tmp_path):
    CHECKS[script.name](script, tmp_path)


@check("custom_formulation.py")
def _custom_formulation(script, tmp_path):
    out = _run(script, tmp_path)
    true_step = _number(out, r"true largest step (\S+);")
    delta = _number(out, r"; delta = (\S+)$")
    assert delta == pytest.approx(1.1 * true_step, rel=0.1)  # printed to 4 decimals
    for name in ("column-sum", "slowly-varying"):
        found = _match(out, rf"^\s*{name}: MSE (\S+), largest step (\S+),")
        assert float(found.group(1)) < EXACT, name
        assert float(found.group(2)) <= delta + 5e-5, name  # the bound holds (to rounding)
    # A bound tighter than the truth holds, and the answer is no longer the truth.
    tight = _match(out, r"^with delta = (\S+): MSE (\S+), largest step (\S+)$")
    assert float(tight.group(1)) == pytest.approx(0.7 * delta, rel=0.1)
    assert float(tight.group(2)) > WRONG
    assert float(tight.group(3)) <= float(tight.group(1)) + 5e-5
    assert "registered: True" in out


@check("plot_polytopic_box.py")
def _polytopic_box(script, tmp_path):
    out = _run(script, tmp_path)
    pattern = r"^{}: MSE of H \(up to permutation and sign\) (\S+)$"
    assert _number(out, pattern.format("rows reach the faces")) < EXACT
    assert _number(out, pattern.format("rows inside a disc")) > WRONG  # not identifiable


@check("semi_supervised.py")
def _semi_supervised(script, tmp_path):
    out = _run(script, tmp_path)
    assert _number(out, r"^N = (\d+) samples") > 2000  # on working sets
    assert _number(out, r"^plain column-sum: MSE (\S+),") < EXACT
    found = _match(
        out, r"^known abundances: MSE (\S+), largest entry error in the true order (\S+) of"
    )
    assert float(found.group(1)) < EXACT
    assert float(found.group(2)) < 1e-10  # no permutation needed: the anchors fix the order
    wrong = _match(out, r"^wrong known abundances: (.*)$").group(1)
    assert wrong.startswith("infeasible") or float(wrong.split()[1]) > WRONG


@check("plot_noisy_data.py")
def _noisy_data(script, tmp_path):
    out = _run(script, tmp_path)
    assert _number(out, r"samples with no signal\): (\d+)$") >= 1
    rows = re.findall(
        r"^\s*(\d+) dB,\s+(all columns|low-energy columns dropped): MSE\s+(\S+)\s+\((.*)\)$",
        out,
        flags=re.MULTILINE,
    )
    mse = {(int(snr), label.split()[0]): float(value) for snr, label, value, _ in rows}
    assert {snr for snr, _ in mse} == {120, 80, 40, 20, 10, 0}, out
    kept, dropped = (
        {snr: mse[snr, "all"] for snr, _ in mse},
        {snr: mse[snr, "low-energy"] for snr, _ in mse},
    )
    # Without the pure-noise columns the exact fit is exact up to the noise:
    # the MSE follows the noise power, 1e4 per 40 dB (measured 2.8e-13, 2.8e-9, 2.8e-5).
    assert dropped[120] < 1e-10
    for high, low in ((120, 80), (80, 40)):
        assert 1e3 < dropped[low] / dropped[high] < 1e5, (high, low, dropped)
    # With them, even at 120 dB, one column of pure noise moves the answer far.
    assert kept[120] > WRONG and kept[120] > 1e6 * dropped[120]
    # At 0 dB some draws leave no feasible point, and fit raises instead of answering.
    outcomes = re.findall(r"^0 dB, noise seed (\d+): (.*)$", out, flags=re.MULTILINE)
    assert [int(seed) for seed, _ in outcomes] == list(range(8))
    known = {"NoisyColumnsWarning", "no warning", "InfeasibleError", "DegenerateError"}
    assert {what for _, what in outcomes} <= known, outcomes
    assert any(what.endswith("Error") for _, what in outcomes), outcomes


@check("plot_paper_figure1.py")
def _paper_figure1(script, tmp_path):
    out = _run(script, tmp_path)
    separable = _match(out, r"^\s*separable: (\S+), largest entry of H (\S+)$")
    assert separable.group(1) == "sufficiently_scattered"
    assert float(separable.group(2)) == 1.0  # it holds the unit vectors
    scattered = _match(out, r"^\s*sufficiently scattered: (\S+), largest entry of H (\S+)$")
    assert scattered.group(1) == "sufficiently_scattered"
    assert float(scattered.group(2)) <= 0.8  # no sample near a corner: not separable


@check("plot_paper_figure2.py")
def _paper_figure2(script, tmp_path):
    out = _run(script, tmp_path)
    pattern = r"^{}: checker says (\S+); row-sum VolMin MSE of H = (\S+)$"
    scattered = _match(out, pattern.format("H sufficiently scattered"))
    assert scattered.group(1) == "sufficiently_scattered"
    assert float(scattered.group(2)) < EXACT
    mixed = _match(out, pattern.format("H not scattered"))
    assert mixed.group(1) == "not_sufficiently_scattered"
    assert float(mixed.group(2)) > WRONG  # a smaller simplex, not the truth


@check("plot_recover_mixed_sign.py")
def _recover_mixed_sign(script, tmp_path):
    out = _run(script, tmp_path)
    cases = re.findall(
        r"^case (\d) \((.*), min W = (\S+)\): MSE of H = (\S+)\n"
        r"\s+log\|det Q\| per sweep: (.*); (\d+) LPs$",
        out,
        flags=re.MULTILINE,
    )
    assert [int(case) for case, *_ in cases] == [1, 2, 3], out
    optimum = []
    for case, _, min_w, mse, history, _ in cases:
        assert float(mse) < EXACT, case
        assert (float(min_w) < 0) == (case == "3"), case  # only case 3 has W of mixed sign
        values = [float(value) for value in history.split(",")]
        assert _nondecreasing(values), (case, values)
        optimum.append(values[-1])
    # The same H (seed 0) in every case: |det Q| at the optimum depends on H
    # only, whatever W is (printed to 6 decimals).
    assert max(optimum) - min(optimum) <= 2e-6, optimum


@check("plot_robust_lambda.py")
def _robust_lambda(script, tmp_path):
    out = _run(script, tmp_path)
    rows = re.findall(
        r"^(\d+) dB, lam_scale (\S+): lam (\S+), MSE of H (\S+), "
        r"fit error (\S+), (\d+) iterations$",
        out,
        flags=re.MULTILINE,
    )
    by_snr: dict[int, list] = {}
    for snr, scale, lam, mse, fit_error, _ in rows:
        by_snr.setdefault(int(snr), []).append(
            (float(scale), float(lam), float(mse), float(fit_error))
        )
    assert sorted(by_snr) == [20, 40] and all(len(v) == 9 for v in by_snr.values()), out
    at_default = {}
    for snr, values in by_snr.items():
        scale, lam, mse, fit_error = (np.array(column) for column in zip(*values, strict=True))
        default = int(np.argmin(np.abs(np.log10(scale) + 2)))  # lam_scale = 0.01
        assert scale[default] == pytest.approx(0.01)
        # lam is proportional to lam_scale (half a decade per step; printed to 3 digits).
        np.testing.assert_allclose(lam / lam[0], 10 ** (np.arange(9) / 2), rtol=1e-2)
        # The MSE is lowest at or next to the default, about ten times higher
        # three decades below it and where W collapses (measured 16x and 28x to 370x).
        assert abs(int(np.argmin(mse)) - default) <= 1, (snr, mse)
        assert mse[default] <= 1.5 * mse.min()
        assert mse[0] > 5 * mse[default] and mse[-1] > 5 * mse[default], (snr, mse)
        # The fit error barely moves up to the default, and grows when W collapses.
        np.testing.assert_allclose(fit_error[: default + 1], fit_error[default], rtol=1e-2)
        assert fit_error[-1] > 1.5 * fit_error[default]
        at_default[snr] = mse[default]
    # At the default the MSE follows the noise power: 100 per 20 dB (measured 1.8e-4, 1.8e-6).
    assert at_default[20] < 1e-3 and at_default[40] < 1e-5
    assert 20 < at_default[20] / at_default[40] < 500


@check("plot_row_vs_column_sum.py")
def _row_vs_column_sum(script, tmp_path):
    out = _run(script, tmp_path)
    negative = _match(out, r"W has (\d+) negative entries of (\d+)$")
    assert 0 < int(negative.group(1)) < int(negative.group(2))  # mixed sign
    by_hand = [float(v) for v in re.findall(r"log\|det Q\| = ([-+.\d]+)$", out, flags=re.MULTILINE)]
    assert len(by_hand) == 1 + 2 * 3, out  # the start, then two sweeps of three rows
    assert _nondecreasing(by_hand), by_hand  # from a feasible start |det Q| only grows
    histories = re.findall(r"^fit: log\|det Q\| per sweep \[(.*)\]$", out, flags=re.MULTILINE)
    assert len(histories) == 2, out
    column, row = ([float(v) for v in history.split()] for history in histories)
    assert _nondecreasing(column) and _nondecreasing(row, slack=1e-4)
    # fit reaches the optimum of the sweeps by hand (printed to 6 decimals).
    assert column[-1] == pytest.approx(by_hand[-1], abs=2e-6)
    assert _number(out, r"^column-sum VolMin: MSE of H = (\S+)$") < EXACT
    assert re.search(r"^ModelMismatchWarning: row-sum VolMin", out, flags=re.MULTILINE), out
    assert _number(out, r"^row-sum VolMin: MSE of H = (\S+)$") > WRONG


@check("plot_scattering.py")
def _scattering(script, tmp_path):
    # In-process: the verdicts are the panels' titles, not printed.
    plt = pytest.importorskip("matplotlib.pyplot")
    plt.switch_backend("Agg")
    png = tmp_path / "scattering.png"
    try:
        runpy.run_path(str(script))["main"]([str(script), str(png)])
        titles = [ax.get_title() for ax in plt.gcf().axes]
    finally:
        plt.close("all")
    verdicts = dict(title.split("\n", 1) for title in titles)
    assert verdicts == {
        "separable": "sufficiently scattered",
        "scattered, not separable": "sufficiently scattered",
        "(1) fails": "not sufficiently scattered",
        "(1) with equality, (2) fails": "not sufficiently scattered (on the boundary)",
    }
    assert png.is_file() and png.stat().st_size > 10_000

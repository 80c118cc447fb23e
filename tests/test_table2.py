"""The Table 2 runner: rows, the methods' known pattern, renderings, robustness."""

import csv
import io
import json
import sys
import warnings

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin.experiments import METHODS, PAPER_TABLE2, Method, run_table2
from cvxvolmin.experiments import table2 as table2_module

HAS_ROW_SUM = "row-sum" in cvxvolmin.available_formulations()
METHOD_NAMES = [m for m in METHODS if m != "row-sum" or HAS_ROW_SUM]
needs_row_sum = pytest.mark.skipif(
    not HAS_ROW_SUM,
    reason="the 'row-sum' formulation is not registered yet (cvxvolmin.available_formulations())",
)


@pytest.fixture(scope="module")
def small():
    return run_table2(ranks=(5,), trials=2, methods=METHOD_NAMES, seed=11)


def test_every_method_and_case_has_a_row(small):
    cells = {(row.method, row.rank, row.case) for row in small.rows}
    assert cells == {(m, 5, c) for m in METHOD_NAMES for c in (1, 2, 3)}
    assert all(row.trials == 2 for row in small.rows)
    assert len(small.records) == 2 * 3 * len(METHOD_NAMES)


def test_column_sum_is_exact_everywhere(small):
    for case in (1, 2, 3):
        row = small.row("column-sum", 5, case)
        assert row.n_failed == 0
        assert row.max_mse <= 1e-20
        assert row.median_time_s > 0


def test_plain_nmf_fails_on_gaussian_w(small):
    exact = small.row("plain-nmf", 5, 1)
    gaussian = small.row("plain-nmf", 5, 3)
    assert exact.n_failed == gaussian.n_failed == 0
    assert gaussian.mean_mse > 0.05
    assert gaussian.mean_mse > 1e4 * exact.mean_mse


@needs_row_sum
def test_row_sum_is_exact_on_nonnegative_w_and_fails_on_gaussian_w(small):
    for case in (1, 2):
        assert small.row("row-sum", 5, case).max_mse < 1e-8
    gaussian = small.row("row-sum", 5, 3)
    # Failure is an honest wrong answer (or a recorded error), never exactness.
    assert gaussian.n_failed == 2 or gaussian.mean_mse > 1e-3


def test_json_shape(small):
    data = json.loads(json.dumps(small.to_dict(), allow_nan=False))
    assert set(data) == {"config", "rows", "paper"}
    assert data["config"]["trials"] == 2 and data["config"]["seed"] == 11
    keys = {"method", "rank", "case", "mean_mse", "median_mse", "max_mse", "median_time_s"}
    assert all(keys | {"trials", "n_failed"} <= set(row) for row in data["rows"])
    assert len(data["paper"]["rows"]) == 18
    assert "Fu" in data["paper"]["citation"]
    # The figures themselves survive the round trip, ours and the paper's.
    for entry in data["rows"]:
        row = small.row(entry["method"], entry["rank"], entry["case"])
        for key in ("mean_mse", "median_mse", "max_mse"):
            assert entry[key] == getattr(row, key)
    paper = {(e["method"], e["rank"], e["case"]): e["mean_mse"] for e in data["paper"]["rows"]}
    assert paper == dict(PAPER_TABLE2)


def test_markdown_shows_ours_beside_the_papers(small):
    text = small.to_markdown()
    for published in ("5.49e-05", "0.7468", "8.44e-18", "7.31e-10", "1.0406"):
        assert published in text
    assert "Proposed (column-sum)" in text and "Plain NMF" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 2 + len(METHOD_NAMES)  # header, rule, one row per method at r = 5
    # Our means, in the cells of their method: case k's "ours" is cell 2 + 2 (k - 1).
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        method = next(m for m in METHOD_NAMES if METHODS[m].label == cells[0])
        assert cells[1] == "5"
        for case in (1, 2, 3):
            ours = float(cells[2 + 2 * (case - 1)].split()[0])  # "nan (2/2 failed)" if all failed
            mean = small.row(method, 5, case).mean_mse
            assert ours == pytest.approx(mean, rel=6e-3, nan_ok=True)  # 3 digits shown
            paper = float(cells[3 + 2 * (case - 1)])
            assert paper == pytest.approx(PAPER_TABLE2[(method, 5, case)], rel=5e-3)


def test_csv_has_one_line_per_row(small):
    parsed = list(csv.DictReader(io.StringIO(small.to_csv())))
    assert len(parsed) == len(small.rows)
    assert float(parsed[0]["paper_mean_mse"]) == PAPER_TABLE2[("plain-nmf", 5, 1)]
    for line in parsed:
        row = small.row(line["method"], int(line["rank"]), int(line["case"]))
        assert float(line["mean_mse"]) == row.mean_mse  # repr round-trips exactly
        assert float(line["max_mse"]) == row.max_mse
        assert (int(line["trials"]), int(line["n_failed"])) == (row.trials, row.n_failed)
        assert float(line["paper_mean_mse"]) == PAPER_TABLE2[(row.method, 5, row.case)]


def test_write_by_suffix(small, tmp_path):
    assert small.write(tmp_path / "t.md").read_text(encoding="utf-8") == small.to_markdown()
    assert small.write(tmp_path / "t.csv").read_text(encoding="utf-8") == small.to_csv()
    written = json.loads(small.write(tmp_path / "t.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(small.to_dict()))
    with pytest.raises(ValueError, match=r"\.md, \.csv or \.json"):
        small.write(tmp_path / "t.txt")


def test_seeded_streams_do_not_depend_on_what_else_runs():
    alone = run_table2(ranks=(5,), cases=(3,), trials=1, methods=["plain-nmf"], seed=5)
    both = run_table2(
        ranks=(5,), cases=(1, 3), trials=1, methods=["plain-nmf", "column-sum"], seed=5
    )
    assert alone.row("plain-nmf", 5, 3).mean_mse == both.row("plain-nmf", 5, 3).mean_mse
    other = run_table2(ranks=(5,), cases=(3,), trials=1, methods=["plain-nmf"], seed=6)
    assert other.row("plain-nmf", 5, 3).mean_mse != alone.row("plain-nmf", 5, 3).mean_mse


def test_failures_and_warnings_are_counted_not_raised(monkeypatch):
    def broken(X, rank, rng):
        raise RuntimeError("solver exploded")

    def warns_then_zero_column(X, rank, rng):
        warnings.warn("expected", cvxvolmin.ModelMismatchWarning, stacklevel=1)
        H = np.abs(rng.standard_normal((X.shape[1], rank)))
        H[:, 0] = 0.0
        return H

    fake = {
        "plain-nmf": Method("plain-nmf", "Broken", broken),
        "column-sum": Method("column-sum", "Degenerate", warns_then_zero_column),
    }
    monkeypatch.setattr(table2_module, "METHODS", fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may escape the runner
        result = run_table2(ranks=(5,), cases=(3,), trials=2, methods=list(fake), seed=0)
    broken_row = result.row("plain-nmf", 5, 3)
    assert broken_row.n_failed == 2 and np.isnan(broken_row.mean_mse)
    assert broken_row.errors == {"RuntimeError: solver exploded": 2}
    zero_row = result.row("column-sum", 5, 3)
    assert zero_row.n_failed == 2
    assert zero_row.warnings == {"ModelMismatchWarning": 2}
    assert json.dumps(result.to_dict(), allow_nan=False)
    assert "(2/2 failed)" in result.to_markdown()


def test_progress_without_tqdm_or_terminal_is_silent(monkeypatch, capsys):
    quiet = run_table2(ranks=(5,), cases=(1,), trials=1, methods=["column-sum"], progress=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bare = run_table2(ranks=(5,), cases=(1,), trials=1, methods=["column-sum"], progress=True)
    assert capsys.readouterr().err == ""
    # Progress reporting changes nothing in the results: exact, and the same trial.
    for result in (quiet, bare):
        row = result.row("column-sum", 5, 1)
        assert row.n_failed == 0 and row.max_mse <= 1e-20
    assert bare.row("column-sum", 5, 1).mean_mse == quiet.row("column-sum", 5, 1).mean_mse


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"methods": ["nmf"]}, "unknown methods"),
        ({"ranks": (5, 5)}, "without repeats"),
        ({"cases": (4,)}, "cases must be among"),
        ({"trials": 0}, "trials must be a positive integer"),
        ({"seed": -1}, "seed must be a nonnegative integer"),
        ({"ranks": (300,)}, "exceeds"),
    ],
)
def test_invalid_arguments_fail_before_any_trial(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_table2(**kwargs)


def test_unavailable_method_is_refused_up_front(monkeypatch):
    fake = {"row-sum": Method("row-sum", "Row", None, formulation="no-such-formulation")}
    monkeypatch.setattr(table2_module, "METHODS", fake)
    with pytest.raises(ValueError, match="not registered"):
        run_table2(methods=["row-sum"])

"""The command line: the fit/demo contract, file formats, exit statuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

import cvxvolmin
from cvxvolmin.cli import main


@pytest.fixture(scope="module")
def paper_X():
    X, _, H = cvxvolmin.make_paper_data(4, case=3, n_features=30, n_samples=60, random_state=0)
    return X, H


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_fit_json_contract(tmp_path, paper_X, capsys):
    X, _ = paper_X
    path = tmp_path / "X.npy"
    np.save(path, X)
    status, out, _ = run(["fit", str(path), "--rank", "4", "--seed", "0", "--json"], capsys)
    assert status == 0
    summary = json.loads(out)  # exactly one JSON object, nothing else on stdout
    for key in ("n_iter", "converged", "logdet", "fit_error", "time_s", "n_lp_solves"):
        assert key in summary
    assert summary["converged"] is True
    assert summary["fit_error"] < 1e-10
    assert summary["min_H"] >= -1e-10 and summary["colsum_error"] < 1e-10


def test_fit_writes_npz_and_matches_the_api(tmp_path, paper_X, capsys):
    X, H = paper_X
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / "fit.npz"
    status, text, _ = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "1", "--out", str(out)], capsys
    )
    assert status == 0 and "converged after" in text
    with np.load(out, allow_pickle=False) as saved:
        assert set(saved.files) == {"W", "H", "Q", "logdet_history"}
        api = cvxvolmin.fit(X, 4, random_state=1)
        np.testing.assert_array_equal(saved["H"], api.H)
        assert cvxvolmin.matched_mse(H, saved["H"]) <= 1e-20


@pytest.mark.parametrize("fmt", ["csv", "txt", "mat", "mat-var", "transposed"])
def test_fit_reads_every_format(tmp_path, paper_X, capsys, fmt):
    X, H = paper_X
    argv = []
    if fmt == "csv":
        path = tmp_path / "X.csv"
        np.savetxt(path, X, delimiter=",")
    elif fmt == "txt":
        path = tmp_path / "X.txt"
        np.savetxt(path, X)
    elif fmt == "mat":
        path = tmp_path / "X.mat"
        scipy.io.savemat(path, {"X": X, "label": np.array([[1.0]])})
    elif fmt == "mat-var":
        path = tmp_path / "X.mat"
        scipy.io.savemat(path, {"data": X, "other": np.ones((3, 3))})
        argv = ["--var", "data"]
    else:
        path = tmp_path / "X.npy"
        np.save(path, X.T)
        argv = ["--transpose"]
    out = tmp_path / "fit.npz"
    status, _, err = run(
        ["fit", str(path), "--rank", "4", "--seed", "0", "--out", str(out), *argv], capsys
    )
    assert status == 0, err
    with np.load(out) as saved:
        assert cvxvolmin.matched_mse(H, saved["H"]) <= 1e-20


def test_verbose_reports_each_sweep(tmp_path, paper_X, capsys):
    np.save(tmp_path / "X.npy", paper_X[0])
    status, _, err = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--verbose", "--json"], capsys
    )
    assert status == 0 and "sweep 1: log|det Q|" in err


def _bad_files(tmp_path, X):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    np.save(tmp_path / "nan.npy", np.where(np.eye(*X.shape) > 0, np.nan, X))
    np.save(tmp_path / "vector.npy", X[0])
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "garbage.csv").write_text("1,2,x\n3,4,5\n")
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "zipped.npy").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "text.npy").write_text("1 2 3\n")
    (tmp_path / "X.xlsx").write_text("not supported")
    (tmp_path / "broken.mat").write_bytes(b"\x00not a mat file at all" * 10)
    scipy.io.savemat(tmp_path / "two.mat", {"A": X, "B": X})
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "{d}/missing.npy", "--rank", "2"], "no such file"),
        (["fit", "{d}/objects.npy", "--rank", "2"], "object array"),
        (["fit", "{d}/nan.npy", "--rank", "2"], "NaN or infinite"),
        (["fit", "{d}/vector.npy", "--rank", "2"], "must be a 2-D array"),
        (["fit", "{d}/garbage.csv", "--rank", "2"], "cannot read .* as a numeric table"),
        (["fit", "{d}/empty.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/zipped.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/text.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/X.npy", "--rank", "2", "--seed", "-1"], "seed\\) must be >= 0"),
        (["reproduce", "table2", "--out", "{d}/no/such/t.md"], "folder of --out does not exist"),
        (["fit", "{d}/X.xlsx", "--rank", "2"], "unknown file format '.xlsx'"),
        (["fit", "{d}/broken.mat", "--rank", "2"], "cannot read .* as a .mat file"),
        (["fit", "{d}/two.mat", "--rank", "2"], "choose one with --var NAME"),
        (["fit", "{d}/two.mat", "--rank", "2", "--var", "C"], "no 2-D variable 'C'"),
        (["fit", "{d}/X.npy", "--rank", "2", "--var", "C"], "--var applies to .mat files only"),
        (["fit", "{d}/X.npy", "--rank", "31"], r"rank=31 exceeds min\(M, N\)"),
        (["fit", "{d}/X.npy", "--rank", "5"], "numerical rank 4, less than rank=5"),
        (["fit", "{d}/X.npy", "--rank", "2", "--solver", "NOPE"], "not an installed cvxpy solver"),
        (["fit", "{d}/X.npy", "--rank", "2", "--out", "{d}/x.txt"], "--out must end in .npz"),
        (["fit", "{d}/X.npy", "--rank", "two"], "invalid int value"),
        (["fit", "{d}/X.npy"], "the following arguments are required: --rank"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, paper_X, capsys, argv, message):
    directory = _bad_files(tmp_path, paper_X[0])
    status, _, err = run([a.format(d=directory) for a in argv], capsys)
    assert status == 2
    lines = [line for line in err.splitlines() if "warning" not in line]
    assert len(lines) == 1, err
    assert re.search(message, lines[0]), lines[0]


def test_infeasible_data_exits_2(tmp_path, capsys):
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((20, 3))
    coefficients = np.hstack([np.eye(3), -np.eye(3), rng.standard_normal((3, 10))])
    np.save(tmp_path / "X.npy", basis @ coefficients)
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "3"], capsys)
    assert status == 2 and "infeasible" in err and "Traceback" not in err


def test_demo_recovers_case_3():
    # Run as a user would, in a fresh interpreter: stdout is the demo alone.
    done = subprocess.run(
        [sys.executable, "-m", "cvxvolmin.cli", "demo"], capture_output=True, text=True, check=True
    )
    column_sum, row_sum = re.findall(r"MSE = ([0-9.e+-]+)", done.stdout)
    assert float(column_sum) < 1e-20
    # The classic criterion fails on mixed-sign W, and the demo says so.
    assert float(row_sum) > 1e-3 and "fails" in done.stdout
    assert "HiGHS" not in done.stdout.splitlines()[0]  # no solver banner


def test_check_reports_a_verdict_as_json(tmp_path, capsys):
    _, _, H = cvxvolmin.make_paper_data(4, random_state=1)
    np.save(tmp_path / "H.npy", H)
    np.save(tmp_path / "Ht.npy", H.T)
    status, out, _ = run(["check", str(tmp_path / "H.npy"), "--json", "--seed", "0"], capsys)
    assert status == 0
    report = json.loads(out)
    for key in ("verdict", "condition1", "condition2", "witness", "margin", "method", "time_s"):
        assert key in report
    assert report["verdict"] == "sufficiently_scattered"
    status, out2, _ = run(
        ["check", str(tmp_path / "Ht.npy"), "--transpose", "--json", "--seed", "0"], capsys
    )
    assert status == 0 and json.loads(out2)["verdict"] == report["verdict"]


def test_check_exits_0_with_a_witness_when_not_scattered(tmp_path, capsys):
    # Rows spread only around the center of the simplex: cone(H^T) misses C.
    rng = np.random.default_rng(0)
    H = 1.0 + 0.1 * rng.uniform(size=(50, 3))
    np.save(tmp_path / "H.npy", H)
    status, out, _ = run(["check", str(tmp_path / "H.npy")], capsys)
    assert status == 0
    assert "is not sufficiently scattered" in out and "witness y = [" in out


def test_check_refuses_negative_H(tmp_path, capsys):
    np.save(tmp_path / "H.npy", -np.ones((5, 3)))
    status, _, err = run(["check", str(tmp_path / "H.npy")], capsys)
    assert status == 2 and "negative entries" in err and len(err.strip().splitlines()) == 1


def test_fit_check_reports_the_verdict(tmp_path, paper_X, capsys):
    np.save(tmp_path / "X.npy", paper_X[0])
    status, out, _ = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--check", "--json"], capsys
    )
    assert status == 0
    assert json.loads(out)["scattering"]["verdict"] in {
        "sufficiently_scattered",
        "not_sufficiently_scattered",
        "inconclusive",
    }


def test_reproduce_table2_json(tmp_path, capsys):
    out_file = tmp_path / "table.md"
    status, out, _ = run(
        ["reproduce", "table2", "--trials", "1", "--ranks", "5", "--json", "--out", str(out_file)],
        capsys,
    )
    assert status == 0
    payload = json.loads(out)
    assert {"rows", "paper"} <= set(payload)
    assert len(payload["rows"]) == 9  # 3 methods x 3 cases
    for row in payload["rows"]:
        assert {"method", "rank", "case", "mean_mse", "median_mse", "max_mse"} <= set(row)
        assert {"median_time_s", "trials"} <= set(row)
    column_sum = [row for row in payload["rows"] if row["method"] == "column-sum"]
    assert all(row["max_mse"] <= 1e-20 for row in column_sum)
    assert "| method |" in out_file.read_text()


def test_reproduce_rejects_a_bad_out_suffix(capsys):
    status, _, err = run(["reproduce", "table2", "--trials", "1", "--out", "t.xlsx"], capsys)
    assert status == 2 and "--out must end in .md, .csv or .json" in err


def test_reproduce_noise_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "noise.png"
    argv = ["reproduce", "noise", "--snr", "30", "40", "--trials", "1", "--cases", "3"]
    argv += ["--methods", "plain-nmf", "column-sum", "--json", "--plot", str(plot)]
    status, out, _ = run(argv, capsys)
    assert status == 0
    payload = json.loads(out)
    assert payload["config"]["snrs_db"] == [30.0, 40.0]
    assert {(row["method"], row["snr_db"]) for row in payload["rows"]} == {
        (m, s) for m in ("plain-nmf", "column-sum") for s in (30.0, 40.0)
    }
    for row in payload["rows"]:
        assert {"median_mse", "mean_mse", "max_mse", "n_failed"} <= set(row)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "magic"], "unknown --methods \\['magic'\\]"),
        (["--plot", "out.jpg"], "--plot must end in .png"),
        (["--snr", "nan"], "snrs_db must be a nonempty sequence of finite numbers"),
        (["--trials", "0"], "trials must be a positive integer"),
        (["--cases", "4"], "invalid choice: 4"),
    ],
)
def test_reproduce_noise_bad_input(extra, message, capsys):
    status, _, err = run(["reproduce", "noise", *extra], capsys)
    assert status == 2
    assert re.search(message, err), err
    assert len(err.strip().splitlines()) == 1


def test_reproduce_noise_plot_without_matplotlib_is_bad_input(monkeypatch, capsys):
    from cvxvolmin import plot

    def missing():
        raise ImportError("no matplotlib")

    monkeypatch.setattr(plot, "_import_pyplot", missing)
    status, _, err = run(["reproduce", "noise", "--trials", "1", "--plot", "x.png"], capsys)
    assert status == 2 and "--plot needs matplotlib" in err
    assert len(err.strip().splitlines()) == 1

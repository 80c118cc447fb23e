"""The command line: the fit/demo contract, file formats, exit statuses, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.io

import cvxvolmin
from cvxvolmin import scattering
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
    assert status == 0
    with np.load(out, allow_pickle=False) as saved:
        assert set(saved.files) == {"W", "H", "Q", "logdet_history"}
        api = cvxvolmin.fit(X, 4, random_state=1)
        np.testing.assert_array_equal(saved["H"], api.H)
        assert cvxvolmin.matched_mse(H, saved["H"]) <= 1e-20
    # The report states the API's figures.
    lines = text.splitlines()
    assert lines[0].startswith(
        f"column-sum VolMin, rank 4: converged after {api.n_iter} sweeps ({api.n_lp_solves} LPs, "
    )
    assert lines[1] == f"  log|det Q| = {api.logdet:.10g}"
    fit_error = float(
        re.fullmatch(r"  fit error \|\|X - W H\^T\|\| / \|\|X\|\| = (\S+)", lines[2])[1]
    )
    assert fit_error < 1e-10
    min_H, colsum = re.fullmatch(
        r"  min H = (\S+), max \|H\^T 1 - rho\| = (\S+)", lines[3]
    ).groups()
    assert float(min_H) > -1e-10 and float(colsum) < 1e-10
    assert lines[4:] == [f"  wrote W, H, Q, logdet_history to {out}"]


def test_fit_robust_matches_the_api_and_writes_its_history(tmp_path, paper_X, capsys):
    X, H = paper_X
    noisy = cvxvolmin.add_noise(X, 30.0, random_state=2)
    np.save(tmp_path / "X.npy", noisy)
    out = tmp_path / "fit.npz"
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--robust"]
    status, text, _ = run([*argv, "--lam", "0.5", "--out", str(out)], capsys)
    assert status == 0
    api = cvxvolmin.fit_robust(noisy, 4, lam=0.5, random_state=0)
    with np.load(out, allow_pickle=False) as saved:
        assert set(saved.files) == {"W", "H", "objective_history"}
        np.testing.assert_array_equal(saved["H"], api.H)
        np.testing.assert_array_equal(saved["objective_history"], api.objective_history)
    lines = text.splitlines()
    assert lines[0].startswith(
        f"robust column-sum VolMin, rank 4: converged after {api.n_iter} iterations "
        "(projected-gradient H updates, "
    )
    assert lines[1] == f"  objective = {api.objective:.10g} with lam = 0.5, from {api.init}"
    assert lines[-1] == f"  wrote W, H, objective_history to {out}"
    # The default lam is the API's rule; --json carries the robust summary.
    status, text, _ = run([*argv, "--json"], capsys)
    summary = json.loads(text)
    default = cvxvolmin.fit_robust(noisy, 4, random_state=0)
    assert status == 0 and summary["lam"] == pytest.approx(default.lam, rel=1e-12)
    assert summary["method"] == "robust-column-sum" and summary["stop_reason"] == "converged"
    assert cvxvolmin.matched_mse(H, default.H) < 1e-3


def test_lam_without_robust_is_bad_input(tmp_path, paper_X, capsys):
    np.save(tmp_path / "X.npy", paper_X[0])
    status, out, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "4", "--lam", "1"], capsys)
    assert status == 2 and out == ""
    assert (
        err.strip()
        == "cvxvolmin fit: error: --lam weighs the volume term of the robust fit; add --robust."
    )


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
    status, out, err = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--verbose", "--json"], capsys
    )
    assert status == 0
    n_iter = json.loads(out)["n_iter"]  # stdout is the JSON alone, stderr the sweeps
    sweeps = [line for line in err.splitlines() if line.startswith("sweep ")]
    assert [line.split(":")[0] for line in sweeps] == [f"sweep {k}" for k in range(1, n_iter + 1)]
    assert all("log|det Q| = " in line for line in sweeps)


def test_header_rows_are_skipped_or_refused_in_one_line(tmp_path, paper_X, capsys):
    X, H = paper_X
    path = tmp_path / "X.csv"
    names = ",".join(f"sample{n}" for n in range(X.shape[1]))
    np.savetxt(path, X, delimiter=",", header=names, comments="")
    out = tmp_path / "fit.npz"
    argv = ["fit", str(path), "--rank", "4", "--seed", "0", "--out", str(out)]
    status, _, err = run(argv, capsys)
    assert status == 0 and err == ""
    with np.load(out) as saved:
        assert cvxvolmin.matched_mse(H, saved["H"]) <= 1e-20
    # A header of numbers cannot be told from data: --skip-header says it is one.
    np.savetxt(path, X, delimiter=",", header=",".join(map(str, range(X.shape[1]))), comments="")
    status, _, err = run([*argv, "--skip-header"], capsys)
    assert status == 0 and err == ""
    with np.load(out) as saved:
        assert cvxvolmin.matched_mse(H, saved["H"]) <= 1e-20


def _bad_files(tmp_path, X):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    np.save(tmp_path / "nan.npy", np.where(np.eye(*X.shape) > 0, np.nan, X))
    np.save(tmp_path / "vector.npy", X[0])
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "garbage.csv").write_text("1,2,x\n3,4,5\n")
    (tmp_path / "later.csv").write_text("1,2,3\n4,5,6\n7,8,oops\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "zipped.npy").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "text.npy").write_text("1 2 3\n")
    (tmp_path / "folder.npy").mkdir()
    (tmp_path / "X.xlsx").write_text("not supported")
    (tmp_path / "broken.mat").write_bytes(b"\x00not a mat file at all" * 10)
    scipy.io.savemat(tmp_path / "two.mat", {"A": X, "B": X})
    scipy.io.savemat(tmp_path / "cell.mat", {"C": np.array([[1.0, "a"]], dtype=object)})
    # The header of a 1e6 x 1e6 float64 array over a few bytes: read as declared
    # it asked numpy for 8 TB (MemoryError and a 26-line traceback).
    with (tmp_path / "huge.npy").open("wb") as handle:
        header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 64)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "{d}/missing.npy", "--rank", "2"], "no such file"),
        (["fit", "{d}/folder.npy", "--rank", "2"], "folder.npy is a directory, not a data file"),
        (["fit", "{d}/objects.npy", "--rank", "2"], "object array"),
        (["fit", "{d}/nan.npy", "--rank", "2"], "NaN or infinite"),
        (["fit", "{d}/vector.npy", "--rank", "2"], r"1-D array of shape \(60,\).* must be a 2-D"),
        (["fit", "{d}/garbage.csv", "--rank", "2"], "line 1 holds 'x', not a number: '1,2,x'"),
        (["fit", "{d}/later.csv", "--rank", "2"], "line 3 holds 'oops', not a number: '7,8,oops'"),
        (["fit", "{d}/empty.csv", "--rank", "2"], r"empty.csv is empty; expected a table"),
        (["check", "{d}/empty.csv"], r"empty.csv is empty; expected a table"),
        (["fit", "{d}/empty.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/zipped.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/text.npy", "--rank", "2"], "is not a .npy file"),
        (["fit", "{d}/huge.npy", "--rank", "2"], r"declares shape \(1000000, 1000000\) of float64"),
        (["check", "{d}/huge.npy"], r"\(8000000000000 bytes\) but the file holds 64 bytes"),
        (["fit", "{d}/X.npy", "--rank", "2", "--seed", "-1"], "seed\\) must be >= 0"),
        (["reproduce", "table2", "--out", "{d}/no/such/t.md"], "folder of --out does not exist"),
        (["fit", "{d}/X.xlsx", "--rank", "2"], "unknown file format '.xlsx'"),
        (["fit", "{d}/broken.mat", "--rank", "2"], "cannot read .* as a .mat file"),
        (["fit", "{d}/two.mat", "--rank", "2"], "choose one with --var NAME"),
        (["fit", "{d}/two.mat", "--rank", "2", "--var", "C"], "no 2-D variable 'C'"),
        (["fit", "{d}/cell.mat", "--rank", "2", "--var", "C"], r"'C' is not numeric \(a cell"),
        (["check", "{d}/cell.mat"], r"no numeric matrix .*C is not numeric \(a cell array\)"),
        (["fit", "{d}/X.npy", "--rank", "2", "--var", "C"], "--var applies to .mat files only"),
        (["fit", "{d}/X.npy", "--rank", "2", "--skip-header"], "--skip-header applies to .csv"),
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
    status, out, err = run([a.format(d=directory) for a in argv], capsys)
    assert status == 2
    assert out == ""
    (line,) = err.splitlines()  # exactly one line: no warning, no traceback
    command = argv[0] if argv[0] in ("fit", "check", "reproduce") else None
    prefix = f"cvxvolmin {command}: error: " if command else "cvxvolmin: error: "
    assert line.startswith(prefix), line
    assert re.search(message, line), line


def _raiser(exc):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        # The input's fault: 2, with the library's message.
        (cvxvolmin.InvalidParameterError("tol must be a number"), 2, "error: tol must be a number"),
        (cvxvolmin.InfeasibleError("no feasible q"), 2, "error: no feasible q"),
        (cvxvolmin.DegenerateError("too thin"), 2, "error: too thin"),
        # A solver that stops without an answer: 1.
        (cvxvolmin.SolverFailedError("HIGHS stopped"), 1, "solver failed: HIGHS stopped"),
        # Anything else is a bug: 1, named as such, even a ValueError or an OSError.
        (RuntimeError("boom"), 1, "RuntimeError: boom"),
        (ZeroDivisionError("division by zero"), 1, "ZeroDivisionError: division by zero"),
        (ValueError("inner shapes"), 1, "ValueError: inner shapes"),
        (TypeError("'int' object"), 1, "TypeError: 'int' object"),
        (OSError("libfoo.so"), 1, "OSError: libfoo.so"),
        (KeyError("k"), 1, "KeyError: 'k'"),
        (AssertionError(), 1, "AssertionError"),
        (RuntimeError("two\nlines\n"), 1, "RuntimeError: two lines"),
    ],
)
@pytest.mark.parametrize("command", ["fit", "check"])
def test_exit_status_maps_the_error_class(
    tmp_path, paper_X, monkeypatch, capsys, exc, status, expected, command
):
    np.save(tmp_path / "A.npy", np.abs(paper_X[0]))
    if command == "fit":
        monkeypatch.setattr(cvxvolmin, "fit", _raiser(exc))
        argv = ["fit", str(tmp_path / "A.npy"), "--rank", "2"]
    else:
        monkeypatch.setattr(scattering, "check_scattering", _raiser(exc))
        argv = ["check", str(tmp_path / "A.npy")]
    got, out, err = run(argv, capsys)
    assert got == status
    assert out == "" and "Traceback" not in err
    if status == 1 and not isinstance(exc, cvxvolmin.SolverFailedError):
        expected = f"internal error: {expected} (please report it)"
    assert err.splitlines() == [f"cvxvolmin {command}: {expected}"]


def test_interrupt_and_closed_output_end_in_one_line_or_silence(
    tmp_path, paper_X, monkeypatch, capsys
):
    np.save(tmp_path / "A.npy", np.abs(paper_X[0]))
    argv = ["fit", str(tmp_path / "A.npy"), "--rank", "2"]
    monkeypatch.setattr(cvxvolmin, "fit", _raiser(KeyboardInterrupt()))
    got, _, err = run(argv, capsys)
    assert got == 130 and err.splitlines() == ["cvxvolmin fit: interrupted"]
    # the reader of stdout went away: exit 1 without a word (stdout is then /dev/null)
    import os

    saved = os.dup(1)
    try:
        monkeypatch.setattr(cvxvolmin, "fit", _raiser(BrokenPipeError()))
        got, _, err = run(argv, capsys)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert got == 1 and err == ""


def test_warnings_print_one_line_each_before_the_error(tmp_path, paper_X, monkeypatch, capsys):
    import warnings

    real_fit = cvxvolmin.fit

    def warning_fit(*args, **kwargs):
        warnings.warn("overflow in a figure\nsecond line of detail", RuntimeWarning, stacklevel=2)
        return real_fit(*args, **kwargs)

    np.save(tmp_path / "X.npy", paper_X[0])
    monkeypatch.setattr(cvxvolmin, "fit", warning_fit)
    status, out, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "4", "--json"], capsys)
    assert status == 0 and json.loads(out)["converged"] is True
    assert err.splitlines() == ["cvxvolmin: warning: overflow in a figure"]

    def warning_then_failure(*args, **kwargs):
        warnings.warn("first", UserWarning, stacklevel=2)
        raise cvxvolmin.SolverFailedError("stopped")

    def empty_warning(*args, **kwargs):
        warnings.warn("", UserWarning, stacklevel=2)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cvxvolmin, "fit", empty_warning)
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "4", "--json"], capsys)
    assert status == 0 and err.splitlines() == ["cvxvolmin: warning: UserWarning"]

    monkeypatch.setattr(cvxvolmin, "fit", warning_then_failure)
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "4"], capsys)
    assert status == 1
    assert err.splitlines() == [
        "cvxvolmin: warning: first",
        "cvxvolmin fit: solver failed: stopped",
    ]


def test_an_output_that_cannot_be_written_exits_2(tmp_path, paper_X, monkeypatch, capsys):
    np.save(tmp_path / "X.npy", paper_X[0])
    (tmp_path / "fit.npz").mkdir()  # np.savez cannot open a folder
    status, out, err = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--out", str(tmp_path / "fit.npz")],
        capsys,
    )
    assert status == 2 and out == ""
    assert err.splitlines() == [
        f"cvxvolmin fit: error: cannot write {tmp_path / 'fit.npz'}: Is a directory."
    ]

    class Table:
        def write(self, path):
            raise PermissionError(13, "Permission denied", path)

    from cvxvolmin import experiments

    monkeypatch.setattr(experiments, "run_table2", lambda **kwargs: Table())
    status, _, err = run(["reproduce", "table2", "--out", str(tmp_path / "t.md")], capsys)
    assert status == 2
    assert err.splitlines() == [
        f"cvxvolmin reproduce: error: cannot write {tmp_path / 't.md'}: Permission denied."
    ]


def test_infeasible_data_exits_2(tmp_path, capsys):
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((20, 3))
    coefficients = np.hstack([np.eye(3), -np.eye(3), rng.standard_normal((3, 10))])
    np.save(tmp_path / "X.npy", basis @ coefficients)
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--rank", "3"], capsys)
    assert status == 2
    (line,) = err.splitlines()
    assert line.startswith("cvxvolmin fit: error: ") and "infeasible" in line


def test_demo_recovers_case_3_and_says_what_fails():
    # Run as a user would, in a fresh interpreter: stdout is the demo alone.
    done = subprocess.run(
        [sys.executable, "-m", "cvxvolmin.cli", "demo"], capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 5
    assert "HiGHS" not in lines[0]  # no solver banner
    column_sum, l1, oracle = (float(v) for v in re.findall(r"MSE = ([0-9.e+-]+)", done.stdout))
    assert lines[1].startswith("column-sum VolMin recovered H") and column_sum < 1e-20
    # l1 normalization fails on mixed-sign W, and the demo says why (and that it warned).
    assert lines[3].startswith("row-sum VolMin (classic), l1-normalized columns: MSE = ")
    assert l1 > 1e-3
    assert lines[3].endswith(
        "fails: l1 normalization puts a column on W's simplex only when W >= 0 (or each row "
        "of W has one sign); it warned so (ModelMismatchWarning)"
    )
    # Another normalization does put the data on a simplex: the row-sum model is not
    # what fails, but it needs W.
    assert lines[4].startswith(
        "row-sum VolMin, oracle normalization x_n / (a^T x_n), a = W (W^T W)^{-1} 1: MSE = "
    )
    assert oracle < 1e-20
    assert lines[4].endswith("recovers H, but needs W, which is unknown in practice")
    assert "no normalization" not in done.stdout and "must" not in done.stdout


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
    lines = out.splitlines()
    assert lines[0].startswith("H (50 x 3) is not sufficiently scattered: ")
    assert lines[1] == "  condition (1), cone(H^T) contains C: fails"
    # The printed witness is a certificate: H y >= 0 with 1.y = 1 and ||y|| > 1.
    (witness,) = [line for line in lines if line.startswith("  witness y = [")]
    y = np.array([float(v) for v in witness.split("[")[1].rstrip("]").split(",")])
    assert np.all(H @ y >= -1e-3 * np.abs(H @ y).max())  # printed to 4 digits
    assert abs(y.sum() - 1) < 1e-3 and np.linalg.norm(y) > 1


def test_check_prints_the_verdict_and_conditions(tmp_path, capsys):
    _, _, H = cvxvolmin.make_paper_data(4, random_state=1)
    np.save(tmp_path / "H.npy", H)
    expected = cvxvolmin.check_scattering(H, random_state=0)
    status, out, err = run(["check", str(tmp_path / "H.npy"), "--seed", "0"], capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    verdict = expected.verdict.replace("_", " ")
    assert lines[0].startswith(f"H (200 x 4) is {verdict}")
    holds = {True: "holds", False: "fails", None: "not decided"}
    assert lines[1] == f"  condition (1), cone(H^T) contains C: {holds[expected.condition1]}"
    assert lines[2] == (
        f"  condition (2), only the unit rays touch bd C*: {holds[expected.condition2]}"
    )
    assert lines[-1].startswith(f"  method {expected.method}, ")


def test_check_refuses_negative_H(tmp_path, capsys):
    np.save(tmp_path / "H.npy", -np.ones((5, 3)))
    status, _, err = run(["check", str(tmp_path / "H.npy")], capsys)
    assert status == 2 and "negative entries" in err and len(err.strip().splitlines()) == 1


def test_fit_check_reports_the_verdict_of_the_data(tmp_path, paper_X, capsys):
    X, H = paper_X
    # The paper's H is sufficiently scattered, so the recovered H must be too
    # (the verdict does not change under the permutation and scaling of the rows).
    assert cvxvolmin.check_scattering(H, random_state=0).verdict == "sufficiently_scattered"
    np.save(tmp_path / "X.npy", X)
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--check"]
    status, out, _ = run([*argv, "--json"], capsys)
    assert status == 0
    report = json.loads(out)["scattering"]
    assert report["verdict"] == "sufficiently_scattered"
    assert report["condition1"] is True and report["condition2"] is True
    status, text, _ = run(argv, capsys)
    assert status == 0 and "  the fitted H is sufficiently scattered (" in text


def test_fit_check_reports_non_scattered_data(tmp_path, capsys):
    # Rows of H only around the centre of the simplex: not sufficiently scattered,
    # so the minimum-volume H the fit returns is not either.
    rng = np.random.default_rng(0)
    H = 1 + 0.1 * rng.uniform(size=(60, 4))
    assert cvxvolmin.check_scattering(H).verdict == "not_sufficiently_scattered"
    np.save(tmp_path / "X.npy", rng.standard_normal((30, 4)) @ H.T)
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--check", "--json"]
    status, out, _ = run(argv, capsys)
    assert status == 0
    report = json.loads(out)["scattering"]
    assert report["verdict"] == "not_sufficiently_scattered"
    assert report["condition1"] is False and report["witness"] is not None


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
    assert status == 2
    assert err.splitlines() == [
        "cvxvolmin reproduce: error: --out must end in .md, .csv or .json; got 't.xlsx'."
    ]


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

"""The command line: the fit/demo contract, file formats, exit statuses, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings

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


def test_demo_recovers_case_3_and_says_what_fails(monkeypatch, capfd):
    # The demo runs the three fits it names, each from the seed it states.
    real_fit, fits = cvxvolmin.fit, []

    def fit(X, rank, **options):
        formulation = cvxvolmin.get_formulation(options.get("formulation", "column-sum"))
        normalize = getattr(formulation, "normalize", "-")
        fits.append((formulation.name, normalize, rank, options.get("random_state")))
        return real_fit(X, rank, **options)

    monkeypatch.setattr(cvxvolmin, "fit", fit)
    # capfd: the file descriptors, so a solver banner printed from C would show too.
    status = main(["demo"])
    out, err = capfd.readouterr()
    assert status == 0 and err == ""
    assert fits == [
        ("column-sum", "-", 5, 0),
        ("row-sum", "l1", 5, 0),
        ("row-sum", None, 5, 0),
    ]
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[0] == (
        "cvxvolmin demo: the paper's case 3 (Gaussian, mixed-sign W), M = N = 200, r = 5, seed 0"
    )
    # The figures are those of the API on the data the header names.
    X, _, H = cvxvolmin.make_paper_data(5, case=3, random_state=0)
    api = cvxvolmin.fit(X, 5, random_state=0)
    assert lines[1] == (
        "column-sum VolMin recovered H up to permutation and scaling: "
        f"MSE = {cvxvolmin.matched_mse(H, api.H):.2e}"
    )
    assert lines[2].startswith(f"  {api.n_iter} sweeps, {api.n_lp_solves} LPs (cvxpy + HiGHS), ")
    assert lines[2].endswith(f" s, fit error {api.fit_error:.1e}")
    column_sum, l1, oracle = (float(v) for v in re.findall(r"MSE = ([0-9.e+-]+)", out))
    assert column_sum < 1e-20
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


def test_demo_says_so_when_the_classic_fit_does_not_warn(monkeypatch, capsys):
    # The warning is the library's to give: the demo reports what happened, not what
    # it expects. Stand-in fits (no warning) keep this fast.
    from types import SimpleNamespace

    def fit(X, rank, **options):
        H = np.ones((X.shape[1], rank))
        return SimpleNamespace(H=H, n_iter=1, n_lp_solves=1, time_s=0.0, fit_error=0.0)

    monkeypatch.setattr(cvxvolmin, "fit", fit)
    assert main(["demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].endswith("(or each row of W has one sign); it did not warn")


def test_module_runs_as_a_program():
    # `python -m cvxvolmin.cli`, as a user would, in a fresh interpreter.
    done = subprocess.run(
        [sys.executable, "-m", "cvxvolmin.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"cvxvolmin {cvxvolmin.__version__}\n"


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


@pytest.mark.parametrize(
    "verdict, status",
    [("sufficiently_scattered", 0), ("not_sufficiently_scattered", 3), ("inconclusive", 4)],
)
def test_check_strict_makes_the_verdict_the_exit_status(
    tmp_path, monkeypatch, capsys, verdict, status
):
    # A script branches on `check --strict`; without it every verdict exits 0.
    from types import SimpleNamespace

    report = SimpleNamespace(verdict=verdict, to_dict=lambda: {"verdict": verdict})
    monkeypatch.setattr(scattering, "check_scattering", lambda H, **options: report)
    np.save(tmp_path / "H.npy", np.eye(3))
    command = ["check", str(tmp_path / "H.npy"), "--json"]
    assert run([*command, "--strict"], capsys)[:2] == (status, f'{{"verdict": "{verdict}"}}\n')
    assert run(command, capsys)[0] == 0


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


# --- The parser: defaults, choices, help -------------------------------------------


def _parsers(parser=None, path=()):
    """(path, parser) for the top-level parser and every (sub)command."""
    import argparse

    from cvxvolmin.cli import build_parser

    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _value_options():
    """(path, parser, action) for every optional option that takes a value.

    Built inside each test (not at collection): mutmut maps a test to the code it runs.
    """
    return [
        (path, parser, action)
        for path, parser in _parsers()
        for action in parser._actions
        if action.option_strings and action.nargs != 0 and not action.required
    ]


def _minimal_argv(path, parser):
    """The shortest command line of a command: its positionals and required options."""
    argv = list(path)
    for action in parser._actions:
        if not action.option_strings:
            argv.append("data.npy")
        elif action.required and action.option_strings:
            argv += [action.option_strings[0], "2"]
    return argv


def _shown(value):
    """A default as the help states it: a list as typed on the command line."""
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


def test_help_states_every_default_and_the_choices():
    # Issue 16: every option's help says what applies when it is left out.
    import argparse

    options = _value_options()
    assert len(options) > 20
    for path, _, action in options:
        where = (path, action.option_strings[0])
        text = argparse.HelpFormatter(" ".join(path))._expand_help(action)
        assert "default" in text, where
        if action.default is not None:
            assert f"default {_shown(action.default)}" in text, where
        for choice in action.choices or ():
            assert str(choice) in text, where


# Words of capitals a help may hold: formats, placeholders, figures, methods, solver names.
_ACRONYMS = {"JSON", "FILE", "FOLDER", "MSE", "SNR", "NMF", "HIGHS", "OSQP"}


def test_every_argument_has_a_help_in_plain_case():
    # --help is what a user reads first: every argument says what it is, none shouts.
    import argparse

    arguments = [
        (path, action)
        for path, parser in _parsers()
        for action in parser._actions
        if not isinstance(
            action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction
        )
    ]
    assert len(arguments) > 40
    for path, action in arguments:
        text = argparse.HelpFormatter(" ".join(path))._expand_help(action) if action.help else ""
        assert text.strip(), (path, action.dest)
        shouted = set(re.findall(r"\b[A-Z]{3,}\b", text)) - _ACRONYMS
        assert not shouted, (path, action.dest, shouted)


def test_every_command_has_a_help_and_a_description_in_plain_case():
    # `cvxvolmin --help` gives each command one line; `cvxvolmin COMMAND --help` says
    # what it does.
    import argparse

    paths = []
    for path, parser in _parsers():
        texts = [parser.description]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                # argparse lists only the commands given a help=: look each one up
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                texts += [helps.get(name) for name in action.choices]
        for text in texts:
            assert text and text.strip(), path
            shouted = set(re.findall(r"\b[A-Z]{3,}\b", text)) - _ACRONYMS
            assert not shouted, (path, shouted)
        paths.append(path)
    assert len(paths) == 9  # cvxvolmin, its 6 commands and the 2 experiments


@pytest.mark.parametrize("name", ["solver", "max_iter", "tol"])
def test_fit_help_states_both_modes_library_defaults(name):
    # fit leaves --solver, --max-iter, --tol to the library, whose defaults differ by mode.
    import argparse
    import inspect

    (parser,) = [p for path, p in _parsers() if path == ("fit",)]
    (action,) = [a for a in parser._actions if a.dest == name]
    text = argparse.HelpFormatter("fit")._expand_help(action)
    fit_default = inspect.signature(cvxvolmin.fit).parameters[name].default
    robust_default = inspect.signature(cvxvolmin.fit_robust).parameters[name].default
    assert f"default {fit_default}; {robust_default} with --robust" in text


def test_choices_are_enforced_in_one_line_and_each_is_accepted(capsys):
    from cvxvolmin.cli import build_parser

    options = [option for option in _value_options() if option[2].choices is not None]
    assert {(path, action.dest) for path, _, action in options} == {
        (("check",), "method"),
        (("reproduce", "noise"), "cases"),
        (("study",), "cases"),
        (("generate",), "case"),
        (("generate",), "format"),
    }
    for path, parser, action in options:
        # argparse checks a given value, never the default: the default must be a choice
        default = action.default if isinstance(action.default, list) else [action.default]
        assert set(default) <= set(action.choices), (path, action.dest)
        argv, option = _minimal_argv(path, parser), action.option_strings[0]
        bad = 999 if all(isinstance(c, int) for c in action.choices) else "bogus"
        status, out, err = run([*argv, option, str(bad)], capsys)
        assert status == 2 and out == ""
        (line,) = err.splitlines()
        assert f"invalid choice: {bad!r}" in line
        assert all(str(choice) in line.split("choose from", 1)[1] for choice in action.choices)
        for choice in action.choices:
            args = build_parser().parse_args([*argv, option, str(choice)])
            value = getattr(args, action.dest)
            assert (value == [choice]) if action.nargs == "+" else (value == choice)


def _library_defaults():
    from cvxvolmin import experiments, robust

    return [
        (("fit",), cvxvolmin.fit, {"formulation": "formulation", "seed": "random_state"}),
        (("fit",), cvxvolmin.fit_robust, {"formulation": "formulation", "lam": "lam"}),
        (
            ("check",),
            scattering.check_scattering,
            {
                "method": "method",
                "tol": "tol",
                "samples": "n_samples",
                "time_limit": "time_limit",
                "seed": "random_state",
            },
        ),
        (
            ("reproduce", "table2"),
            experiments.run_table2,
            {"trials": "trials", "ranks": "ranks", "seed": "seed"},
        ),
        (
            ("reproduce", "noise"),
            robust.run_snr_study,
            {"trials": "trials", "rank": "rank", "cases": "cases", "seed": "seed"},
        ),
        (
            ("study",),
            experiments.run_study,
            {"cases": "cases", "ranks": "ranks", "trials": "trials", "snr": "snrs_db"}
            | {"seed": "seed", "jobs": "n_jobs"},
        ),
        (
            ("generate",),
            cvxvolmin.make_paper_data,
            {"case": "case", "features": "n_features", "samples": "n_samples"}
            | {"zeros": "zero_fraction"},
        ),
    ]


@pytest.mark.parametrize(("path", "function", "names"), _library_defaults())
def test_defaults_are_the_librarys(path, function, names):
    # Left out on the command line, an option means what the keyword means left out.
    import inspect

    (parser,) = [p for where, p in _parsers() if where == path]
    args = parser.parse_args(_minimal_argv((), parser))
    parameters = inspect.signature(function).parameters
    for dest, keyword in names.items():
        value, default = getattr(args, dest), parameters[keyword].default
        if isinstance(value, list):
            value, default = list(value), list(default)
        assert value == default, (dest, value, default)


def test_noise_defaults_are_the_documented_study():
    # The library's run_snr_study defaults to fewer SNRs; the command runs the grid of
    # the README and docs/howto/noisy_data.rst ("reproduce noise --json: the same").
    from cvxvolmin import robust
    from cvxvolmin.cli import build_parser

    args = build_parser().parse_args(["reproduce", "noise"])
    assert args.snr == [10, 20, 30, 40, 60]
    assert args.methods == list(robust.DEFAULT_SNR_METHODS)


def test_generate_defaults_are_the_readmes_data():
    # Left out, --rank and --seed are those of the README's `generate . --rank 5 --seed 0`
    # (make_paper_data has no default rank and draws a fresh seed).
    from cvxvolmin.cli import build_parser

    args = build_parser().parse_args(["generate", "."])
    assert (args.rank, args.seed, args.format) == (5, 0, "npy")


class _Recorded(Exception):
    pass


def _recorder(monkeypatch, module, name):
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise cvxvolmin.SolverFailedError("recorded")

    monkeypatch.setattr(module, name, record)
    return calls


@pytest.mark.parametrize(
    ("argv", "target", "expected"),
    [
        # Left out, --solver, --max-iter and --tol are the library's (they differ by mode).
        (["fit", "{X}", "--rank", "3"], "fit", {"formulation": "column-sum"}),
        (
            [
                "fit",
                "{X}",
                "--rank",
                "3",
                "--formulation",
                "row-sum",
                "--solver",
                "CLARABEL",
                "--max-iter",
                "7",
                "--tol",
                "1e-5",
                "--seed",
                "4",
            ],
            "fit",
            {"formulation": "row-sum", "solver": "CLARABEL", "max_iter": 7, "tol": 1e-5}
            | {"random_state": 4},
        ),
        (["fit", "{X}", "--rank", "3", "--robust"], "fit_robust", {"lam": None}),
        (
            [
                "fit",
                "{X}",
                "--rank",
                "3",
                "--robust",
                "--lam",
                "0.5",
                "--solver",
                "SCS",
                "--max-iter",
                "9",
                "--tol",
                "1e-4",
                "--seed",
                "5",
                "--formulation",
                "row-sum",
            ],
            "fit_robust",
            {"formulation": "row-sum", "lam": 0.5, "solver": "SCS", "max_iter": 9}
            | {"tol": 1e-4, "random_state": 5},
        ),
        (
            [
                "check",
                "{X}",
                "--method",
                "exact",
                "--tol",
                "1e-7",
                "--samples",
                "50",
                "--time-limit",
                "5",
                "--seed",
                "2",
            ],
            "check_scattering",
            {"method": "exact", "tol": 1e-7, "n_samples": 50, "time_limit": 5.0}
            | {"random_state": 2},
        ),
        (
            ["reproduce", "table2", "--trials", "2", "--ranks", "3", "4", "--seed", "7"],
            "run_table2",
            {"ranks": [3, 4], "trials": 2, "seed": 7, "progress": False},
        ),
        (
            [
                "reproduce",
                "noise",
                "--snr",
                "15",
                "25",
                "--trials",
                "2",
                "--rank",
                "3",
                "--cases",
                "2",
                "--methods",
                "row-sum",
                "--seed",
                "9",
            ],
            "run_snr_study",
            {"snrs_db": [15.0, 25.0], "cases": [2], "rank": 3, "trials": 2}
            | {"methods": ["row-sum"], "seed": 9, "progress": False},
        ),
        (
            [
                "study",
                "--method",
                "column-sum",
                "--cases",
                "2",
                "--ranks",
                "3",
                "4",
                "--trials",
                "2",
                "--snr",
                "30",
                "--seed",
                "7",
                "--jobs",
                "2",
            ],
            "run_study",
            {"cases": [2], "ranks": [3, 4], "trials": 2, "snrs_db": [30.0], "seed": 7}
            | {"n_jobs": 2, "progress": False},
        ),
        (
            [
                "generate",
                "{d}",
                "--rank",
                "3",
                "--case",
                "1",
                "--features",
                "20",
                "--samples",
                "40",
                "--zeros",
                "0.2",
                "--seed",
                "7",
            ],
            "make_paper_data",
            {"case": 1, "n_features": 20, "n_samples": 40, "zero_fraction": 0.2}
            | {"random_state": 7},
        ),
    ],
)
def test_each_option_reaches_the_library(
    tmp_path, paper_X, monkeypatch, capsys, argv, target, expected
):
    from cvxvolmin import experiments, robust

    modules = {
        "fit": cvxvolmin,
        "fit_robust": robust,
        "check_scattering": scattering,
        "run_table2": experiments,
        "run_snr_study": robust,
        "run_study": experiments,
        "make_paper_data": cvxvolmin,
    }
    calls = _recorder(monkeypatch, modules[target], target)
    np.save(tmp_path / "X.npy", paper_X[0])
    argv = [a.format(X=tmp_path / "X.npy", d=tmp_path) for a in argv]
    status, _, err = run(argv, capsys)
    assert status == 1 and err.endswith("solver failed: recorded\n")
    ((args, kwargs),) = calls
    for name, value in expected.items():
        assert kwargs[name] == value and type(kwargs[name]) is type(value), name
    if target in ("fit", "fit_robust"):
        np.testing.assert_array_equal(args[0], paper_X[0])
        assert args[1] == 3
        # not given: left to the library's default of each mode
        assert not {"solver", "max_iter", "tol"} - set(expected) & set(kwargs)
    if target == "make_paper_data":
        assert args == (3,)


@pytest.mark.parametrize("experiment", ["table2", "noise", "study"])
def test_experiments_show_progress_only_on_a_terminal(monkeypatch, capsys, experiment):
    from cvxvolmin import experiments, robust

    module, name, argv = {
        "table2": (experiments, "run_table2", ["reproduce", "table2"]),
        "noise": (robust, "run_snr_study", ["reproduce", "noise"]),
        "study": (experiments, "run_study", ["study", "--method", "column-sum"]),
    }[experiment]
    calls = _recorder(monkeypatch, module, name)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run(argv, capsys)
    assert calls[0][1]["progress"] is True


class _FakeBar:
    """Stands in for tqdm on a terminal: records what the bar would show."""

    def __init__(self, options):
        self.options, self.postfixes, self.descriptions, self.updates = options, [], [], 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_postfix_str(self, text):
        self.postfixes.append(text)

    def set_description_str(self, text):
        self.descriptions.append(text)

    def update(self, n):
        self.updates += n


@pytest.fixture
def terminal(monkeypatch):
    """Make the CLI believe stderr is a terminal; returns the bars it opened."""
    from cvxvolmin import cli

    bars = []

    def terminal_bar(enabled=True, **options):
        if not enabled:
            return None
        bars.append(_FakeBar(options))
        return bars[-1]

    monkeypatch.setattr(cli, "terminal_bar", terminal_bar)
    return bars


@pytest.mark.parametrize(
    ("extra", "unit", "name"),
    [([], "sweep", "log|det Q|"), (["--robust"], "iteration", "objective")],
)
def test_fit_on_a_terminal_shows_a_bar_of_sweeps(
    tmp_path, paper_X, capsys, terminal, extra, unit, name
):
    # noisy data: on exact data the robust fit stops before its first iteration
    np.save(tmp_path / "X.npy", cvxvolmin.add_noise(paper_X[0], 30.0, random_state=2))
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--json", *extra]
    status, out, _ = run(argv, capsys)
    assert status == 0
    (bar,) = terminal
    assert bar.options["unit"] == unit and bar.options["desc"] == f"{unit}s"
    assert bar.options["leave"] is False  # cleared when done: the report follows alone
    assert 0 < bar.updates == len(bar.postfixes)
    if not extra:  # one step per sweep (the robust fit also steps through its screened starts)
        assert bar.updates == json.loads(out)["n_iter"]
    assert all(re.fullmatch(rf"{re.escape(name)} = \S+", text) for text in bar.postfixes)
    # --verbose prints each sweep instead: no bar
    terminal.clear()
    assert run([*argv, "--verbose"], capsys)[0] == 0 and terminal == []


def test_check_on_a_terminal_names_its_stage(tmp_path, capsys, terminal):
    np.save(tmp_path / "H.npy", 1.0 + 0.1 * np.random.default_rng(0).uniform(size=(50, 3)))
    status, _, _ = run(["check", str(tmp_path / "H.npy"), "--seed", "0"], capsys)
    assert status == 0
    (bar,) = terminal
    assert bar.options["leave"] is False and "{elapsed}" in bar.options["bar_format"]
    assert bar.descriptions
    assert all(re.fullmatch(r"checking H: \S+ stage", text) for text in bar.descriptions)


# --- main: usage, --help, --version, a closed stdout --------------------------------


@pytest.mark.parametrize(
    ("argv", "status", "stdout"),
    [
        (["--help"], 0, "usage: cvxvolmin "),
        (["fit", "--help"], 0, "usage: cvxvolmin fit "),
        (["--version"], 0, f"cvxvolmin {cvxvolmin.__version__}\n"),
        ([], 2, ""),
        (["reproduce"], 2, ""),
    ],
)
def test_usage_help_and_version_exit_statuses(argv, status, stdout, capsys):
    got, out, err = run(argv, capsys)
    assert got == status and out.startswith(stdout)
    if status == 2:  # a command is required: one line that says which
        (line,) = err.splitlines()
        assert "the following arguments are required" in line and "--help" in line
        assert ("command" in line) if argv == [] else ("{table2,noise}" in line)


class _NoDescriptor:
    """A stdout without a usable file descriptor."""

    def __init__(self, error):
        self.error = error

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def fileno(self):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [OSError(9, "Bad file descriptor"), ValueError("I/O operation on closed file")],
)
def test_closed_output_without_a_descriptor_is_quiet(tmp_path, paper_X, monkeypatch, error):
    np.save(tmp_path / "A.npy", np.abs(paper_X[0]))
    monkeypatch.setattr(cvxvolmin, "fit", _raiser(BrokenPipeError()))
    monkeypatch.setattr(sys, "stdout", _NoDescriptor(error))
    assert main(["fit", str(tmp_path / "A.npy"), "--rank", "2"]) == 1


def test_closed_output_points_stdout_at_devnull(tmp_path, paper_X, monkeypatch):
    # So that the interpreter's last flush of stdout has nowhere to fail.
    import os

    np.save(tmp_path / "A.npy", np.abs(paper_X[0]))
    monkeypatch.setattr(cvxvolmin, "fit", _raiser(BrokenPipeError()))
    with (tmp_path / "stdout.txt").open("w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert main(["fit", str(tmp_path / "A.npy"), "--rank", "2"]) == 1
        assert os.path.samestat(os.fstat(stdout.fileno()), os.stat(os.devnull))
        stdout.write("lost")
    assert (tmp_path / "stdout.txt").read_text() == ""


# --- what the commands print and write ----------------------------------------------


def test_fit_reports_no_convergence_and_the_row_sum_figures(tmp_path, paper_X, capsys):
    X, _ = paper_X
    np.save(tmp_path / "X.npy", X)
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0"]
    status, text, _ = run([*argv, "--max-iter", "1"], capsys)
    assert status == 0
    assert text.startswith("column-sum VolMin, rank 4: NOT converged after 1 sweeps (")
    # row-sum fixes the row sums of H: no column-sum error to report
    with warnings.catch_warnings():  # it warns that the model does not hold: the CLI too
        warnings.simplefilter("ignore")
        api = cvxvolmin.fit(X, 4, formulation="row-sum", random_state=0)
    status, text, _ = run([*argv, "--formulation", "row-sum"], capsys)
    assert status == 0
    assert text.splitlines()[3] == f"  min H = {api.min_H:.3e}"


def test_fit_out_holds_the_apis_arrays_and_check_uses_the_seed(
    tmp_path, paper_X, monkeypatch, capsys
):
    X, _ = paper_X
    np.save(tmp_path / "X.npy", X)
    # --seed seeds the check's sampling too (its verdict here does not depend on it).
    result_class = cvxvolmin.FitResult
    real_check, seeds = result_class.check_scattering, []

    def check_scattering(self, **options):
        seeds.append(options.get("random_state"))
        return real_check(self, **options)

    monkeypatch.setattr(result_class, "check_scattering", check_scattering)
    out = tmp_path / "fit.npz"
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "3", "--check"]
    status, text, _ = run([*argv, "--json", "--out", str(out)], capsys)
    assert status == 0
    api = cvxvolmin.fit(X, 4, random_state=3)
    with np.load(out, allow_pickle=False) as saved:
        for name in ("W", "H", "Q"):
            np.testing.assert_array_equal(saved[name], getattr(api, name))
        np.testing.assert_array_equal(saved["logdet_history"], api.logdet_history)

    def untimed(report):  # the figures without the timings (time_s, stats' *_s)
        report = {k: v for k, v in report.items() if k != "time_s"}
        report["stats"] = {k: v for k, v in report["stats"].items() if not k.endswith("_s")}
        return report

    expected = api.check_scattering(random_state=3).to_dict()
    assert untimed(json.loads(text)["scattering"]) == untimed(expected)
    assert seeds == [3, 3]


def _check_lines(result, shape):
    """The text of `cvxvolmin check`, built from the API's result (time left out)."""
    holds = {True: "holds", False: "fails", None: "not decided"}
    verdict = result.verdict.replace("_", " ") + (
        " (on the boundary)" if result.on_boundary else ""
    )
    lines = [
        f"H ({shape[0]} x {shape[1]}) is {verdict}: {result.reason}",
        f"  condition (1), cone(H^T) contains C: {holds[result.condition1]}",
        f"  condition (2), only the unit rays touch bd C*: {holds[result.condition2]}",
    ]
    if result.margin is not None:
        lines.append(
            f"  margin max ||y|| over the dual slice: {result.margin:.6g} (1 when (1) holds)"
        )
    if result.witness is not None:
        lines.append(f"  witness y = [{', '.join(f'{v:.4g}' for v in result.witness)}]")
    return lines


@pytest.mark.parametrize("case", ["scattered", "not scattered", "on the boundary"])
def test_check_prints_every_figure_of_the_api(tmp_path, capsys, case):
    import itertools

    if case == "scattered":
        H, method = cvxvolmin.make_paper_data(4, random_state=1)[2], "auto"
    elif case == "not scattered":  # condition (2) is then not decided
        H, method = 1.0 + 0.1 * np.random.default_rng(0).uniform(size=(50, 3)), "auto"
    else:  # the hexagon at a = 1/3 touches bd C: on the boundary
        H, method = np.array(list(itertools.permutations((0.0, 1 / 3, 2 / 3)))), "exact"
    np.save(tmp_path / "H.npy", H)
    expected = cvxvolmin.check_scattering(H, method=method, random_state=0)
    argv = ["check", str(tmp_path / "H.npy"), "--seed", "0", "--method", method]
    status, out, err = run(argv, capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[:-1] == _check_lines(expected, H.shape)
    assert re.fullmatch(rf"  method {expected.method}, \d+\.\d{{3}} s", lines[-1])


class _Table:
    """Stands in for a study's result: what the command prints and writes."""

    def __init__(self):
        self.written = []

    def to_markdown(self):
        return "| table |\n"

    def to_dict(self):
        return {"rows": [1]}

    def write(self, path):
        self.written.append(str(path))


@pytest.mark.parametrize("suffix", [".md", ".csv", ".json", ".CSV"])
@pytest.mark.parametrize("json_flag", [False, True])
def test_reproduce_prints_the_table_and_writes_each_format(
    tmp_path, monkeypatch, capsys, suffix, json_flag
):
    from cvxvolmin import experiments

    table = _Table()
    monkeypatch.setattr(experiments, "run_table2", lambda **kwargs: table)
    path = str(tmp_path / f"t{suffix}")
    argv = ["reproduce", "table2", "--out", path] + (["--json"] if json_flag else [])
    status, out, err = run(argv, capsys)
    assert status == 0 and err == ""
    assert table.written == [path]
    assert out == ('{"rows": [1]}\n' if json_flag else "| table |\n")


def test_reproduce_noise_prints_and_plots(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from cvxvolmin import plot, robust

    monkeypatch.setattr(robust, "run_snr_study", lambda **kwargs: _Table())
    status, out, _ = run(["reproduce", "noise"], capsys)
    assert status == 0 and out == "| table |\n"
    status, out, _ = run(["reproduce", "noise", "--json"], capsys)
    assert status == 0 and json.loads(out) == {"rows": [1]}
    # A plot that cannot be written is bad input, naming the file.
    import matplotlib.figure

    monkeypatch.setattr(plot, "snr_study", lambda result: matplotlib.figure.Figure())
    (tmp_path / "x.png").mkdir()
    status, out, err = run(["reproduce", "noise", "--plot", str(tmp_path / "x.png")], capsys)
    assert status == 2 and out == ""
    assert err.splitlines() == [
        f"cvxvolmin reproduce: error: cannot write {tmp_path / 'x.png'}: Is a directory."
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "{d}/X.npy", "--rank", "2", "--out", "{d}/no/f.npz"], "folder of --out"),
        (["reproduce", "noise", "--plot", "{d}/no/x.png"], "folder of --plot"),
    ],
)
def test_an_output_in_a_missing_folder_is_named(tmp_path, paper_X, capsys, argv, message):
    np.save(tmp_path / "X.npy", paper_X[0])
    status, out, err = run([a.format(d=tmp_path) for a in argv], capsys)
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line.endswith(f"error: the {message} does not exist: {tmp_path / 'no'}.")


def test_noise_messages_name_the_fix(monkeypatch, capsys):
    from cvxvolmin import plot, robust

    status, _, err = run(["reproduce", "noise", "--methods", "magic"], capsys)
    assert status == 2
    assert err.rstrip().endswith(f"choose from {', '.join(robust.SNR_METHODS)}.")

    def missing():
        raise ImportError("no matplotlib")

    monkeypatch.setattr(plot, "_import_pyplot", missing)
    status, _, err = run(["reproduce", "noise", "--plot", "x.png"], capsys)
    assert status == 2
    assert err.rstrip().endswith("error: --plot needs matplotlib: pip install 'cvxvolmin[plot]'.")


def test_out_is_written_to_the_name_given(tmp_path, paper_X, capsys):
    # The suffix is matched in any case, and the file is the one named (numpy would
    # write fit.NPZ.npz).
    np.save(tmp_path / "X.npy", paper_X[0])
    out = tmp_path / "fit.NPZ"
    status, text, _ = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--out", str(out)], capsys
    )
    assert status == 0 and text.endswith(f"to {out}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.npy", "fit.NPZ"]
    with np.load(out) as saved:
        assert saved["H"].shape == (60, 4)


# --- .zarr stores (the dask extra) ---------------------------------------------------


def _zarr_H(tmp_path, H):
    """H as a .zarr store of two chunks of rows; returns its path and its chunk files."""
    zarr = pytest.importorskip("zarr")
    store = tmp_path / "H.zarr"
    array = zarr.create_array(
        str(store), shape=H.shape, chunks=(len(H) // 2, H.shape[1]), dtype=H.dtype
    )
    array[:] = H
    metadata = {"zarr.json", ".zarray", ".zattrs", ".zgroup"}
    chunks = sorted(p for p in store.rglob("*") if p.is_file() and p.name not in metadata)
    assert len(chunks) == 2
    return store, chunks


def test_check_of_a_zarr_store_is_the_check_of_its_H_in_memory(tmp_path, capsys):
    H = cvxvolmin.make_paper_data(4, random_state=1)[2]
    store, _ = _zarr_H(tmp_path, H)
    expected = cvxvolmin.check_scattering(H, random_state=0)
    status, out, err = run(["check", str(store), "--seed", "0"], capsys)
    assert status == 0 and err == ""
    assert out.splitlines()[:-1] == _check_lines(expected, H.shape)


def test_a_zarr_chunk_that_cannot_be_decoded_is_bad_input(tmp_path, capsys):
    # The store is read lazily: a damaged chunk shows when check reads H, and is named
    # as the input's fault with the reader's own reason.
    from cvxvolmin.io import load_matrix

    store, chunks = _zarr_H(tmp_path, np.eye(4))
    chunks[1].write_bytes(b"not a chunk")
    with pytest.raises(Exception) as reading:  # whatever the codec raises
        load_matrix(store).compute()
    reason = " ".join(str(reading.value).split())
    status, out, err = run(["check", str(store)], capsys)
    assert status == 2 and out == ""
    assert err.splitlines() == [f"cvxvolmin check: error: cannot read {store}: {reason}."]


@pytest.mark.parametrize("name", ["fit.zarr", "fit.ZARR"])
def test_fit_out_zarr_holds_the_apis_arrays(tmp_path, paper_X, capsys, name):
    zarr = pytest.importorskip("zarr")
    X, _ = paper_X
    np.save(tmp_path / "X.npy", X)
    out = tmp_path / name
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--out", str(out)]
    status, text, _ = run(argv, capsys)
    assert status == 0 and text.endswith(f"  wrote W, H, Q, logdet_history to {out}\n")
    api = cvxvolmin.fit(X, 4, random_state=0)
    group = zarr.open_group(str(out), mode="r")
    expected = {"W": api.W, "H": api.H, "Q": api.Q, "logdet_history": api.logdet_history}
    assert sorted(group.array_keys()) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(group[key]), value)


def test_fit_out_zarr_names_what_is_missing_or_cannot_be_written(
    tmp_path, paper_X, monkeypatch, capsys
):
    zarr = pytest.importorskip("zarr")
    np.save(tmp_path / "X.npy", paper_X[0])
    out = tmp_path / "fit.zarr"
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--out", str(out)]

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zarr, "save_group", full_disk)
    status, out_text, err = run(argv, capsys)
    assert (status, out_text) == (2, "")
    assert err.splitlines() == [
        f"cvxvolmin fit: error: cannot write {out}: No space left on device."
    ]
    monkeypatch.setitem(sys.modules, "zarr", None)  # `import zarr` fails
    status, out_text, err = run(argv, capsys)
    assert (status, out_text) == (2, "")
    assert err.splitlines() == [
        f"cvxvolmin fit: error: writing {out} needs zarr: pip install 'cvxvolmin[dask]'."
    ]


def test_a_write_error_without_an_errno_is_named(tmp_path, monkeypatch, capsys):
    from cvxvolmin import experiments

    class Table(_Table):
        def write(self, path):
            raise OSError("quota exceeded")

    monkeypatch.setattr(experiments, "run_table2", lambda **kwargs: Table())
    status, _, err = run(["reproduce", "table2", "--out", str(tmp_path / "t.md")], capsys)
    assert status == 2
    assert err.splitlines() == [
        f"cvxvolmin reproduce: error: cannot write {tmp_path / 't.md'}: quota exceeded."
    ]


def test_fit_robust_reports_its_stop_its_check_and_its_iterations(tmp_path, paper_X, capsys):
    np.save(tmp_path / "X.npy", cvxvolmin.add_noise(paper_X[0], 30.0, random_state=2))
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--robust"]
    status, text, _ = run([*argv, "--max-iter", "1", "--check"], capsys)
    assert status == 0
    lines = text.splitlines()
    assert lines[0].startswith("robust column-sum VolMin, rank 4: max iter after 1 iterations (")
    assert any(line.startswith("  the fitted H is ") for line in lines)
    # --verbose: the iterations on stderr, stdout still the JSON alone
    status, out, err = run([*argv, "--verbose", "--json"], capsys)
    assert status == 0 and json.loads(out)["stop_reason"]
    assert "iteration 1: objective " in err


def test_check_runs_every_method_it_offers(tmp_path, capsys):
    # Each --method choice is one the checker knows (the parser alone would accept any).
    from cvxvolmin.cli import build_parser

    (method,) = [
        a
        for a in build_parser()._subparsers._group_actions[0].choices["check"]._actions
        if a.dest == "method"
    ]
    np.save(tmp_path / "H.npy", np.vstack([np.eye(3), np.full((1, 3), 1 / 3)]))
    for choice in method.choices:
        status, out, err = run(["check", str(tmp_path / "H.npy"), "--method", choice], capsys)
        assert status == 0 and err == "", (choice, err)
        assert out.startswith("H (4 x 3) is ")
        assert choice == "auto" or f"\n  method {choice}, " in out


_USER_MODULE = """
import cvxvolmin

class Capped(cvxvolmin.ColumnSumVolMin):
    name = "cli-study-capped"
    column_separable = True

    def row_constraints(self, row, reduction):
        return [*super().row_constraints(row, reduction), row.h <= 0.05 * row.unit]

def truth_blind(X, rank, rng):
    return cvxvolmin.fit(X, rank, random_state=rng).H
"""


def test_study_runs_names_parameters_and_a_users_own_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_variants.py").write_text(_USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "study.json"
    argv = [
        "study",
        "--method", "column-sum",
        "--method", "bounded=bounded-abundance:upper=0.05",
        "--method", "capped=my_variants:Capped",
        "--method", "my_variants:truth_blind",
        "--cases", "3", "--trials", "2", "--jobs", "2", "--out", str(out),
    ]  # fmt: skip
    status, printed, err = run(argv, capsys)
    assert status == 0, err
    for label in ("column-sum", "bounded", "capped", "truth_blind"):
        assert f"| {label} | 5 |" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [row["method"] for row in rows] == ["column-sum", "bounded", "capped", "truth_blind"]
    assert all(row["max_mse"] < 1e-20 for row in rows)  # each recovers the paper's H
    # The same study from Python: the CLI holds no logic of its own.
    again = cvxvolmin.run_study({"column-sum": "column-sum"}, cases=(3,), trials=2).row(
        "column-sum", 3, 5
    )
    assert rows[0]["max_mse"] == again.max_mse


def test_study_over_snrs_is_the_noise_study_with_a_users_methods(capsys):
    """study --snr: the robust criterion by name beside any method, on noisy paper data."""
    argv = [
        "study", "--method", "robust-column-sum", "--method", "cs=column-sum",
        "--cases", "3", "--trials", "1", "--snr", "30", "60", "--json",
    ]  # fmt: skip
    status, printed, err = run(argv, capsys)
    assert status == 0, err
    payload = json.loads(printed)
    assert payload["config"]["snrs_db"] == [30.0, 60.0]
    cells = {(row["method"], row["snr_db"]): row["mean_mse"] for row in payload["rows"]}
    assert set(cells) == {(m, s) for m in ("robust-column-sum", "cs") for s in (30.0, 60.0)}
    from cvxvolmin.robust import run_snr_study

    again = run_snr_study(snrs_db=(30, 60), cases=(3,), trials=1, methods=["robust-column-sum"])
    assert cells["robust-column-sum", 30.0] == again.row("robust-column-sum", 3, 5, 30).mean_mse
    status, _, err = run([*argv[:-4], "--snr", "inf"], capsys)
    assert status == 2 and "snrs_db must be a nonempty sequence of finite numbers" in err


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("no-such", r"method 'no-such': unknown method 'no-such'; use one of plain-nmf"),
        ("x=no_such_module:Thing", r"--method 'x=no_such_module:Thing': cannot import module"),
        ("x=json:NoSuchThing", r"module 'json' has no 'NoSuchThing'"),
        ("box:bound", r"parameters are written name=value"),
        ("box:bound=-1", r"bound must be a positive number"),
        # a label is what comes before "=" ahead of the first colon, not after it
        ("row-sum:normalize=a:b", r"normalize must be .*; got 'a:b'"),
    ],
)
def test_study_refuses_bad_methods_in_one_line(method, message, capsys):
    status, _, err = run(["study", "--method", method, "--trials", "1"], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_study_refuses_a_label_given_twice(capsys):
    argv = ["study", "--method", "column-sum", "--method", "column-sum", "--trials", "1"]
    status, _, err = run(argv, capsys)
    assert status == 2 and "given twice; name them label=spec" in err


def test_fit_takes_a_formulation_with_parameters_or_from_a_module(
    tmp_path, paper_X, monkeypatch, capsys
):
    """--formulation name:param=value reaches the library; module:object loads a user's class."""
    X, _ = paper_X
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "my_variants.py").write_text(_USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    cap = float(1.05 * cvxvolmin.fit(X, 4, random_state=0).H.max())  # the truth meets it
    for spec, formulation in (
        (f"bounded-abundance:upper={cap!r}", cvxvolmin.BoundedAbundanceVolMin(upper=cap)),
        ("my_variants:Capped", None),
    ):
        out = tmp_path / "fit.npz"
        argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--seed", "0", "--formulation"]
        status, _, err = run([*argv, spec, "--out", str(out)], capsys)
        assert status == 0, err
        with np.load(out, allow_pickle=False) as saved:
            H = saved["H"]
        if formulation is not None:
            np.testing.assert_array_equal(
                H, cvxvolmin.fit(X, 4, formulation=formulation, random_state=0).H
            )
            assert H.max() <= cap * (1 + 1e-9)
        else:
            assert H.max() <= 0.05 * (1 + 1e-9)  # the module's cap holds


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bounded-abundance:upper", r"--formulation 'bounded-abundance:upper': parameters are"),
        ("bounded-abundance:upper=-1", r"upper"),
        ("box:size=2", r"size"),
        ("no_such_module:Thing", r"cannot import module 'no_such_module'"),
        # parameters make it a formulation's name, however it is spelled
        ("no-such:upper=1", r"unknown formulation 'no-such'"),
        ("bounded-abundance:upper==0.05", r"upper must be a positive number; got '=0.05'"),
        ("json:JSONDecodeError", r"JSONDecodeError needs arguments \(.*\); expose an instance"),
    ],
)
@pytest.mark.parametrize("robust", [False, True])
def test_fit_refuses_a_bad_formulation_spec_in_one_line(
    tmp_path, paper_X, capsys, spec, message, robust
):
    X, _ = paper_X
    np.save(tmp_path / "X.npy", X)
    argv = ["fit", str(tmp_path / "X.npy"), "--rank", "4", "--formulation", spec]
    argv += ["--robust"] if robust else []
    status, _, err = run(argv, capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_formulation_parameters_reach_the_library(tmp_path, paper_X, monkeypatch, capsys):
    """name:p=v,q=w builds the named formulation with both; a bare word is a string."""
    calls = _recorder(monkeypatch, cvxvolmin, "fit")
    np.save(tmp_path / "X.npy", paper_X[0])
    spec = "row-sum:normalize=l1, n_restarts=2"
    status, _, err = run(
        ["fit", str(tmp_path / "X.npy"), "--rank", "3", "--formulation", spec], capsys
    )
    assert status == 1 and err.endswith("solver failed: recorded\n")
    ((_, kwargs),) = calls
    formulation = kwargs["formulation"]
    assert type(formulation) is cvxvolmin.RowSumVolMin
    assert (formulation.normalize, formulation.n_restarts) == ("l1", 2)


class _Tagged(cvxvolmin.ColumnSumVolMin):
    """A formulation with a string parameter, which may hold a colon."""

    name = "cli-tagged"

    def __init__(self, tag: str = "", rho: float = 1.0):
        super().__init__(rho=rho)
        self.tag = tag


def test_study_labels_each_method_and_passes_every_option(tmp_path, monkeypatch, capsys):
    """A label is label=..., else a module:object's object, else the spec as typed."""
    from cvxvolmin import experiments
    from cvxvolmin.formulations import base

    (tmp_path / "my_variants.py").write_text(_USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(base._REGISTRY, _Tagged.name, _Tagged)
    calls = _recorder(monkeypatch, experiments, "run_study")
    argv = [
        "study",
        "--method", "column-sum",
        "--method", "bounded-abundance:upper=0.05",
        "--method", "b=bounded-abundance:upper=0.05",
        "--method", "my_variants:truth_blind",
        "--method", "capped=my_variants:Capped",
        "--method", "cli-tagged:tag=a:b",  # a colon in a value: still the whole spec
        "--cases", "2", "--ranks", "3", "4", "--trials", "2", "--snr", "30",
        "--seed", "7", "--jobs", "2",
    ]  # fmt: skip
    status, _, err = run(argv, capsys)
    assert status == 1 and err.endswith("solver failed: recorded\n")
    ((args, kwargs),) = calls
    methods = args[0]
    assert list(methods) == [
        "column-sum",
        "bounded-abundance:upper=0.05",
        "b",
        "truth_blind",
        "capped",
        "cli-tagged:tag=a:b",
    ]
    assert methods["cli-tagged:tag=a:b"].tag == "a:b"
    assert methods["column-sum"] == "column-sum"
    assert methods["b"].upper == methods["bounded-abundance:upper=0.05"].upper == 0.05
    assert methods["truth_blind"].__name__ == "truth_blind"
    assert methods["capped"].name == "cli-study-capped"
    expected = {"cases": [2], "ranks": [3, 4], "trials": 2, "snrs_db": [30.0], "seed": 7}
    expected |= {"n_jobs": 2, "progress": False}
    for name, value in expected.items():
        assert kwargs[name] == value and type(kwargs[name]) is type(value), name


class _Study:
    """Stands in for run_study's result: Markdown ends in a newline, JSON does not."""

    def to_markdown(self):
        return "| study |\n"

    def to_json(self):
        return '{"rows": []}'


@pytest.mark.parametrize("suffix", [None, ".md", ".MD", ".json", ".JSON"])
@pytest.mark.parametrize("json_flag", [False, True])
def test_study_prints_its_table_once_and_writes_out_by_suffix(
    tmp_path, monkeypatch, capsys, suffix, json_flag
):
    from cvxvolmin import experiments

    monkeypatch.setattr(experiments, "run_study", lambda *args, **kwargs: _Study())
    argv = ["study", "--method", "column-sum"] + (["--json"] if json_flag else [])
    path = None if suffix is None else tmp_path / f"study{suffix}"
    status, out, err = run(argv + ([] if path is None else ["--out", str(path)]), capsys)
    assert status == 0 and err == ""
    # one line end, whether or not the text has its own
    assert out == ('{"rows": []}\n' if json_flag else "| study |\n")
    if path is not None:  # --out follows its suffix, --json the printed text
        is_json = suffix.lower() == ".json"  # x.JSON is JSON too
        assert path.read_text() == ('{"rows": []}' if is_json else "| study |\n")
        path.unlink()
        path.mkdir()  # an --out that cannot be written is named
        status, out, err = run([*argv, "--out", str(path)], capsys)
        assert status == 2 and out == ""
        assert err.splitlines() == [f"cvxvolmin study: error: cannot write {path}: Is a directory."]


@pytest.mark.parametrize("fmt", ["npy", "csv", "mat"])
def test_generate_writes_the_paper_data_exactly(tmp_path, capsys, fmt):
    status, out, err = run(
        [
            "generate",
            str(tmp_path),
            "--rank",
            "3",
            "--case",
            "1",
            "--samples",
            "40",
            "--features",
            "20",
            "--zeros",
            "0.2",
            "--seed",
            "7",
            "--format",
            fmt,
        ],
        capsys,
    )
    assert status == 0 and err == ""
    expected = dict(
        zip(
            "XWH",
            cvxvolmin.make_paper_data(
                3, case=1, n_features=20, n_samples=40, zero_fraction=0.2, random_state=7
            ),
            strict=True,
        )
    )
    if fmt == "mat":
        stored = scipy.io.loadmat(tmp_path / "data.mat")
        read = {name: stored[name] for name in expected}
    else:
        from cvxvolmin.io import load_matrix

        read = {name: load_matrix(tmp_path / f"{name}.{fmt}") for name in expected}
    for name, array in expected.items():
        np.testing.assert_array_equal(read[name], array)  # every digit, in every format
        if fmt == "csv":  # comma-separated, as any CSV reader expects
            np.testing.assert_array_equal(
                np.loadtxt(tmp_path / f"{name}.csv", delimiter=","), array
            )
    assert "X (20 x 40), W (20 x 3), H (40 x 3)" in out and "case 1" in out
    files = [tmp_path / "data.mat"] if fmt == "mat" else [tmp_path / f"{n}.{fmt}" for n in "XWH"]
    assert f" to {', '.join(map(str, files))}: " in out
    # What it wrote is what `fit` and `check` read.
    data = "data.mat" if fmt == "mat" else f"X.{fmt}"
    extra = ["--var", "X"] if fmt == "mat" else []
    status, out, _ = run(
        ["fit", str(tmp_path / data), *extra, "--rank", "3", "--json", "--seed", "0"], capsys
    )
    assert status == 0 and json.loads(out)["fit_error"] < 1e-10


@pytest.mark.parametrize("fmt", ["npy", "csv", "mat"])
def test_generate_names_a_file_it_cannot_write(tmp_path, capsys, fmt):
    blocked = tmp_path / ("data.mat" if fmt == "mat" else f"X.{fmt}")
    blocked.mkdir()
    status, out, err = run(["generate", str(tmp_path), "--format", fmt], capsys)
    assert status == 2 and out == ""
    (line,) = err.splitlines()  # the OS's reason follows (scipy words its own for .mat)
    assert line.startswith(f"cvxvolmin generate: error: cannot write {blocked}: ")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "{missing}"], "no such folder"),
        (["generate", "{tmp}", "--rank", "0"], "rank"),
        (["generate", "{tmp}", "--zeros", "1"], "zero_fraction"),
        (["generate", "{tmp}", "--case", "4"], "invalid choice"),
        (["generate", "{tmp}", "--format", "xlsx"], "invalid choice"),
    ],
)
def test_generate_refuses_bad_input_in_one_line(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, missing=tmp_path / "nowhere") for a in argv]
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_fit_help_lists_the_registered_formulations(capsys):
    assert main(["fit", "--help"]) == 0
    # Whitespace dropped: argparse may wrap a hyphenated name across lines.
    out = "".join(capsys.readouterr().out.split())
    for name in cvxvolmin.available_formulations():
        assert name in out

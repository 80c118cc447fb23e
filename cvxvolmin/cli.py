"""Command-line front end over the public API; it holds no logic of its own.

Exit status, with one line on stderr for every error and never a traceback:

* 0 on success;
* 2 when the input is at fault: a usage error, an unreadable file or
  parameter (:class:`~cvxvolmin.InvalidParameterError`, which includes
  :class:`~cvxvolmin.io.DataFileError`), data the criterion cannot factor
  (:class:`~cvxvolmin.InfeasibleError`, :class:`~cvxvolmin.DegenerateError`),
  or an output file that cannot be written; the line says what is wrong;
* 1 when a solver fails (:class:`~cvxvolmin.SolverFailedError`), and for
  any other exception, which is a bug: the line names it as an internal
  error, to be reported; also, silently, when the reader of stdout goes
  away (``| head``);
* 130 when interrupted (Ctrl-C);
* with ``check --strict``: 3 when H is not sufficiently scattered and 4 when
  the checker is inconclusive, so that a script can branch on the verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .exceptions import (
    DegenerateError,
    InfeasibleError,
    InvalidParameterError,
    SolverFailedError,
)
from .progress import terminal_bar

BAD_INPUT = 2
SOLVER_FAILURE = 1
INTERNAL_ERROR = 1
OUTPUT_CLOSED = 1
INTERRUPTED = 130
# check --strict: the verdict as the exit status.
VERDICT_STATUS = {"sufficiently_scattered": 0, "not_sufficiently_scattered": 3, "inconclusive": 4}

# The input's fault: exit status 2 with the library's own message.
_INPUT_ERRORS = (InvalidParameterError, InfeasibleError, DegenerateError)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, exit status 2."""

    def error(self, message: str):
        self.exit(BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _BadInput(InvalidParameterError):
    """Raised inside a command to exit with status 2 and this message."""


def _one_line(message: object) -> str:
    """A message on one line: stderr carries one line per error."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def _emit_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        first_line = (str(w.message).splitlines() or [w.category.__name__])[0]
        print(f"cvxvolmin: warning: {first_line}", file=sys.stderr)


def _load_input(args: argparse.Namespace):
    from .io import load_matrix

    return load_matrix(
        args.input, var=args.var, transpose=args.transpose, skip_header=args.skip_header
    )


def _check_out_path(out: str | None, suffix: str, option: str = "--out") -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() != suffix:
        raise _BadInput(f"{option} must end in {suffix}; got {out!r}.")
    if not path.parent.exists():
        raise _BadInput(f"the folder of {option} does not exist: {path.parent}.")
    return path


@contextlib.contextmanager
def _writing(path):
    """Report a failed write of an output file as bad input (a folder, a full disk)."""
    try:
        yield
    except OSError as exc:
        raise _BadInput(f"cannot write {path}: {exc.strerror or exc}.") from None


@contextlib.contextmanager
def _sweep_progress(enabled: bool, unit: str = "sweep", name: str = "log|det Q|"):
    """A bar over sweeps (or iterations) on a terminal; yields its callback, or None."""
    bar = terminal_bar(enabled, desc=f"{unit}s", unit=unit, leave=False)
    if bar is None:
        yield None
        return
    with bar:

        def callback(step: int, value: float) -> None:
            bar.set_postfix_str(f"{name} = {value:.8g}")
            bar.update(1)

        yield callback


@contextlib.contextmanager
def _stage_progress():
    """On a terminal, a line naming the checker's current stage and the elapsed time."""
    bar = terminal_bar(leave=False, bar_format="{desc} [{elapsed}]")
    if bar is None:
        yield None
        return
    with bar:

        def progress(stage: str) -> None:
            bar.set_description_str(f"checking H: {stage} stage")

        yield progress


def _cmd_fit(args: argparse.Namespace) -> int:
    from . import fit

    zarr_out = args.out is not None and args.out.lower().endswith(".zarr")
    out = _check_out_path(args.out, ".zarr" if zarr_out else ".npz")
    if args.lam is not None and not args.robust:
        raise _BadInput("--lam weighs the volume term of the robust fit; add --robust.")
    X = _load_input(args)
    if args.robust:
        return _fit_robust(args, X, out)
    with _sweep_progress(enabled=not args.verbose) as callback:
        result = fit(
            X,
            args.rank,
            formulation=_resolve(args.formulation, "--formulation", args.formulation),
            random_state=args.seed,
            verbose=args.verbose,
            callback=callback,
            **_given_mode_options(args),
        )
    arrays = {"Q": result.Q, "logdet_history": np.asarray(result.logdet_history)}
    scattering = _save_and_summarize(args, result, out, arrays)
    if args.json:
        return 0
    print(
        f"{result.formulation.name} VolMin, rank {result.H.shape[1]}: "
        f"{'converged' if result.converged else 'NOT converged'} after {result.n_iter} sweeps "
        f"({result.n_lp_solves} LPs, {result.time_s:.3f} s)"
    )
    print(f"  log|det Q| = {result.logdet:.10g}")
    _print_fit_lines(result, scattering, out, "W, H, Q, logdet_history")
    return 0


def _given_mode_options(args: argparse.Namespace) -> dict:
    """--solver, --max-iter, --tol as given: when left out, the function's own default
    applies (fit's or fit_robust's, which differ; --help states both)."""
    options = {"solver": args.solver, "max_iter": args.max_iter, "tol": args.tol}
    return {name: value for name, value in options.items() if value is not None}


def _fit_robust(args: argparse.Namespace, X, out: Path | None) -> int:
    from .robust import fit_robust

    with _sweep_progress(enabled=not args.verbose, unit="iteration", name="objective") as callback:
        result = fit_robust(
            X,
            args.rank,
            formulation=_resolve(args.formulation, "--formulation", args.formulation),
            lam=args.lam,
            random_state=args.seed,
            verbose=args.verbose,
            callback=callback,
            **_given_mode_options(args),
        )
    scattering = _save_and_summarize(
        args, result, out, {"objective_history": np.asarray(result.history)}
    )
    if args.json:
        return 0
    print(
        f"robust {result.formulation.name} VolMin, rank {result.H.shape[1]}: "
        f"{result.stop_reason.replace('_', ' ')} after {result.n_iter} iterations "
        f"({result.h_solver} H updates, {result.time_s:.3f} s)"
    )
    print(f"  objective = {result.objective:.10g} with lam = {result.lam:.4g}, from {result.init}")
    _print_fit_lines(result, scattering, out, "W, H, objective_history")
    return 0


def _save_and_summarize(args: argparse.Namespace, result, out: Path | None, arrays: dict):
    """Write ``--out``, check the fitted H (``--check``), print the ``--json`` summary.

    Returns the scattering check, or None without ``--check``.
    """
    if out is not None and out.suffix.lower() == ".zarr":
        try:
            import zarr  # noqa: F401 (only checked here, so that the error names the extra)
        except ImportError:
            raise _BadInput(f"writing {out} needs zarr: pip install 'cvxvolmin[dask]'.") from None
        from .io import save_zarr_group

        with _writing(out):  # a dask H (a fit of a store) is written where it lies
            save_zarr_group(out, W=result.W, H=result.H, **arrays)
    elif out is not None:
        # Through a handle: np.savez given a name adds .npz to one that ends in .NPZ.
        with _writing(out), out.open("wb") as handle:
            np.savez(handle, W=result.W, H=result.H, **arrays)
    summary = result.summary()
    scattering = None
    if args.check:
        scattering = result.check_scattering(random_state=args.seed)
        summary["scattering"] = scattering.to_dict()
    if args.json:
        print(json.dumps(summary))
    return scattering


def _print_fit_lines(result, scattering, out: Path | None, written: str) -> None:
    from .formulations import RowSumVolMin

    print(f"  fit error ||X - W H^T|| / ||X|| = {result.fit_error:.3e}")
    if isinstance(result.formulation, RowSumVolMin):  # no column sums to report
        print(f"  min H = {result.min_H:.3e}")
    else:
        print(f"  min H = {result.min_H:.3e}, max |H^T 1 - rho| = {result.colsum_error:.3e}")
    if scattering is not None:
        print(f"  the fitted H is {_verdict_text(scattering)} ({scattering.reason})")
    if out is not None:
        print(f"  wrote {written} to {out}")


def _verdict_text(result) -> str:
    return result.verdict.replace("_", " ") + (" (on the boundary)" if result.on_boundary else "")


def _cmd_check(args: argparse.Namespace) -> int:
    from .scattering import check_scattering

    H = _load_input(args)
    from .data import is_dask

    if is_dask(H):  # a lazy .zarr store: the checker reads H in memory
        from .io import DataFileError

        try:
            H = np.asarray(H.compute())
        except Exception as exc:  # a chunk that cannot be decoded
            raise DataFileError(f"cannot read {args.input}: {_one_line(exc)}.") from None
    with _stage_progress() as progress:
        result = check_scattering(
            H,
            method=args.method,
            tol=args.tol,
            n_samples=args.samples,
            time_limit=args.time_limit,
            random_state=args.seed,
            progress=progress,
        )
    status = VERDICT_STATUS[result.verdict] if args.strict else 0
    if args.json:
        print(json.dumps(result.to_dict()))
        return status
    shape = f"{H.shape[0]} x {H.shape[1]}"
    print(f"H ({shape}) is {_verdict_text(result)}: {result.reason}")
    conditions = {True: "holds", False: "fails", None: "not decided"}
    print(f"  condition (1), cone(H^T) contains C: {conditions[result.condition1]}")
    print(f"  condition (2), only the unit rays touch bd C*: {conditions[result.condition2]}")
    if result.margin is not None:
        print(f"  margin max ||y|| over the dual slice: {result.margin:.6g} (1 when (1) holds)")
    if result.witness is not None:
        witness = ", ".join(f"{v:.4g}" for v in result.witness)
        print(f"  witness y = [{witness}]")
    print(f"  method {result.method}, {result.time_s:.3f} s")
    return status


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .experiments import run_table2

    if args.out is not None:
        if Path(args.out).suffix.lower() not in (".md", ".csv", ".json"):
            raise _BadInput(f"--out must end in .md, .csv or .json; got {args.out!r}.")
        if not Path(args.out).parent.exists():
            raise _BadInput(f"the folder of --out does not exist: {Path(args.out).parent}.")
    result = run_table2(
        ranks=args.ranks, trials=args.trials, seed=args.seed, progress=sys.stderr.isatty()
    )
    if args.out is not None:
        with _writing(args.out):
            result.write(args.out)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.to_markdown(), end="")
    return 0


def _cmd_noise(args: argparse.Namespace) -> int:
    from .robust import SNR_METHODS, run_snr_study

    unknown = [m for m in args.methods if m not in SNR_METHODS]
    if unknown:
        raise _BadInput(f"unknown --methods {unknown}; choose from {', '.join(SNR_METHODS)}.")
    plot_path = _check_out_path(args.plot, ".png", "--plot")
    if plot_path is not None:
        from . import plot

        # Before the study runs: a missing matplotlib must not cost a long run.
        try:
            plot._import_pyplot()
        except ImportError:
            raise _BadInput("--plot needs matplotlib: pip install 'cvxvolmin[plot]'.") from None
    result = run_snr_study(
        snrs_db=args.snr,
        cases=args.cases,
        rank=args.rank,
        trials=args.trials,
        methods=args.methods,
        seed=args.seed,
        progress=sys.stderr.isatty(),
    )
    if plot_path is not None:
        figure = plot.snr_study(result)
        with _writing(plot_path):
            figure.savefig(plot_path, dpi=110)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.to_markdown(), end="")
    return 0


def _resolve(spec: str, option: str, given: str):
    """A name, ``name:param=value,...`` (a formulation with parameters) or ``module:object``."""
    import ast
    import importlib

    from .experiments import METHODS
    from .formulations import available_formulations, get_formulation

    name, colon, rest = spec.partition(":")
    if not colon:
        return name
    if "=" in rest or name in available_formulations() or name in METHODS:
        params = {}
        for item in rest.split(","):
            key, equal, value = item.partition("=")
            if not equal or not key.strip():
                raise _BadInput(f"{option} {given!r}: parameters are written name=value,...")
            try:
                params[key.strip()] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                params[key.strip()] = value.strip()  # a bare word: a string
        return get_formulation(name, **params)
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise _BadInput(f"{option} {given!r}: cannot import module {name!r} ({exc}).") from exc
    try:
        found = getattr(module, rest)
    except AttributeError as exc:
        raise _BadInput(f"{option} {given!r}: module {name!r} has no {rest!r}.") from exc
    if isinstance(found, type):
        try:
            found = found()  # a Formulation class: its defaults
        except TypeError as exc:
            raise _BadInput(
                f"{option} {given!r}: {rest} needs arguments ({exc}); expose an instance."
            ) from exc
    return found


def _study_method(text: str):
    """``[label=]spec`` of ``study --method``; the label defaults to the spec's name."""
    label, spec = text.split("=", 1) if "=" in text.partition(":")[0] else ("", text)
    _, colon, rest = spec.partition(":")
    # module:object is labelled by its object; name:param=value by the whole spec. (Any
    # other spec with a colon, registered name without "=" or unknown name with it, is
    # refused by _resolve.)
    default = rest if colon and "=" not in rest else spec
    return label or default, _resolve(spec, "--method", text)


def _cmd_study(args: argparse.Namespace) -> int:
    from .experiments import run_study

    methods: dict = {}
    for text in args.method:
        label, method = _study_method(text)
        if label in methods:
            raise _BadInput(f"--method label {label!r} given twice; name them label=spec.")
        methods[label] = method
    out = None
    if args.out is not None:
        out = _check_out_path(args.out, ".json" if args.out.lower().endswith(".json") else ".md")
    result = run_study(
        methods,
        cases=args.cases,
        ranks=args.ranks,
        trials=args.trials,
        snrs_db=args.snr,
        seed=args.seed,
        progress=sys.stderr.isatty(),
        n_jobs=args.jobs,
    )
    text = result.to_json() if args.json else result.to_markdown()
    if out is not None:
        with _writing(out):
            out.write_text(
                result.to_json() if out.suffix.lower() == ".json" else result.to_markdown()
            )
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from . import make_paper_data

    folder = Path(args.folder)
    if not folder.is_dir():
        raise _BadInput(f"no such folder: {args.folder}; create it first.")
    X, W, H = make_paper_data(
        args.rank,
        case=args.case,
        n_features=args.features,
        n_samples=args.samples,
        zero_fraction=args.zeros,
        random_state=args.seed,
    )
    factors = {"X": X, "W": W, "H": H}
    if args.format == "mat":
        import scipy.io

        written = [folder / "data.mat"]
        with _writing(written[0]):
            scipy.io.savemat(written[0], factors)
    else:
        written = []
        for name, array in factors.items():
            path = folder / f"{name}.{args.format}"
            written.append(path)
            with _writing(path):
                if args.format == "npy":
                    np.save(path, array)
                else:  # every digit: the CSV holds the same numbers
                    np.savetxt(path, array, delimiter=",", fmt="%.17g")
    shapes = ", ".join(f"{name} ({a.shape[0]} x {a.shape[1]})" for name, a in factors.items())
    print(
        f"wrote {shapes} to {', '.join(map(str, written))}: the paper's case {args.case}, "
        f"X = W H^T, seed {args.seed}"
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import (
        ModelMismatchWarning,
        RowSumVolMin,
        fit,
        get_formulation,
        make_paper_data,
        matched_mse,
    )

    rank, seed = 5, 0
    X, W, H = make_paper_data(rank, case=3, random_state=seed)
    result = fit(X, rank, random_state=seed)
    print(
        "cvxvolmin demo: the paper's case 3 (Gaussian, mixed-sign W), "
        f"M = N = 200, r = {rank}, seed {seed}"
    )
    print(
        "column-sum VolMin recovered H up to permutation and scaling: "
        f"MSE = {matched_mse(H, result.H):.2e}"
    )
    print(
        f"  {result.n_iter} sweeps, {result.n_lp_solves} LPs (cvxpy + HiGHS), "
        f"{result.time_s:.3f} s, fit error {result.fit_error:.1e}"
    )
    # The classic criterion on the same data: l1 normalization is what fails.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classic = fit(
            X, rank, formulation=get_formulation("row-sum", normalize="l1"), random_state=seed
        )
    warned = any(issubclass(w.category, ModelMismatchWarning) for w in caught)
    print(
        "row-sum VolMin (classic), l1-normalized columns: "
        f"MSE = {matched_mse(H, classic.H):.2e}: fails: l1 normalization puts a column on "
        "W's simplex only when W >= 0 (or each row of W has one sign)"
        + ("; it warned so (ModelMismatchWarning)" if warned else "; it did not warn")
    )
    # Some normalization does put mixed-sign data on a simplex: a = W (W^T W)^{-1} 1
    # has W^T a = 1, so a^T x_n = sum(h_n) and x_n / (a^T x_n) = W h_n / sum(h_n),
    # the row-sum model exactly. All-zero columns (a^T x_n = 0) are left out and
    # keep zero rows of H.
    a = W @ np.linalg.solve(W.T @ W, np.ones(rank))
    scale = a @ X
    nonzero = np.any(X != 0, axis=0)
    oracle = fit(
        X[:, nonzero] / scale[nonzero],
        rank,
        formulation=RowSumVolMin(normalize=None),
        random_state=seed,
    )
    H_oracle = np.zeros_like(H)
    H_oracle[nonzero] = oracle.H * scale[nonzero, None]
    print(
        "row-sum VolMin, oracle normalization x_n / (a^T x_n), a = W (W^T W)^{-1} 1: "
        f"MSE = {matched_mse(H, H_oracle):.2e}: recovers H, but needs W, which is unknown "
        "in practice"
    )
    return 0


def _add_input_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "input",
        help=f"{what}: .npy, .csv/.txt (comma or whitespace), .mat or .zarr (read lazily)",
    )
    parser.add_argument(
        "--var",
        help="variable to read from a .mat file or array of a .zarr group (default: the only one)",
    )
    parser.add_argument(
        "--transpose", action="store_true", help="the file stores the other orientation"
    )
    parser.add_argument(
        "--skip-header",
        action="store_true",
        help="skip the first line of a .csv/.txt file (by default it is skipped only when "
        "it holds no number)",
    )


def _default(function, name: str):
    """The default of a keyword of ``function``, for a help text that states it."""
    return inspect.signature(function).parameters[name].default


def _words(values) -> str:
    """A list default as it is typed on the command line: ``10 20 30``."""
    return " ".join(map(str, values))


def build_parser() -> argparse.ArgumentParser:
    """The ``cvxvolmin`` argument parser.

    Its subparsers are of its own class (argparse's default), so every usage error
    is one line. An option without ``default=`` defaults to None.

    Every option that takes a value states its default in its help (and its choices,
    when it has some): %(default)s, or the library's own default when the command
    leaves the keyword to the library.
    """
    from . import __version__

    # From the defining modules: the package-level names may be wrapped or replaced.
    from .factorization import fit as fit_function
    from .formulations import available_formulations
    from .robust import DEFAULT_SNR_METHODS, SNR_METHODS
    from .robust.solver import fit_robust

    parser = _Parser(
        prog="cvxvolmin",
        description="Identifiable matrix factorization X = W H^T by volume minimization.",
    )
    parser.add_argument("--version", action="version", version=f"cvxvolmin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser(
        "fit",
        help="factor a data matrix",
        description="Factor X (M x N, samples as columns) as W H^T by volume minimization.",
    )
    _add_input_arguments(fit, "X, M x N with samples as columns (--transpose: as rows)")
    fit.add_argument("--rank", type=int, required=True, help="number of factors r")
    fit.add_argument(
        "--formulation",
        default="column-sum",
        metavar="SPEC",
        help=(
            f"criterion: a name ({', '.join(available_formulations())}), "
            "name:param=value,... (e.g. bounded-abundance:upper=0.05; a formulation's "
            "parameters default as in its class) or module:object (default %(default)s)"
        ),
    )
    fit.add_argument(
        "--robust",
        action="store_true",
        help="fit noisy data: volume-regularized VolMin (cvxvolmin.fit_robust)",
    )
    fit.add_argument(
        "--lam",
        type=float,
        help="with --robust: weight of the volume term (default: the data-scaled rule)",
    )

    def per_mode(name: str) -> str:
        return f"default {_default(fit_function, name)}; {_default(fit_robust, name)} with --robust"

    fit.add_argument(
        "--solver",
        help="cvxpy solver: LP, or with --robust the QP of a formulation without a fast "
        f"projection ({per_mode('solver')})",
    )
    fit.add_argument(
        "--max-iter",
        type=int,
        help=f"maximum sweeps, or iterations with --robust ({per_mode('max_iter')})",
    )
    fit.add_argument("--tol", type=float, help=f"stopping tolerance ({per_mode('tol')})")
    fit.add_argument("--seed", type=int, help="random seed of the start (default: fresh)")
    fit.add_argument(
        "--out",
        help="write W, H (Q) and the history to this .npz file, or a .zarr group (default: none)",
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object")
    fit.add_argument("--verbose", action="store_true", help="print log|det Q| per sweep")
    fit.add_argument(
        "--check",
        action="store_true",
        help="also check whether the fitted H is sufficiently scattered",
    )
    fit.set_defaults(handler=_cmd_fit)

    check = commands.add_parser(
        "check",
        help="is H sufficiently scattered?",
        description="Decide whether H (N x r, rows are samples) is sufficiently scattered.",
    )
    _add_input_arguments(check, "H, N x r with samples as rows (--transpose: r x N)")
    check.add_argument(
        "--method",
        choices=("auto", "sample", "exact"),
        default="auto",
        help="how to decide: %(choices)s (default %(default)s)",
    )
    check.add_argument(
        "--tol", type=float, default=1e-9, help="boundary tolerance (default %(default)s)"
    )
    check.add_argument(
        "--samples", type=int, default=2000, help="points of bd C to test (default %(default)s)"
    )
    check.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds (default %(default)s)"
    )
    check.add_argument("--seed", type=int, help="random seed of the sampling (default: fresh)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit with the verdict: 0 sufficiently scattered, 3 not, 4 inconclusive "
        "(default: 0 for every verdict)",
    )
    check.set_defaults(handler=_cmd_check)

    reproduce = commands.add_parser(
        "reproduce",
        help="rerun an experiment of the paper",
        description="Rerun an experiment of Fu, Huang and Sidiropoulos (2018).",
    )
    # No dest: nothing reads it, and without one a missing experiment is named by its choices.
    experiments = reproduce.add_subparsers(required=True)
    table2 = experiments.add_parser(
        "table2",
        help="plain NMF, row-sum and column-sum VolMin on the paper's synthetic data",
        description="The paper's Table 2: mean MSE of H over trials, beside the published values.",
    )
    table2.add_argument(
        "--trials", type=int, default=50, help="trials per rank and case (default %(default)s)"
    )
    ranks = [5, 10]
    table2.add_argument(
        "--ranks", type=int, nargs="+", default=ranks, help=f"ranks r (default {_words(ranks)})"
    )
    table2.add_argument(
        "--seed", type=int, default=0, help="root random seed (default %(default)s)"
    )
    table2.add_argument("--json", action="store_true", help="print one JSON object")
    table2.add_argument(
        "--out", help="also write the table to FILE.md, .csv or .json (default: none)"
    )
    table2.set_defaults(handler=_cmd_reproduce)

    noise = experiments.add_parser(
        "noise",
        help="plain NMF, row-sum, exact and robust column-sum VolMin under white noise",
        description=(
            "The paper's three cases plus white Gaussian noise at each SNR: median and mean "
            "MSE of H for each method."
        ),
    )
    snrs = [10, 20, 30, 40, 60]
    noise.add_argument(
        "--snr", type=float, nargs="+", default=snrs, help=f"SNRs in dB (default {_words(snrs)})"
    )
    noise.add_argument(
        "--trials", type=int, default=5, help="trials per case (default %(default)s)"
    )
    noise.add_argument("--rank", type=int, default=5, help="rank r (default %(default)s)")
    cases = [1, 2, 3]
    noise.add_argument(
        "--cases",
        type=int,
        nargs="+",
        choices=cases,
        default=cases,
        help=f"cases, from %(choices)s (default {_words(cases)})",
    )
    methods = list(DEFAULT_SNR_METHODS)
    noise.add_argument(
        "--methods",
        nargs="+",
        default=methods,
        help=f"methods to compare, from {', '.join(SNR_METHODS)} (default {_words(methods)})",
    )
    noise.add_argument("--seed", type=int, default=0, help="root random seed (default %(default)s)")
    noise.add_argument("--json", action="store_true", help="print one JSON object")
    noise.add_argument("--plot", help="also write MSE against SNR to FILE.png (default: none)")
    noise.set_defaults(handler=_cmd_noise)

    study = commands.add_parser(
        "study",
        help="seeded trials of any methods, a user's own included, on the paper's cases",
        description=(
            "Run cvxvolmin.run_study: each --method on every case, rank and trial, scored by "
            "the matched MSE of H. A method is a name (plain-nmf, a registered formulation), "
            "name:param=value,... (a formulation with parameters) or module:object (a "
            "Formulation class or instance, or a callable estimate_H(X, rank, rng), from an "
            "importable module); prefix label= to name it."
        ),
    )
    study.add_argument(
        "--method",
        action="append",
        required=True,
        metavar="[LABEL=]SPEC",
        help="a method to run; repeat for several (required)",
    )
    study.add_argument(
        "--cases",
        type=int,
        nargs="+",
        choices=cases,
        default=cases,
        help=f"the paper's cases, from %(choices)s (default {_words(cases)})",
    )
    study.add_argument("--ranks", type=int, nargs="+", default=[5], help="ranks r (default 5)")
    study.add_argument(
        "--trials", type=int, default=10, help="trials per case and rank (default %(default)s)"
    )
    study.add_argument(
        "--snr",
        type=float,
        nargs="+",
        help="run on noisy copies of the data, white noise at these SNRs in dB (default: clean)",
    )
    study.add_argument("--seed", type=int, default=0, help="root random seed (default %(default)s)")
    study.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes, same records as one (default %(default)s)",
    )
    study.add_argument("--json", action="store_true", help="print one JSON object")
    study.add_argument(
        "--out", help="also write the table to FILE.md, or the records to FILE.json (default: none)"
    )
    study.set_defaults(handler=_cmd_study)

    from .synthetic import make_paper_data

    generate = commands.add_parser(
        "generate",
        help="write the paper's synthetic data X = W H^T to files",
        description=(
            "Write the paper's synthetic data (Table 2's generator: H uniform with a fraction "
            "of zeros, W by case) to FOLDER: X.npy, W.npy, H.npy, or the same as .csv, or one "
            "data.mat holding X, W and H."
        ),
    )
    generate.add_argument("folder", help="an existing folder to write into")
    generate.add_argument("--rank", type=int, default=5, help="rank r (default %(default)s)")
    generate.add_argument(
        "--case",
        type=int,
        choices=cases,
        default=_default(make_paper_data, "case"),
        help="W: 1 sparse nonnegative, 2 dense nonnegative, 3 Gaussian; from %(choices)s "
        "(default %(default)s)",
    )
    generate.add_argument(
        "--features",
        type=int,
        default=_default(make_paper_data, "n_features"),
        help="M, rows of X (default %(default)s)",
    )
    generate.add_argument(
        "--samples",
        type=int,
        default=_default(make_paper_data, "n_samples"),
        help="N, columns of X (default %(default)s)",
    )
    generate.add_argument(
        "--zeros",
        type=float,
        default=_default(make_paper_data, "zero_fraction"),
        help="fraction of zeros in H (default %(default)s)",
    )
    generate.add_argument(
        "--format",
        choices=("npy", "csv", "mat"),
        default="npy",
        help="file format, from %(choices)s (default %(default)s)",
    )
    generate.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    generate.set_defaults(handler=_cmd_generate)

    demo = commands.add_parser(
        "demo",
        help="recover the paper's case 3 (Gaussian W) and print the MSE",
        description=(
            "Fit column-sum VolMin to the paper's case 3 data (mixed-sign W) and report the "
            "recovery, beside row-sum VolMin with l1 normalization (which fails) and with the "
            "oracle normalization (which recovers H but needs W)."
        ),
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors, --help, --version
        return int(exc.code or 0)
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.handler(args)
        except _INPUT_ERRORS as exc:
            status, error = BAD_INPUT, f"error: {_one_line(exc)}"
        except SolverFailedError as exc:
            status, error = SOLVER_FAILURE, f"solver failed: {_one_line(exc)}"
        except KeyboardInterrupt:
            status, error = INTERRUPTED, "interrupted"
        except BrokenPipeError:
            # The reader of stdout went away (e.g. `| head`): nothing left to say.
            # Point stdout at /dev/null so that the interpreter's final flush is quiet.
            with contextlib.suppress(OSError, ValueError):  # stdout may have no descriptor
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return OUTPUT_CLOSED
        except Exception as exc:  # a bug: say so in one line, no traceback
            message = _one_line(exc)
            status = INTERNAL_ERROR
            error = f"internal error: {type(exc).__name__}{': ' if message else ''}{message}"
            error += " (please report it)"
    _emit_warnings(caught)
    if error is not None:
        print(f"cvxvolmin {args.command}: {error}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

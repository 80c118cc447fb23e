"""run_study: a researcher's own methods and data, seeded like Table 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cvxvolmin
from cvxvolmin import InvalidParameterError, run_study
from cvxvolmin.experiments import run_table2


def _shuffled_truth(rank, rng):
    """A user's data source: the paper's case 3 at another size."""
    return cvxvolmin.make_paper_data(rank, case=3, n_features=30, n_samples=50, random_state=rng)


def test_a_study_of_ones_own_variant_and_data_in_three_lines():
    capped = cvxvolmin.get_formulation("bounded-abundance", upper=0.2)
    calls = []

    def mine(X, rank, rng):  # any callable estimate_H(X, rank, rng) -> H
        calls.append(X.shape)
        return cvxvolmin.fit(X, rank, random_state=rng).H

    draw = _shuffled_truth
    study = run_study(
        {"column-sum": "column-sum", "capped": capped, "mine": mine},
        cases={"paper-3": 3, "mine": draw},
        ranks=(3,),
        trials=2,
        n_samples=60,
        n_features=40,
    )
    assert study.config["methods"] == ["column-sum", "capped", "mine"]
    assert study.config["cases"] == ["paper-3", "mine"]
    assert len(study.records) == 3 * 2 * 2 and len(study.rows) == 3 * 2
    # The exact criterion recovers every H, by name or wrapped in a callable;
    # the callable saw the paper's size, then the user's data.
    for method in ("column-sum", "mine"):
        for case in ("paper-3", "mine"):
            assert study.row(method, case, 3).max_mse < 1e-20
    assert calls == [(40, 60)] * 2 + [(30, 50)] * 2
    payload = json.loads(study.to_json())
    assert {row["method"] for row in payload["rows"]} == {"column-sum", "capped", "mine"}
    table = study.to_markdown()
    assert "| capped | 3 |" in table and "case mine" in table


def test_failures_are_recorded_and_the_run_goes_on():
    def broken(X, rank, rng):
        raise RuntimeError("no answer")

    study = run_study(
        {"broken": broken, "column-sum": "column-sum"},
        cases=(3,),
        ranks=(3,),
        trials=2,
        n_samples=40,
        n_features=30,
    )
    row = study.row("broken", 3, 3)
    assert row.n_failed == 2 and np.isnan(row.mean_mse)
    assert dict(row.errors) == {"RuntimeError: no answer": 2}
    assert study.row("column-sum", 3, 3).n_failed == 0
    assert "2/2 failed" in study.to_markdown()


def test_table_2_is_a_configuration_of_the_study_runner():
    """The same seed gives run_table2's trials exactly: one runner, one seeding scheme."""
    config = {"ranks": (3,), "cases": (1, 3), "trials": 2, "n_samples": 50, "n_features": 40}
    table = run_table2(methods=["plain-nmf", "column-sum"], **config)
    study = run_study(["plain-nmf", "column-sum"], **config)
    assert [(r.method, r.rank, r.case, r.trial, r.mse) for r in table.records] == [
        (r.method, r.rank, r.case, r.trial, r.mse) for r in study.records
    ]


def test_trials_do_not_depend_on_the_other_methods_or_cases():
    one = run_study(
        {"cs": "column-sum"}, cases=(3,), ranks=(3,), trials=2, n_samples=40, n_features=30
    )
    more = run_study(
        {"nmf": "plain-nmf", "cs": "column-sum"},
        cases=(1, 3),
        ranks=(3,),
        trials=2,
        n_samples=40,
        n_features=30,
    )
    assert [r.mse for r in one.records] == [
        r.mse for r in more.records if r.method == "cs" and r.case == 3
    ]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"methods": ["no-such-method"]}, r"unknown method 'no-such-method'; use one of plain-nmf"),
        ({"methods": [cvxvolmin.ColumnSumVolMin]}, r"is a class; pass an instance"),
        ({"methods": [lambda X, r, g: X]}, r"label the callable .* with a mapping"),
        ({"methods": {"a": 3}}, r"method 'a': a method must be a name"),
        ({"methods": ["column-sum", "column-sum"]}, r"unique labels"),
        ({"methods": [], "cases": (3,)}, r"nonempty"),
        ({"cases": (4,)}, r"case 4: a case is a paper case number \(\[1, 2, 3\]\)"),
        ({"cases": {"x": "3"}}, r"case 'x'"),
        ({"ranks": (5, 5)}, r"without repeats"),
        ({"ranks": (300,)}, r"rank 300 exceeds"),
        ({"trials": 0}, r"trials"),
        ({"seed": -1}, r"seed must be a nonnegative integer"),
    ],
)
def test_bad_arguments_are_refused_before_any_trial(kwargs, match):
    kwargs = {"methods": ["column-sum"], **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        run_study(kwargs.pop("methods"), **kwargs)


def test_a_draw_that_returns_the_wrong_shapes_is_named():
    def bad(rank, rng):
        X, W, H = _shuffled_truth(rank, rng)
        return X, W, H.T

    with pytest.raises(
        InvalidParameterError, match=r"case 'bad': .*H must be N x rank = \(50, 3\)"
    ):
        run_study(["column-sum"], cases={"bad": bad}, ranks=(3,), trials=1)


def test_worker_processes_give_the_same_records():
    """n_jobs splits the trials between processes; each trial has its own stream."""
    config = {"cases": (1, 3), "ranks": (3,), "trials": 2, "n_samples": 40, "n_features": 30}
    capped = cvxvolmin.get_formulation("bounded-abundance", upper=0.5)
    methods = {"nmf": "plain-nmf", "cs": "column-sum", "capped": capped}
    here = run_study(methods, **config)
    split = run_study(methods, n_jobs=2, **config)
    assert [(r.method, r.case, r.rank, r.trial, r.mse) for r in here.records] == [
        (r.method, r.case, r.rank, r.trial, r.mse) for r in split.records
    ]


def test_worker_processes_need_picklable_methods_and_a_count():
    with pytest.raises(InvalidParameterError, match=r"n_jobs=2 .* picklable .* module level"):
        run_study({"mine": lambda X, rank, rng: X}, cases=(3,), trials=1, n_jobs=2)
    with pytest.raises(InvalidParameterError, match=r"n_jobs"):
        run_study(["column-sum"], cases=(3,), trials=1, n_jobs=0)

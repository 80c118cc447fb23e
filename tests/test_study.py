"""run_study: a researcher's own methods and data, seeded like Table 2."""

from __future__ import annotations

import json
from dataclasses import replace

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
        ({"snrs_db": ()}, r"snrs_db must be a nonempty sequence of finite numbers"),
        ({"snrs_db": (20.0, float("nan"))}, r"clean data\); got \(20\.0, nan\)"),
        ({"snrs_db": "20"}, r"snrs_db must be a nonempty sequence"),
        ({"snrs_db": ("loud",)}, r"snrs_db must be a nonempty sequence"),
        ({"snrs_db": (20, 20.0)}, r"must not repeat an SNR"),
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


def _clean_and_noisy_inputs(snrs):
    """What two recording methods see in a study over ``snrs`` of one user-drawn trial."""
    seen: dict[str, list] = {"a": [], "b": []}

    def recorder(name):
        def estimate(X, rank, rng):
            seen[name].append(X.copy())
            return cvxvolmin.fit(X, rank, random_state=rng).H if snrs is None else X[:rank].T

        return estimate

    drawn = []

    def draw(rank, rng):
        data = _shuffled_truth(rank, rng)
        drawn.append(data[0].copy())
        return data

    study = run_study(
        {"a": recorder("a"), "b": recorder("b")},
        cases={"mine": draw},
        ranks=(3,),
        trials=1,
        snrs_db=snrs,
    )
    return study, drawn[0], seen


def test_every_snr_perturbs_the_same_clean_data_and_every_method_sees_the_same_X():
    _, clean, seen_clean = _clean_and_noisy_inputs(None)
    study, drawn, seen = _clean_and_noisy_inputs((20.0, 40.0))
    np.testing.assert_array_equal(drawn, clean)  # the trial's data do not depend on the noise
    np.testing.assert_array_equal(seen_clean["a"][0], clean)
    assert len(seen["a"]) == len(seen["b"]) == 2
    draws = []
    for k, snr in enumerate((20.0, 40.0)):
        np.testing.assert_array_equal(seen["a"][k], seen["b"][k])  # one noisy X per SNR
        noise = seen["a"][k] - clean
        sigma = cvxvolmin.robust.noise_std(clean, snr)
        # 1500 entries: the sample standard deviation is within a few percent of sigma.
        assert np.std(noise) == pytest.approx(sigma, rel=0.1)
        draws.append((noise / sigma).ravel())
    # Each SNR draws its own noise (not one draw rescaled).
    assert abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 0.2
    assert [r.snr_db for r in study.records] == [20.0, 20.0, 40.0, 40.0]
    assert study.config["snrs_db"] == [20.0, 40.0]
    assert [(row.method, row.snr_db) for row in study.rows] == [
        ("a", 20.0), ("a", 40.0), ("b", 20.0), ("b", 40.0),
    ]  # fmt: skip


def test_noisy_trials_do_not_depend_on_the_other_snrs_or_methods():
    config = {"cases": (3,), "ranks": (3,), "trials": 2, "n_samples": 40, "n_features": 30}
    two = run_study({"cs": "column-sum"}, snrs_db=(20.0, 40.0), **config)
    more = run_study({"nmf": "plain-nmf", "cs": "column-sum"}, snrs_db=(40.0, 30.0, 20.0), **config)

    def by_cell(study):
        return {(r.snr_db, r.trial): r.mse for r in study.records if r.method == "cs"}

    assert by_cell(two) == {key: v for key, v in by_cell(more).items() if key[0] != 30.0}
    assert two.row("cs", 3, 3, 20) == two.rows[0]
    with pytest.raises(KeyError, match=r"snr_db=30"):
        two.row("cs", 3, 3, 30.0)
    with pytest.raises(KeyError, match=r'rank=3\."$'):
        two.row("cs", 3, 3)  # no clean row in a noisy study


def test_the_snr_study_is_a_configuration_of_the_study_runner():
    config = {"cases": (3,), "trials": 1, "n_samples": 60}
    snr = cvxvolmin.robust.run_snr_study(snrs_db=(30.0,), methods=["column-sum"], **config)
    study = run_study(["column-sum"], ranks=(5,), snrs_db=(30.0,), **config)
    timeless = [replace(r, time_s=0.0) for r in snr.records]
    assert timeless == [replace(r, time_s=0.0) for r in study.records]
    assert snr.config == study.config
    # The robust criterion by name, in any study; better than the exact one under noise.
    both = run_study(["column-sum", "robust-column-sum"], ranks=(5,), snrs_db=(30.0,), **config)
    assert both.row("robust-column-sum", 3, 5, 30).mean_mse < 0.5 * snr.rows[0].mean_mse


def test_noisy_rows_say_their_snr_and_clean_ones_do_not():
    config = {"cases": (3,), "ranks": (3,), "trials": 1, "n_samples": 40, "n_features": 30}
    noisy = run_study(["column-sum"], snrs_db=(60.0,), **config)
    clean = run_study(["column-sum"], **config)
    assert noisy.to_dict()["rows"][0]["snr_db"] == 60.0
    assert "snr_db" not in clean.to_dict()["rows"][0]
    assert "snrs_db" not in clean.config
    assert "| column-sum | 3 | 60 |" in noisy.to_markdown()
    assert "SNR" not in clean.to_markdown()


def test_each_study_draws_its_own_figure():
    pytest.importorskip("matplotlib")
    from cvxvolmin import plot

    config = {"cases": (3,), "ranks": (3,), "trials": 1, "n_samples": 40, "n_features": 30}
    noisy = run_study(["column-sum"], snrs_db=(40.0, 60.0), **config)
    clean = run_study(["column-sum"], **config)
    figure = noisy.plot()
    (ax,) = figure.axes
    (line,) = [line for line in ax.get_lines() if line.get_label() == "column-sum"]
    assert list(line.get_xdata()) == [40.0, 60.0]
    np.testing.assert_allclose(
        line.get_ydata(), [noisy.row("column-sum", 3, 3, s).median_mse for s in (40, 60)]
    )
    with pytest.raises(InvalidParameterError, match=r"plot\.snr_study draws it"):
        plot.study(noisy)
    with pytest.raises(InvalidParameterError, match="without ax"):
        noisy.plot(ax=clean.plot())
    with pytest.raises(InvalidParameterError, match="ran on clean data"):
        plot.snr_study(clean)

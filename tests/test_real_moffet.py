"""The Moffett Field example runs and shows what it claims (needs the shared data)."""

from __future__ import annotations

import pytest

METHODS = ("column-sum", "robust", "row-sum")


def test_moffet_example(run_real_example, tmp_path):
    # One run serves every check below: its RESULTS and the output folder.
    run = run_real_example("moffet")["RESULTS"], tmp_path
    check_every_method_ran_and_the_figure_was_written(run)
    check_exact_column_sum_fits_but_warns_about_the_dark_pixels(run)
    check_fit_errors_are_small_and_ordered(run)
    check_spectra_signs(run)
    check_water_map_is_concentrated_on_the_lake(run)
    check_criteria_agree_on_land_and_disagree_on_water(run)
    check_fitted_column_sum_H_is_sufficiently_scattered(run)


def check_every_method_ran_and_the_figure_was_written(run):
    results, out = run
    for method in METHODS:
        assert f"{method}_fit_error" in results, results[f"{method}_said"]
    png = out / "moffet.png"
    assert png.is_file()
    assert 20_000 < png.stat().st_size < 250_000  # a real figure, within the size rule


def check_exact_column_sum_fits_but_warns_about_the_dark_pixels(run):
    results, _ = run
    assert results["column-sum_exact_ok"]
    assert "NoisyColumnsWarning" in results["column-sum_said"]
    # Measured 1374 warned columns against 1356 dark (lake) pixels: the
    # warning is about the lake, so the two counts agree to within 20%.
    n_dark = results["dark_pixel_share"] * 2500
    assert 0.8 * n_dark <= results["column-sum_n_noisy_columns"] <= 1.2 * n_dark
    # The exact criterion factors the rank-3 projection of X exactly, so it
    # matches the best rank-3 error (measured to 1e-12); a wrong W or H
    # cannot reach it.
    assert results["column-sum_fit_error"] == pytest.approx(results["rank_r_svd_error"], rel=1e-6)


def check_fit_errors_are_small_and_ordered(run):
    results, _ = run
    floor = results["rank_r_svd_error"]  # 0.0269
    # Measured 0.0276 (robust) and 0.0304 (row-sum); 0.035 leaves 15% margin
    # for solver rounding, while a collapsed or mismatched fit is above 0.1.
    for method in METHODS:
        assert floor * (1 - 1e-9) <= results[f"{method}_fit_error"] < 0.035


def check_spectra_signs(run):
    results, _ = run
    # The exact criteria let the water spectrum dip below zero (measured
    # -0.9% of its peak for column-sum, -1.0% for row-sum); the volume
    # penalty of the robust fit keeps every spectrum positive (min +4%).
    assert -0.05 < results["column-sum_min_W"] < 0
    assert results["robust_min_W"] > 0


def check_water_map_is_concentrated_on_the_lake(run):
    results, _ = run
    assert 0.4 < results["dark_pixel_share"] < 0.7  # measured 0.54
    for method in METHODS:
        # Measured on land: 0.028 to 0.036; in the lake: 0.49 (column-sum),
        # 0.52 (row-sum), 0.83 (robust). A water map not tied to the lake,
        # or a mislabelled endmember, breaks these by far.
        assert results[f"{method}_water_share_land"] < 0.08
        assert results[f"{method}_water_share_dark"] > 0.4
    assert results["robust_water_share_dark"] > 0.7


def check_criteria_agree_on_land_and_disagree_on_water(run):
    results, _ = run
    pairs = [("column-sum", "row-sum"), ("column-sum", "robust"), ("robust", "row-sum")]
    for first, second in pairs:
        key = f"angle_{first}_vs_{second}"
        # Measured 1.2 to 2.4 degrees on land, 18 to 28 degrees on water.
        assert results[f"{key}_vegetation_deg"] < 3.0
        assert results[f"{key}_soil_deg"] < 3.0
        assert results[f"{key}_water_deg"] > 10.0


def check_fitted_column_sum_H_is_sufficiently_scattered(run):
    results, _ = run
    assert results["column-sum_scattering"] == "sufficiently_scattered"

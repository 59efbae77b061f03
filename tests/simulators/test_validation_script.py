"""scripts/validate_simulator.py and scripts/simulator_doc.py on tiny samples: table shapes, the mass
computation on hand-made rows, the grid refinement, the Yang comparison on a stand-in lab, the doc
blocks."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest

import simulators
import simulators.chemistry
from simulators.chemistry import steady
from tests.simulators.conftest import load_script

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vs():
    return load_script("validate_simulator")


def _cells(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [c.strip() for c in line.strip("|").split("|")]


def test_ranges_table_has_one_row_per_material_and_every_column(vs):
    rows = [vs.figure_ranges("CdSe", n=16)]
    assert rows[0]["n"] == 16
    lo, hi = rows[0]["pl_span_nm"]
    assert 300 < lo <= hi < 900
    assert 0.0 <= rows[0]["fail_no_particles"] + rows[0]["fail_clog"] <= 1.0
    lines = vs.ranges_table(rows).splitlines()
    assert _cells(lines[0]) == list(vs.RANGE_COLUMNS)
    assert len(lines) == 3
    body = _cells(lines[2])
    assert len(body) == len(vs.RANGE_COLUMNS)
    assert body[0] == "CdSe" and body[2] == "430-650"


def test_mass_ratio_on_hand_made_rows(vs):
    # one 3 nm CdSe dot: (pi/6) 27 nm3 x 1e-21 cm3/nm3 x 5.82 g/cm3 / 191.37 g/mol x N_A ~ 259 formula units
    units = math.pi / 6 * 27 * 1e-21 * 5.82 / 191.37 * 6.02214076e23
    assert 240 < units < 270  # REFERENCE.md section 7: "one 3 nm CdSe dot holds ~250 formula units"
    dots_uM = 2.0 / (units * 1e-3)  # 2 mM of formula units in dots
    row = {
        "dots_uM": np.array([dots_uM, dots_uM, dots_uM, np.nan, dots_uM]),
        "diameter_nm": np.array([3.0, 3.0, 3.0, np.nan, 3.0]),
        "size_rsd": np.array([0.0, 0.1, 0.0, np.nan, 0.0]),
        "limiting_mM": np.array([4.0, 4.0, 4.0, 4.0, 4.0]),
        "converted": np.array([0.5, 0.5, 0.25, 0.5, 0.0]),
    }
    r = vs.mass_ratio("CdSe", row)
    assert r[0] == pytest.approx(1.0, rel=1e-9)
    assert r[1] == pytest.approx(1.03, rel=1e-9)  # <d^3> = d^3 (1 + 3 x 0.1^2)
    assert r[2] == pytest.approx(2.0, rel=1e-9)
    assert np.isnan(r[3]) and np.isnan(r[4])  # no dots; nothing converted


def test_mass_balance_reaches_the_slowest_pumps_and_agrees_with_the_histogram(vs):
    res = vs.mass_balance("CdSe", n=8)
    assert res["tau_max_s"] == pytest.approx(250 / 1.5 * 60)  # three streams at 0.5 uL/min, 250 uL
    assert res["n"] == 8 + 16 + 9
    assert res["n_with_dots"] > 0 and res["max_ratio"] > 0
    # d^3 (1 + 3 RSD^2) against the dots' exact third moment: close for typical distributions
    assert res["d3_correction_median_rel_err"] < 0.05


def test_cli_gives_the_same_ratios_as_the_api(vs):
    res = vs.cli_mass_check("CdSe", n=2)
    assert res["n"] == 4
    assert res["same_missing"]
    assert res["n_with_dots"] == 0 or res["max_abs_diff_cli_vs_api"] < 1e-9


def test_refined_grid_is_finer_inside_and_restored_after(vs):
    if "resolution" in __import__("inspect").signature(steady.steady_state_arrays).parameters:
        pytest.skip("the simulator takes a resolution keyword; no patch to check")
    before = steady._grid
    with vs.refined(4) as kw:
        assert kw == {}
        from simulators.chemistry.kinetics import make_time_grid

        fine = make_time_grid(10.0, n_steps=4 * vs._default_steps())
        assert steady._grid(10.0).theta.size == fine.theta.size > make_time_grid(10.0).theta.size
    assert steady._grid is before
    res = vs.convergence("CdSe", n=8)
    assert res["n_compared"] > 0
    assert set(res["d_pl_nm"]) == {"median", "max"}
    assert vs.convergence_table([res]).count("\n") == 2


def test_reversals_and_smoothness(vs):
    assert vs._reversals(np.array([0.0, 1.0, 2.0, 3.0])) == 0
    assert vs._reversals(np.array([0.0, 1.0, 0.0, 1.0])) == 2
    assert vs._reversals(np.array([0.0, 1.0, 1.0, 2.0, np.nan, 3.0])) == 0
    res = vs.smoothness("CdSe", t_span_c=2.0, n_tau=5)
    assert res["temperature_scan"]["t_c"] == (318.0, 320.0, 0.5)
    assert (
        simulators.chemistry.clog_risk(
            "CdSe",
            {
                "temperature": 320.0,
                **{
                    k: res["corner"]["q_total"] * f
                    for k, f in vs.hot_slow_corner("CdSe")["fractions"].items()
                },
            },
        )[0]
        < 1.0
    )


def test_yang_comparison_skips_without_its_lab_and_runs_on_a_stand_in(vs, tmp_path):
    assert "skipped" in vs.yang_comparison(tmp_path / "missing.toml")
    text = (
        (ROOT / "lab" / "examples" / "sim-cdse.toml")
        .read_text()
        .replace('volume = "250 uL"', 'volume = "20 uL"')
    )
    lab = tmp_path / "sim-cdse-small.toml"
    lab.write_text(text)
    res = vs.yang_comparison(lab, n=16)
    assert res["reactor_volume_ul"] == 20.0
    assert set(res["spans"]) == {"diameter_nm", "pl_peak_nm", "pl_fwhm_nm", "plqy"}
    assert 0 < res["n"] <= 16
    tau = 20.0 / sum(res["scan_flows_ul_min"].values()) * 60.0
    assert tau == pytest.approx(9.0)
    assert "Yang 2009" in vs.yang_table(res)


def test_doc_blocks_replace_generated_text_and_keep_hand_written_text():
    doc = load_script("simulator_doc")
    text = (
        "# Title\n\nhand prose\n\n<!-- generated: validation -->\nold numbers\n<!-- end generated: validation -->\n\n"
        "## Quality (PLQY)\n<!-- hand-written: quality -->\nmaterials prose\n<!-- end hand-written -->\n"
    )
    new, appended = doc.replace_blocks(text, {"validation": "new numbers", "numerics": "grid"})
    assert "old numbers" not in new and "new numbers" in new
    assert "hand prose" in new and "## Quality (PLQY)\n<!-- hand-written: quality -->\nmaterials prose" in new
    assert appended == ["numerics"] and new.rstrip().endswith("<!-- end generated: numerics -->")
    again, appended = doc.replace_blocks(new, {"validation": "new numbers", "numerics": "grid"})
    assert again == new and appended == []


def test_calibration_table_lists_every_toml_constant():
    doc = load_script("simulator_doc")
    table = doc.calibration_table("PbS")
    assert "| kinetics.k_conv_ref_s |" in table and "| 1/s |" in table
    assert "| material.density_g_cm3 | 7.6 | g/cm3 | galena, CRC handbook | CRC handbook |" in table
    assert doc.toml_comments('[a]\nx = 1  # one (1/s)\ny = "s"\n') == {"a.x": "one (1/s)"}

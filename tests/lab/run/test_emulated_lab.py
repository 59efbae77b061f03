"""End to end over the wire: `qdlab run --lab emulated.toml` drives the real drivers through pseudo-terminals."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
QDLAB = Path(sys.executable).parent / "qdlab"


# A world whose readings do not depend on when they are taken: no noise, no drift or fouling, no clogs,
# and a heater that settles in seconds. Then the emulated rig reads, at whatever speed its wall clock
# ran (an idle or a loaded machine: the same digits), what the simulated one does, up to the wire's
# rounding (NE-1000 rates go with 4 digits).
STILL_WORLD = "\n[sim]\nnoise = false\ndrift = false\nfaults = false\nheater_time_constant_s = 1.0\n"


def _lab(tmp_path: Path, *, still: bool = True, **replace) -> Path:
    text = (ROOT / "lab/examples/emulated.toml").read_text()
    text = text.replace("/tmp/qdlab-ne1000", str(tmp_path / "ne1000")).replace(
        "/tmp/qdlab-tc", str(tmp_path / "tc")
    )
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "lab.toml"
    path.write_text(text + (STILL_WORLD if still else ""))
    return path


def _sim_lab(tmp_path: Path) -> Path:
    path = tmp_path / "sim-lab.toml"
    path.write_text((ROOT / "lab/examples/sim-cdse.toml").read_text() + STILL_WORLD)
    return path


def _run(args, timeout=240):
    start = time.monotonic()
    proc = subprocess.run([str(QDLAB), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return proc, time.monotonic() - start


def _campaign(tmp_path, budget, lab_args):
    out = tmp_path / f"out-{Path(lab_args[-1]).stem}"
    proc, wall_s = _run(
        [
            "run",
            "campaigns/examples/cdse-green.toml",
            *lab_args,
            "--budget",
            str(budget),
            "--out",
            str(out),
            "--json",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout), wall_s


N_INITIAL = 4  # cdse-green's Sobol start: conditions that do not depend on any measurement


def _experiments(directory):
    from lab.tools.replay import replay

    return replay(Path(directory))["experiments"]


# How far the wire's rounding of the flow rates (4 digits: up to 5e-4 of a rate) moves a figure; a
# wrong condition or unit moves a peak by tens of nm. Measured at most 0.024 nm (abs peak), 1.1e-4 (PLQY).
WIRE = {"pl_peak_nm": 0.3, "abs_peak_nm": 0.3, "pl_fwhm_nm": 0.3, "plqy": 0.003, "diameter_nm": 0.01}


def _compare(emulated, sim):
    """The emulated rig measures what the simulated one does: the same world, read over the wire. Past
    the Sobol start a GP proposal may tell 1e-4 apart, so: identical Sobol conditions, and the same
    figures there up to the wire's rounding."""
    assert emulated["experiments"] == sim["experiments"]
    pairs = list(zip(_experiments(emulated["directory"]), _experiments(sim["directory"])))[:N_INITIAL]
    assert pairs
    for e, s in pairs:
        assert e["conditions"] == pytest.approx(s["conditions"])
        for key, tolerance in WIRE.items():
            if s["outcomes"].get(key) is None:
                assert e["outcomes"].get(key) is None, key
            else:
                assert e["outcomes"][key] == pytest.approx(s["outcomes"][key], abs=tolerance), key


def test_emulated_lab_budget_2_completes_like_the_simulation(tmp_path):
    emulated, wall_s = _campaign(tmp_path, 2, ["--lab", str(_lab(tmp_path))])
    sim, _ = _campaign(tmp_path, 2, ["--lab", str(_sim_lab(tmp_path))])
    _compare(emulated, sim)
    assert not (tmp_path / "ne1000").exists() and not (tmp_path / "tc").exists()  # links cleaned up


@pytest.mark.slow
def test_emulated_lab_budget_5_completes_like_the_simulation(tmp_path):
    emulated, wall_s = _campaign(tmp_path, 5, ["--lab", str(_lab(tmp_path))])
    print(f"\nemulated rig, 5 experiments: {wall_s:.1f} s wall")  # a figure to read, not a threshold
    sim, _ = _campaign(tmp_path, 5, ["--lab", str(_sim_lab(tmp_path))])
    _compare(emulated, sim)


@pytest.mark.slow
def test_a_dead_pump_chain_fails_the_campaign_safely_with_a_clear_message(tmp_path):
    lab = _lab(tmp_path, still=False, **{"faults = []": 'faults = ["hang-after:40"]'})
    proc, _ = _run(
        [
            "run",
            "campaigns/examples/cdse-green.toml",
            "--lab",
            str(lab),
            "--budget",
            "2",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("qdlab: DeviceError:") and "no reply" in last and "check" in last
    # bluesky's traceback of the aborted run goes to the campaign's log file, not to the terminal
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" in (tmp_path / "out" / "qdlab.log").read_text()


def test_the_time_aware_loop_runs_through_the_real_drivers(tmp_path):
    """Steady state detected from spectra read over the wire, proposals overlapping the wait and chosen
    with their cost in mind (heater settles measured on the emulated controller): issue 17, item 6."""
    extra = '\nsteady_state = "detect"\noverlap = true\ncost_aware = true'
    text = (ROOT / "campaigns/examples/cdse-green.toml").read_text()
    text = text.replace('poll_interval = "5 s"', 'poll_interval = "5 s"' + extra)
    assert extra in text
    campaign = tmp_path / "cdse-time-aware.toml"
    campaign.write_text(text)
    out = tmp_path / "out"
    args = [
        "run",
        str(campaign),
        "--lab",
        str(_lab(tmp_path, still=False)),
        "--budget",
        "3",
        "--out",
        str(out),
    ]
    proc, _ = _run([*args, "--json"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    from lab.store.records import experiments_from_documents
    from lab.store.storage import LOG_NAME, read_documents

    records = experiments_from_documents(list(read_documents(out / LOG_NAME)))
    assert [r.index for r in records] == [0, 1, 2]
    for previous, record in zip([None, *records], records):
        assert record.steady_state["reason"] in {"agreed", "bound"} and record.steady_state["probes"] >= 1
        assert record.heater["to_c"] == pytest.approx(record.setpoints["temperature_c"])
        assert record.heater["s"] > 0
        assert "exponent" in record.decision["cost"]
        if previous is not None:  # proposed while the previous experiment ran
            assert record.proposed_with == {"observed": previous.index, "pending": [previous.index]}
    replayed, _ = _run(["replay", str(out), "--json"])
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert json.loads(replayed.stdout)["divergences"] == []

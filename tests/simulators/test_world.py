"""The simulated world through its device backends: transients, lag, faults, noise, determinism."""

import numpy as np
import pytest

from devices.backends import HeaterBackend, PumpBackend, SpectrometerBackend
from devices.clock import SimClock
from models.errors import DeviceError
from simulators import PL_REFERENCE_COUNTS_PER_MS, SimHeater, SimPump, SimSpectrometer, SimWorld


def rig(material="CdSe", seed=1, **kw):
    clock = SimClock()
    world = SimWorld(material, clock=clock, seed=seed, **kw)
    pumps = {s: SimPump(world, s) for s in world.streams}
    heater, spec = SimHeater(world), SimSpectrometer(world)
    for d in (*pumps.values(), heater, spec):
        d.connect()
    return clock, world, pumps, heater, spec


def set_flows(pumps, flows):
    for s, f in flows.items():
        pumps[s].set_flow_ul_min(f)


def pl_spectrum(spec):
    return spec.acquire("pl", source_on=True) - spec.acquire("pl", source_on=False)


def peak_nm(spec):
    wl = spec.wavelengths_nm("pl")
    pl = np.convolve(pl_spectrum(spec), np.ones(9) / 9, mode="same")
    return float(wl[np.argmax(pl)])


def test_backends_implement_the_device_protocols():
    _, world, pumps, heater, spec = rig()
    assert all(isinstance(p, PumpBackend) for p in pumps.values())
    assert isinstance(heater, HeaterBackend)
    assert isinstance(spec, SpectrometerBackend)
    with pytest.raises(DeviceError):
        SimPump(world, "zn")


def test_heater_is_a_slow_first_order_lag():
    clock, world, _, heater, _ = rig(noise=False)
    heater.set_setpoint_c(270.0)
    clock.advance(world.heater_time_constant_s)
    assert heater.temperature_c() == pytest.approx(270.0 - (270.0 - 25.0) / np.e, abs=0.1)
    clock.advance(10 * world.heater_time_constant_s)
    assert heater.temperature_c() == pytest.approx(270.0, abs=0.1)
    assert heater.setpoint_c() == 270.0


def test_pump_dispenses_over_clock_time_and_reads_back():
    clock, _, pumps, _, _ = rig()
    pumps["cd"].set_flow_ul_min(60.0)
    clock.advance(120.0)
    assert pumps["cd"].flow_ul_min() == 60.0
    assert pumps["cd"].dispensed_ul() == pytest.approx(120.0)
    pumps["cd"].stop()
    clock.advance(60.0)
    assert pumps["cd"].dispensed_ul() == pytest.approx(120.0)
    assert pumps["cd"].alarm() is None


def test_spectrum_half_a_residence_time_after_a_flow_change_is_still_the_old_product():
    clock, world, pumps, heater, spec = rig()
    heater.set_setpoint_c(300.0)
    clock.advance(900.0)
    set_flows(pumps, {"cd": 20.0, "se": 20.0, "solvent": 0.0})  # tau 375 s: larger dots (~533 nm)
    clock.advance(5 * 375.0 + 60)
    old = peak_nm(spec)
    new_flows = {"cd": 150.0, "se": 90.0, "solvent": 100.0}  # tau 44 s: smaller dots (~507 nm)
    set_flows(pumps, new_flows)
    q = sum(new_flows.values())
    tau, dead = 250.0 / q * 60.0, 50.0 / q * 60.0
    clock.advance(dead + 0.5 * tau)
    early = peak_nm(spec)
    clock.advance(2.5 * tau)
    late = peak_nm(spec)
    truth = world.evaluate_true({"temperature": 300.0, **{f"flow_{k}": v for k, v in new_flows.items()}})
    assert abs(early - old) < 5.0
    assert abs(late - truth["pl_peak_nm"]) < 6.0
    assert abs(late - early) > 15.0


def test_spectra_are_deterministic_for_a_seed_and_noisy_between_seeds():
    def run(seed):
        clock, _, pumps, heater, spec = rig(seed=seed)
        heater.set_setpoint_c(270.0)
        set_flows(pumps, {"cd": 40.0, "se": 40.0, "solvent": 20.0})
        clock.advance(1200.0)
        return spec.acquire("absorbance", source_on=True), spec.acquire("pl", source_on=True)

    a1, p1 = run(5)
    a2, p2 = run(5)
    a3, _ = run(6)
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    assert not np.array_equal(a1, a3)


def test_absorbance_channel_dark_reference_and_saturation():
    clock, world, pumps, heater, spec = rig(drift=False)
    dark = spec.acquire("absorbance", source_on=False)
    ref = spec.acquire("absorbance", source_on=True)  # only solvent in the cell yet
    assert np.all(ref > dark + 100)
    heater.set_setpoint_c(270.0)
    set_flows(pumps, {"cd": 40.0, "se": 40.0, "solvent": 20.0})
    clock.advance(1500.0)
    sample = spec.acquire("absorbance", source_on=True)
    a = -np.log10(np.clip(sample - dark, 1, None) / (ref - dark))
    wl = spec.wavelengths_nm("absorbance")
    truth = world.evaluate_true(
        {"temperature": 270.0, "flow_cd": 40.0, "flow_se": 40.0, "flow_solvent": 20.0}
    )
    # absorbance rises to the blue and has its band-edge shoulder near the true peak
    assert a[wl < 380].mean() > a[(wl > truth["abs_peak_nm"] + 40)].mean() + 0.2
    spec.set_integration_time_ms("absorbance", 500.0)
    assert spec.acquire("absorbance", source_on=True).max() == spec.saturation_counts()


def test_relative_plqy_from_integrated_counts_matches_truth():
    clock, world, pumps, heater, spec = rig(drift=False, lot_variability=False)
    heater.set_setpoint_c(280.0)
    set_flows(pumps, {"cd": 60.0, "se": 40.0, "solvent": 50.0})
    clock.advance(1800.0)
    cell = world.cell_content()
    counts = np.trapezoid(
        pl_spectrum(spec), spec.wavelengths_nm("pl")
    )  # counts x nm, as models.analysis integrates
    plqy = counts / (
        spec.integration_time_ms("pl") * cell["absorbed_fraction_excitation"] * PL_REFERENCE_COUNTS_PER_MS
    )
    truth = world.evaluate_true(
        {"temperature": 280.0, "flow_cd": 60.0, "flow_se": 40.0, "flow_solvent": 50.0}
    )
    assert plqy == pytest.approx(truth["plqy"], rel=0.1, abs=0.02)


def test_clog_at_an_extreme_corner_raises_pressure_and_stalls_the_pumps():
    clock, world, pumps, heater, spec = rig()
    p_clean = world.pressure_bar()
    heater.set_setpoint_c(320.0)
    set_flows(pumps, {"cd": 10.0, "se": 10.0, "solvent": 0.0})
    clock.advance(300.0)
    p_rising = world.pressure_bar()
    assert p_rising > p_clean
    clock.advance(3600.0)
    assert pumps["cd"].alarm() == "stall"
    assert pumps["cd"].flow_ul_min() == 0.0
    world.clear_clog()
    assert pumps["cd"].alarm() is None and pumps["cd"].flow_ul_min() == 10.0


def test_no_clog_at_ordinary_conditions_without_faults():
    clock, world, pumps, heater, _ = rig(faults=False)
    heater.set_setpoint_c(320.0)
    set_flows(pumps, {"cd": 10.0, "se": 10.0, "solvent": 0.0})
    clock.advance(7200.0)
    assert pumps["cd"].alarm() is None


def test_lamp_drifts_slowly():
    clock, world, *_ = rig(seed=3)
    f0 = world.lamp_factor()
    clock.advance(10 * 3600.0)
    assert 0.7 < world.lamp_factor() < f0


@pytest.mark.parametrize("material", ["PbS", "InP", "CsPbBr3"])
def test_every_material_world_measures(material):
    clock, world, pumps, heater, spec = rig(material)
    d = {s: 40.0 for s in world.streams}
    heater.set_setpoint_c(world.params.temperature_default_c)
    set_flows(pumps, d)
    clock.advance(1500.0)
    pl = pl_spectrum(spec)
    assert pl.sum() > 1000
    assert np.all(np.isfinite(spec.acquire("absorbance", source_on=True)))


def test_every_view_on_a_world_holds_the_worlds_own_lock_and_no_other():
    """The lock is the world's attribute, not an entry in a process-wide table."""
    from simulators.rig import world_lock

    a, b = SimWorld("CdSe", seed=0), SimWorld("CdSe", seed=0)
    views = [SimPump(a, a.streams[0]), SimHeater(a), SimSpectrometer(a)]
    assert all(v._lock is a.lock for v in views) and world_lock(a) is a.lock
    assert a.lock is not b.lock

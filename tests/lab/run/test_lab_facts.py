"""The lab's stocks and hard limits are read from one place (``LabConfig.stocks_mM``, ``pump_limits``,
``heater_limits``), and pre-flight refuses a point by the device layer's own rule, in its words."""

import pytest

import lab.run.session as session_module
from campaigns.conditions import to_setpoints
from campaigns.preflight import iter_points
from devices import HeaterLimits, PumpLimits
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.rig_builder import build_rig
from lab.run.session import CampaignSession
from models.errors import ConfigurationError, SafetyError

SIM_LAB = EXAMPLES["lab"] / "sim-cdse.toml"
CAMPAIGN = EXAMPLES["campaigns"] / "cdse-green.toml"


def _variant(source, tmp_path, name, *replacements):
    text = source.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_stock_and_a_limit_changed_in_the_lab_file_reach_preflight_and_the_rig(tmp_path, monkeypatch):
    lab_path = _variant(
        SIM_LAB,
        tmp_path,
        "lab.toml",
        ('stock = "20 mM"               # Cd oleate', 'stock = "12.5 mM"  # Cd oleate'),
        ('max_rate = "500 uL/min"', 'max_rate = "450 uL/min"'),
        ('max_temperature = "330 degC"', 'max_temperature = "320 degC"'),
    )
    lab = load_lab(lab_path)
    seen = {}
    monkeypatch.setattr(session_module, "preflight", lambda spec, **kw: seen.setdefault("preflight", kw))
    monkeypatch.setattr(session_module, "estimate", lambda spec, **kw: seen.setdefault("estimate", kw))
    session = CampaignSession(
        load_campaign(CAMPAIGN), lab, tmp_path / "run", campaign_source="c", lab_source="l"
    )
    session.preflight(fresh=True)
    built = build_rig(lab, material="CdSe", seed=0)
    try:
        stocks = {"cd": 12.5, "se": 20.0, "solvent": 0.0}
        assert (
            seen["preflight"]["stocks_mM"] == seen["estimate"]["stocks_mM"] == built.rig.stocks_mM == stocks
        )
        assert built.world.stocks_mM["cd"] == pytest.approx(
            12.5, rel=0.2
        )  # the simulated lot drawn around it
        limits = seen["preflight"]["pump_limits"]
        assert limits["cd"] == built.rig.pumps["cd"].limits == PumpLimits(0.5, 450.0, 10_000.0)
        assert {r: built.rig.pumps[r].limits for r in limits} == limits
        assert (
            seen["preflight"]["heater_limits"]
            == built.rig.heater.limits
            == HeaterLimits(20.0, 320.0, 25.0, 2.0)
        )
    finally:
        built.close()


def _first_refused(spec, lab, refused):
    for values in iter_points(spec):
        sp = to_setpoints(
            values, kind=spec.search.kind, reactor_volume_ul=lab.reactor.volume, stocks_mM=lab.stocks_mM
        )
        hit = refused(sp)
        if hit is not None:
            return hit
    raise AssertionError("no point beyond the limits")


@pytest.mark.parametrize("case", ["heater", "pump"])
def test_preflight_and_the_device_refuse_the_same_value_with_the_same_message(tmp_path, case):
    lab = load_lab(SIM_LAB)
    if case == "heater":
        campaign = _variant(CAMPAIGN, tmp_path, "c.toml", ('high = "310 degC"', 'high = "400 degC"'))
        spec = load_campaign(campaign)
        value = _first_refused(spec, lab, lambda sp: sp.temperature_c if sp.temperature_c > 330 else None)
    else:
        campaign = _variant(CAMPAIGN, tmp_path, "c.toml", ('high = "10 min"', 'high = "100 min"'))
        spec = load_campaign(campaign)
        value = _first_refused(
            spec, lab, lambda sp: next(((r, q) for r, q in sp.flows_ul_min.items() if 0 < q < 0.5), None)
        )
    session = CampaignSession(
        spec, lab, tmp_path / "run", campaign_source=str(campaign), lab_source=str(SIM_LAB)
    )
    with pytest.raises(ConfigurationError) as preflight_error:
        session.preflight(fresh=True)
    built = build_rig(lab, material="CdSe", seed=0)
    try:
        with pytest.raises(SafetyError) as device_error:
            if case == "heater":
                built.rig.heater.set(value)
            else:
                built.rig.pumps[value[0]].set(value[1])
    finally:
        built.close()
    assert str(device_error.value) in str(preflight_error.value)
    assert str(preflight_error.value).startswith(str(campaign))
    assert "outside the lab's limits" in str(device_error.value)


def test_a_rate_a_rounding_error_past_a_limit_is_at_it_for_the_pump_as_for_preflight():
    """Pre-flight's allowance for a corner computed a rounding error past a limit is the pump's own."""
    limits = load_lab(SIM_LAB).pump_limits["cd"]
    for ok in (500.0 * (1 + 1e-12), 0.5 * (1 - 1e-12), 0.0, 250.0):
        limits.check_rate("cd", ok)
    for bad in (500.0 * (1 + 1e-6), 0.5 * (1 - 1e-6), 600.0, float("nan")):
        with pytest.raises(SafetyError):
            limits.check_rate("cd", bad)


def test_the_reactor_in_the_lab_file_is_the_world_of_the_rig_and_of_the_bench_truth(tmp_path, monkeypatch):
    # one translation of [reactor] into the simulator's geometry (ReactorConfig.geometry) and one
    # lab-to-world builder (lab.run.world.sim_world): the rig's world and the bench's noise-free truth
    # see the same coil
    import simulators
    from lab.bench import campaign as bench_campaign

    lab_path = _variant(SIM_LAB, tmp_path, "lab.toml", ('volume = "250 uL"', 'volume = "400 uL"'))
    lab = load_lab(lab_path)
    built = build_rig(lab, material="CdSe", seed=0)
    try:
        assert built.world.reactor.reactor_volume_ul == 400.0
        assert built.world.reactor == lab.reactor.geometry()
    finally:
        built.close()
    seen = {}
    real = simulators.evaluate_many

    def spy(material, conditions, **kw):
        seen.update(kw)
        return real(material, conditions, **kw)

    monkeypatch.setattr(simulators, "evaluate_many", spy)
    sp = {"temperature_c": 250.0, "flows_ul_min": {"cd": 40.0, "se": 40.0, "solvent": 20.0}}
    bench_campaign._true_outcomes("CdSe", lab, [sp])
    assert seen["reactor"] == lab.reactor.geometry() and seen["reactor"].reactor_volume_ul == 400.0

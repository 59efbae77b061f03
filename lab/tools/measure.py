"""One noisy measurement on the simulated rig, through the same devices and plans a campaign uses."""

from __future__ import annotations

from typing import Any

from bluesky import RunEngine

from campaigns.conditions import to_setpoints
from campaigns.plans import calibrate, experiment
from campaigns.spec import ProtocolSpec
from lab.config.files import EXAMPLES, load_lab
from lab.run.rig_builder import build_rig

__all__ = ["measure_once"]


def measure_once(material: str, conditions: dict[str, float], *, seed: int = 0) -> dict[str, Any]:
    """Set ``conditions`` (``temperature`` and ``flow_<stream>``; missing ones take the simulator's
    defaults), wait for steady state, measure, analyse. Returns the conditions and measured outcomes."""
    import simulators

    values = {d["name"]: d["default"] for d in simulators.describe(material)}
    values.update(conditions)
    lab = load_lab(EXAMPLES["lab"] / f"sim-{material.lower()}.toml")
    built = build_rig(lab, material=material, seed=seed)
    rig = built.rig
    stocks = lab.stocks_mM
    setpoints = to_setpoints(values, kind="flows", reactor_volume_ul=lab.reactor.volume, stocks_mM=stocks)
    protocol = ProtocolSpec()
    result: dict[str, Any] = {}
    run_engine = RunEngine({}, context_managers=[])
    rig.connect()
    run_engine(calibrate(rig, protocol, flush_flow_ul_min=lab.reactor.volume / 2.0))

    def plan():
        outcomes = yield from experiment(rig, setpoints, protocol, material=material)
        result.update(outcomes)

    run_engine(plan())
    return {
        **values,
        "residence_time_s": setpoints.residence_time_s,
        **{k: v for k, v in result.items() if k != "objective"},
    }

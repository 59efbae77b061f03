"""Reactor time and reagent use from the document log (lab.store.records.resource_use)."""

import pytest

from lab.store.records import ExperimentRecord, completed, experiments_from_documents, resource_use
from lab.store.storage import read_documents


def _run(index, clock=None, exit_status="success", **pumps):
    primary = {} if clock is None else {"timer_time": clock, **pumps}
    return ExperimentRecord(
        index=index,
        uid=f"u{index}",
        parameters={},
        setpoints={},
        decision={},
        outcomes={"plqy": 0.5},
        primary=primary,
        exit_status=exit_status,
    )


def test_use_is_the_growth_of_each_counter_and_of_the_clock():
    runs = [
        _run(0, 1000.0, a_dispensed=200.0, b_dispensed=50.0),
        _run(1, 1600.0, a_dispensed=260.0, b_dispensed=80.0),
    ]
    first, second = resource_use(runs)
    assert first.reactor_s == 1000.0 and first.reagents_ul == {"a": 200.0, "b": 50.0}  # calibration counts
    assert second.reactor_s == 600.0 and second.reagents_ul == {"a": 60.0, "b": 30.0}
    assert second.cumulative_reactor_s == 1600.0 and second.cumulative_reagents_ul == {"a": 260.0, "b": 80.0}
    assert second.reagent_total_ul == 90.0


def test_a_counter_that_restarts_counts_from_zero_and_a_run_without_a_reading_adds_nothing():
    runs = [
        _run(0, 500.0, a_dispensed=100.0),
        _run(1, None, exit_status="abort"),  # stopped before it measured
        _run(1, 300.0, a_dispensed=40.0),  # resumed: a new clock and fresh pump counters
        _run(2, 900.0, a_dispensed=10.0),
    ]  # the syringe was refilled: its counter was cleared
    use = resource_use(runs)
    assert [u.reactor_s for u in use] == [500.0, None, 300.0, 600.0]
    assert [u.reagents_ul.get("a") for u in use] == [100.0, None, 40.0, 10.0]
    assert use[-1].cumulative_reactor_s == 1400.0 and use[-1].cumulative_reagents_ul == {"a": 150.0}
    assert [u.completed for u in use] == [True, False, True, True]


def test_a_pump_without_a_counter_is_counted_as_flow_times_time():
    (only,) = resource_use([_run(0, 120.0, a_flow=30.0)])  # 30 uL/min for 2 min
    assert only.reagents_ul == {"a": pytest.approx(60.0)}


def test_use_of_a_simulated_campaign_matches_its_last_readings(small_campaign):
    runs = experiments_from_documents(read_documents(small_campaign / "documents.jsonl"))
    use = resource_use(runs)
    last = completed(runs)[-1].primary
    assert len(use) == 4 and all(u.reactor_s and u.reactor_s > 0 for u in use)
    assert use[-1].cumulative_reactor_s == pytest.approx(last["timer_time"])
    for pump in ("cd", "se", "solvent"):
        assert use[-1].cumulative_reagents_ul[pump] == pytest.approx(last[f"{pump}_dispensed"])
        assert all(u.reagents_ul[pump] >= 0 for u in use)

"""One incumbent everywhere: a campaign whose unconstrained best violates its outcome constraint, and the
optimiser, the run summary, replay, report, watch and bench all name the same (feasible) experiment."""

import io
import json
from contextlib import redirect_stdout

import pytest

from lab.cli import main
from lab.config.files import campaign_to_data
from lab.tools.replay import replay_data
from lab.store.sources import open_directory
from models.objectives import incumbent, make_objective

OUTCOMES = ("plqy", "pl_fwhm_nm", "pl_peak_nm")


def _json(args: list[str]) -> dict:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(args) == 0
    return json.loads(buf.getvalue())


def _excluding(records, objective, best: int) -> dict:
    """An outcome constraint that the experiment at position ``best`` violates and another one meets."""
    rows = [r.outcome_row() for r in records]
    others = [row for k, row in enumerate(rows) if k != best and objective.value(row) is not None]
    for name in OUTCOMES:
        x = rows[best][name]
        below = [row[name] for row in others if row[name] < x]
        if below:
            return {"outcome": name, "op": "<=", "value": max(below)}
        above = [row[name] for row in others if row[name] > x]
        if above:
            return {"outcome": name, "op": ">=", "value": min(above)}
    raise AssertionError("no outcome separates the best experiment from the others")


@pytest.fixture(scope="module")
def constrained(small_campaign, fast_campaign_file, tmp_path_factory):
    """The small campaign re-run (same seed, Sobol: the same experiments) with an outcome constraint that
    its unconstrained best violates; returns (directory, run summary, unconstrained best index)."""
    data = open_directory(small_campaign)
    objective = make_objective(data.spec.objective)
    free = incumbent(objective, [r.outcome_row() for r in data.records])
    assert free is not None
    c = _excluding(data.records, objective, free)
    tmp = tmp_path_factory.mktemp("constrained")
    path = tmp / "cdse-constrained.toml"
    path.write_text(
        fast_campaign_file.read_text()
        + f'\n[[outcome_constraints]]\noutcome = "{c["outcome"]}"\nop = "{c["op"]}"\nvalue = {c["value"]!r}\n'
    )
    out = tmp / "cdse"
    summary = _json(["run", str(path), "--sim", "--out", str(out), "--budget", "4", "--seed", "1", "--json"])
    return out, summary, data.records[free].index


def test_everyone_names_the_same_feasible_incumbent(constrained, monkeypatch):
    directory, summary, unconstrained = constrained
    data = open_directory(directory)
    spec = data.spec
    assert spec.outcome_constraints
    objective = make_objective(spec.objective)
    rows = [r.outcome_row() for r in data.records]
    expected = data.records[incumbent(objective, rows, spec.outcome_constraints)].index
    assert expected != unconstrained
    assert any(r.index == unconstrained for r in data.records)  # the same experiments as the free run

    # the optimiser, fed the log
    from campaigns.strategy import optimizer_for

    optimizer = optimizer_for(spec)
    optimizer.ingest(rows)
    best_row = optimizer.best()
    assert [r.index for r in data.records if r.outcome_row() == best_row] == [expected]

    # the run summary, replay (--json), report and watch
    assert summary["best"]["index"] == expected
    replayed = _json(["replay", str(directory), "--json"])
    assert not replayed["divergences"]
    assert replayed["best_index"] == expected and replayed["best"]["index"] == expected
    assert _json(["report", str(directory), "--json"])["best"]["index"] == expected
    assert _json(["watch", str(directory), "--once", "--json"])["best"]["index"] == expected

    # bench: its incumbent's true value, with the campaign's rows as the run and the measurements as truth
    import lab.bench.campaign as bench

    runs = [
        {"parameters": r.parameters, "setpoints": r.setpoints, "measured": row, "latency_s": 0.0}
        for r, row in zip(data.records, rows)
    ]
    monkeypatch.setattr(bench, "_sim_campaign", lambda *a, **k: (runs, None))
    monkeypatch.setattr(bench, "_true_outcomes", lambda material, lab, setpoints, world=None: rows)
    result = bench.bench_task(campaign_to_data(spec), data.lab, "sobol", 0, len(rows))
    values = [objective.value(row) for row in rows]
    assert values.count(result["best_true"]) == 1
    assert data.records[values.index(result["best_true"])].index == expected


def test_replay_best_is_null_without_a_feasible_experiment(small_campaign):
    data = open_directory(small_campaign)
    free = replay_data(data)
    assert free["best_index"] is not None and free["best_index"] == free["best"]["index"]
    impossible = [{"outcome": "plqy", "op": ">=", "value": 2.0}]
    data.spec = data.spec.model_copy(update={"outcome_constraints": impossible})
    replayed = replay_data(data)
    assert not replayed["divergences"]
    assert replayed["best"] is None and replayed["best_index"] is None

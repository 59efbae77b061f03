"""A multi-objective campaign records its Pareto front in the log, and replay agrees with it."""

from pathlib import Path

from event_model import DocumentNames, schema_validators

from lab.cli import main
from lab.tools.replay import replay
from lab.store.storage import read_documents

ROOT = Path(__file__).resolve().parents[3]


def test_pareto_front_is_in_the_log_and_replay_agrees(tmp_path, capsys):
    out = tmp_path / "pareto"
    assert (
        main(
            [
                "run",
                str(ROOT / "campaigns/examples/cdse-pareto.toml"),
                "--sim",
                "--out",
                str(out),
                "--budget",
                "8",
            ]
        )
        == 0
    )
    capsys.readouterr()
    docs = list(read_documents(out / "documents.jsonl"))
    for name, doc in docs:
        schema_validators[DocumentNames[name]].validate(doc)
    outcome_streams = {d["uid"] for n, d in docs if n == "descriptor" and d["name"] == "outcomes"}
    fronts = [
        d["data"]["outcomes_pareto_front"]
        for n, d in docs
        if n == "event" and d["descriptor"] in outcome_streams
    ]
    assert len(fronts) == 8
    result = replay(out)
    assert result["divergences"] == []
    assert fronts[-1] == result["pareto_front"] and result["pareto_front"]
    assert result["best"]["index"] in result["pareto_front"]
    # a front only changes by admitting the newest experiment and dropping what it dominates
    for k in range(1, 8):
        assert set(fronts[k]) <= set(fronts[k - 1]) | {k}

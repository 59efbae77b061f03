"""qdlab agent on a real queue server (redis-server and ``qdlab serve`` on loopback, started here): a campaign
driven through one reactor's queue is the campaign ``qdlab run`` makes with the same seed."""

from tests.lab.conftest import main_json


def _replayed(directory) -> dict:
    code, result = main_json(["replay", str(directory), "--json"])
    assert code == 0
    return result


def test_agent_campaign_replays_as_the_direct_run(start_queue, fast_campaign_file, small_campaign, tmp_path):
    """4 experiments, seed 1, through reactor ``a`` (its world seeded as qdlab run seeds it): the replay of its
    directory re-derives every decision, and its conditions and outcomes are the direct run's."""
    queue = start_queue("a", seed=1)
    out = tmp_path / "agent"
    code, summary = main_json(
        ["agent", str(fast_campaign_file), "--sim", "--queue", queue.address, "--out", str(out),
         "--budget", "4", "--seed", "1", "--json"]
    )  # fmt: skip
    assert code == 0, queue.log_text()
    assert summary["experiments"] == 4 and summary["experiments_on"] == {"a": 4}
    agent, direct = _replayed(out), _replayed(small_campaign)
    assert agent["divergences"] == [] and direct["divergences"] == []
    strip = lambda r: [(e["index"], e["conditions"], e["outcomes"]) for e in r["experiments"]]  # noqa: E731
    assert strip(agent) == strip(direct)


def _start_documents(directory) -> list[dict]:
    from lab.store.storage import LOG_NAME, read_documents

    return [doc for name, doc in read_documents(directory / LOG_NAME) if name == "start"]


def test_one_agent_keeps_two_reactors_busy(start_queue, fast_campaign_file, tmp_path):
    """6 experiments on reactors b1 and b2: both run some, every proposal made while the other reactor ran is
    logged with that experiment pending, and replay re-derives every one from the log."""
    queues = [start_queue("b1", seed=11), start_queue("b2", seed=12)]
    out = tmp_path / "two"
    code, summary = main_json(
        ["agent", str(fast_campaign_file), "--sim", "--out", str(out), "--budget", "6", "--seed", "2", "--json",
         *[arg for q in queues for arg in ("--queue", q.address)]]
    )  # fmt: skip
    assert code == 0, "\n".join(q.log_text() for q in queues)
    assert summary["experiments"] == 6
    assert set(summary["experiments_on"]) == {"b1", "b2"} and sum(summary["experiments_on"].values()) == 6
    starts = _start_documents(out)
    assert sorted(d["experiment_index"] for d in starts) == list(range(6))
    batched = [d for d in starts if d.get("proposed_with", {}).get("pending")]
    assert batched, "no proposal accounted for the other reactor's experiment"
    for doc in batched:
        assert doc["decision"]["n_pending"] == len(doc["proposed_with"]["pending"])
    replayed = _replayed(out)
    assert replayed["divergences"] == [] and len(replayed["experiments"]) == 6
    _reads_as_a_run_directory(out, 6)


def _reads_as_a_run_directory(directory, n: int) -> None:
    """watch, export and report read an agent's directory as they read qdlab run's."""
    import csv

    from lab.cli import main

    code, state = main_json(["watch", str(directory), "--once", "--json"])
    assert code == 0 and state["done"] == n and state["complete"] is True, state
    assert main(["export", str(directory), "--csv"]) == 0
    with open(directory / "experiments.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len([r for r in rows if r.get("kind", "experiment") == "experiment"]) == n
    assert main(["report", str(directory)]) == 0
    assert (directory / "report.html").stat().st_size > 0

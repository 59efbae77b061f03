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

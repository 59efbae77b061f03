"""qdlab watch: following a campaign by tailing its log, and the state it shows."""

import io
import json
import shutil
import threading
from contextlib import redirect_stdout

from rich.console import Console

from lab.cli import main
from lab.config.files import load_campaign
from lab.store.storage import read_documents
from lab.view.watch import LogTail, campaign_state, render_state, watch


def test_watch_once_json_reports_the_finished_campaign(small_campaign, capsys):
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["watch", str(small_campaign), "--once", "--json"]) == 0
    state = json.loads(buf.getvalue())
    assert state["done"] == 4 and state["budget"] == 4 and state["complete"] is True
    assert state["running"] is None and state["eta_s"] is None
    assert main(["replay", str(small_campaign), "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert state["best"]["index"] == replayed["best"]["index"]
    assert state["best"]["conditions"] == replayed["best"]["conditions"]


def test_state_mid_experiment_shows_current_conditions_and_eta(small_campaign):
    docs = list(read_documents(small_campaign / "documents.jsonl"))
    starts = [i for i, (n, d) in enumerate(docs) if n == "start"]
    cut = starts[2] + 1  # experiments 0 and 1 done, 2 just started
    spec = load_campaign(small_campaign / "campaign.toml")
    state = campaign_state(spec, docs[:cut], now=docs[starts[2]][1]["time"] + 10.0)
    assert state.done == 2 and not state.complete
    assert state.running["index"] == 2 and state.running["conditions"] == docs[starts[2]][1]["conditions"]
    assert state.running["since_s"] == 10.0
    assert state.eta_s is not None and state.eta_s > 0
    console = Console(file=io.StringIO(), width=200)
    console.print(render_state(state))
    text = console.file.getvalue()
    assert "2/4" in text and "running experiment 2" in text and "now" in text and "temperature" in text


def test_log_tail_returns_only_whole_lines(tmp_path):
    log = tmp_path / "documents.jsonl"
    log.write_bytes(b'{"name":"start","doc":{"uid":"a"}}\n{"name":"stop","do')
    tail = LogTail(log)
    assert tail.poll() == [("start", {"uid": "a"})]
    assert tail.poll() == []
    with open(log, "ab") as f:
        f.write(b'c":{"uid":"b"}}\n')
    assert tail.poll() == [("stop", {"uid": "b"})]


def test_watch_follows_a_growing_log_until_the_budget_is_done(small_campaign, tmp_path):
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(small_campaign / "campaign.toml", live / "campaign.toml")
    lines = (small_campaign / "documents.jsonl").read_bytes().splitlines(keepends=True)
    (live / "documents.jsonl").write_bytes(b"")
    result = {}
    console = Console(file=io.StringIO(), width=160)
    watcher = threading.Thread(
        target=lambda: result.update(state=watch(live, interval_s=0.05, console=console))
    )
    watcher.start()
    step = max(1, len(lines) // 8)
    for i in range(0, len(lines), step):
        with open(live / "documents.jsonl", "ab") as f:
            f.write(b"".join(lines[i : i + step]))
        watcher.join(timeout=0.1)
        assert watcher.is_alive() or i + step >= len(lines)
    watcher.join(timeout=20)
    assert not watcher.is_alive()
    assert result["state"].complete and result["state"].done == 4


def test_watch_of_a_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "nope"), "--once"]) == 2
    assert "no such campaign directory" in capsys.readouterr().err


def _docs_and_starts(small_campaign):
    docs = list(read_documents(small_campaign / "documents.jsonl"))
    return docs, [i for i, (n, _) in enumerate(docs) if n == "start"]


def _lines(docs):
    return [(json.dumps({"name": n, "doc": d}) + "\n").encode() for n, d in docs]


def _aborted(docs, starts):
    """Experiments 0 and 1 logged, then experiment 2 started and closed with abort (one Ctrl-C)."""
    start = docs[starts[2]][1]
    stop = {
        "uid": "stop-abort",
        "time": start["time"] + 5.0,
        "run_start": start["uid"],
        "exit_status": "abort",
        "reason": "stopped by SIGINT",
        "num_events": {},
    }
    return docs[: starts[2] + 1] + [("stop", stop)]


def _watch_in_thread(directory, **kwargs):
    result = {}
    console = Console(file=io.StringIO(), width=100)
    thread = threading.Thread(
        target=lambda: result.update(state=watch(directory, interval_s=0.05, console=console, **kwargs))
    )
    thread.start()
    return thread, result, console


def test_watch_waits_for_a_campaign_that_is_not_there_yet(small_campaign, tmp_path):
    # qdlab run takes seconds to import its stack and write the directory: watch waits, not fails
    live = tmp_path / "later"
    thread, result, console = _watch_in_thread(live)
    thread.join(timeout=0.5)
    assert thread.is_alive()
    live.mkdir()
    thread.join(timeout=0.3)
    assert thread.is_alive()
    shutil.copy(small_campaign / "campaign.toml", live / "campaign.toml")
    thread.join(timeout=0.3)
    assert thread.is_alive()
    lines = (small_campaign / "documents.jsonl").read_bytes().splitlines(keepends=True)
    for i in range(0, len(lines), 5):
        with open(live / "documents.jsonl", "ab") as f:
            f.write(b"".join(lines[i : i + 5]))
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert result["state"].status == "finished" and result["state"].done == 4
    shown = console.file.getvalue()
    assert f"waiting for {live}" in shown and "finished" in shown


def test_watch_says_stopped_and_exits_when_the_last_run_was_aborted(small_campaign, tmp_path):
    docs, starts = _docs_and_starts(small_campaign)
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(small_campaign / "campaign.toml", live / "campaign.toml")
    (live / "documents.jsonl").write_bytes(b"")
    thread, result, console = _watch_in_thread(live)
    lines = _lines(_aborted(docs, starts))
    for i in range(0, len(lines), 3):  # the log grows while the watcher looks
        with open(live / "documents.jsonl", "ab") as f:
            f.write(b"".join(lines[i : i + 3]))
        thread.join(timeout=0.1)
    thread.join(timeout=20)
    assert not thread.is_alive()
    state = result["state"]
    assert state.status == "stopped" and state.done == 2 and not state.complete
    assert "abort" in state.reason and "SIGINT" in state.reason
    shown = console.file.getvalue().replace("\n", "")
    assert "stopped: experiment 2 closed with abort" in shown and f"qdlab resume {live}" in shown


def test_watch_says_stopped_when_the_log_stops_growing(small_campaign, tmp_path):
    # a run killed mid-experiment (kill -9, power cut) leaves an open run and a log that no longer grows
    docs, starts = _docs_and_starts(small_campaign)
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(small_campaign / "campaign.toml", live / "campaign.toml")
    (live / "documents.jsonl").write_bytes(b"".join(_lines(docs[: starts[2] + 1])))
    thread, result, _ = _watch_in_thread(live, stale_after_s=0.5)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert result["state"].status == "stopped" and "has not grown" in result["state"].reason


def test_state_of_stopped_running_and_finished_campaigns(small_campaign):
    docs, starts = _docs_and_starts(small_campaign)
    spec = load_campaign(small_campaign / "campaign.toml")
    t = docs[starts[2]][1]["time"]
    running = campaign_state(spec, docs[: starts[2] + 1], now=t + 10.0)
    assert running.status == "running" and running.running["index"] == 2
    crashed = campaign_state(spec, docs[: starts[2] + 1], now=t + 10_000.0)
    assert crashed.status == "stopped" and "has not grown" in crashed.reason
    aborted = campaign_state(spec, _aborted(docs, starts), now=t + 6.0)
    assert aborted.status == "stopped" and "abort" in aborted.reason
    finished = campaign_state(spec, docs, now=t + 10_000.0)
    assert finished.status == "finished" and finished.complete
    assert campaign_state(spec, [], now=t).status == "starting"


def test_stale_limit_scales_with_how_fast_the_log_runs(small_campaign):
    from lab.store.records import experiments_from_documents, resource_use
    from lab.view.watch import STALE_FLOOR_S, stale_after_s

    docs, starts = _docs_and_starts(small_campaign)
    spec = load_campaign(small_campaign / "campaign.toml")
    runs = experiments_from_documents(docs[: starts[2] + 1])
    # simulated time: experiments take well under a second of wall time for an hour of reactor time
    assert stale_after_s(spec, runs, resource_use(runs)) == STALE_FLOOR_S
    # at wall speed (a real rig), the limit is the longest an experiment may take
    for r, u in zip(runs, resource_use(runs)):
        if u.reactor_s:
            r.stop_time = r.time + u.reactor_s
    tau = runs[-1].setpoints["residence_time_s"]
    p = spec.protocol
    limit = stale_after_s(spec, runs, resource_use(runs))
    assert limit >= 2 * (p.heater_timeout + p.clog_recovery + p.residence_times * tau)


def test_watch_once_of_a_directory_without_a_campaign_yet_says_waiting(tmp_path, capsys):
    (tmp_path / "soon").mkdir()
    assert main(["watch", str(tmp_path / "soon"), "--once"]) == 0
    assert f"waiting for {tmp_path / 'soon'}" in capsys.readouterr().out.replace("\n", "")

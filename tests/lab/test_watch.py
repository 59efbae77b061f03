"""qdlab watch: following a campaign by tailing its log, and the state it shows."""

import io
import json
import shutil
import threading
from contextlib import redirect_stdout

from rich.console import Console

from lab.cli import main
from lab.files import load_campaign
from lab.storage import read_documents
from lab.watch import LogTail, campaign_state, render_state, watch


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
    watcher = threading.Thread(target=lambda: result.update(state=watch(live, interval_s=0.05, console=console)))
    watcher.start()
    step = max(1, len(lines) // 8)
    for i in range(0, len(lines), step):
        with open(live / "documents.jsonl", "ab") as f:
            f.write(b"".join(lines[i:i + step]))
        watcher.join(timeout=0.1)
        assert watcher.is_alive() or i + step >= len(lines)
    watcher.join(timeout=20)
    assert not watcher.is_alive()
    assert result["state"].complete and result["state"].done == 4


def test_watch_of_a_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "nope"), "--once"]) == 2
    assert "no such campaign directory" in capsys.readouterr().err

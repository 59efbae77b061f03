"""The document log: one fsync'd line per document, torn tails set aside, one writer at a time."""

import json

import numpy as np
import pytest

from lab.store.storage import DocumentLog, read_documents
from models.errors import LogError


def test_documents_are_sanitised_one_line_each(tmp_path):
    with DocumentLog(tmp_path) as log:
        log(
            "start", {"uid": "a", "time": 1.0, "x": np.float64(2.5), "arr": np.arange(3), "bad": float("nan")}
        )
        log("stop", {"uid": "b", "run_start": "a", "time": 2.0, "exit_status": "success"})
    lines = (tmp_path / "documents.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["start", "stop"]
    first = json.loads(lines[0])["doc"]
    assert first["arr"] == [0, 1, 2] and first["x"] == 2.5 and first["bad"] is None
    assert [n for n, _ in read_documents(tmp_path / "documents.jsonl")] == ["start", "stop"]


def test_torn_last_line_is_skipped_on_read_and_set_aside_on_open(tmp_path):
    with DocumentLog(tmp_path) as log:
        log("start", {"uid": "a", "time": 1.0})
    path = tmp_path / "documents.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"name": "event", "doc": {"uid": "tor')  # power cut mid-write
    assert [n for n, _ in read_documents(path)] == ["start"]
    with DocumentLog(tmp_path) as log:
        log("stop", {"uid": "b", "run_start": "a", "time": 2.0, "exit_status": "success"})
    assert [n for n, _ in read_documents(path)] == ["start", "stop"]
    assert (tmp_path / "documents.torn").read_bytes().startswith(b'{"name": "event"')


def test_corrupted_line_in_the_middle_names_the_line(tmp_path):
    path = tmp_path / "documents.jsonl"
    path.write_text('{"name": "start", "doc": {}}\nGARBAGE\n{"name": "stop", "doc": {}}\n')
    with pytest.raises(LogError, match="line 2"):
        list(read_documents(path))


def test_second_writer_is_refused(tmp_path):
    with DocumentLog(tmp_path):
        with pytest.raises(LogError, match="another qdlab process"):
            DocumentLog(tmp_path).open()
    DocumentLog(tmp_path).open().close()  # free again once the first closed


def test_missing_log_is_a_log_error(tmp_path):
    with pytest.raises(LogError, match="no such document log"):
        list(read_documents(tmp_path / "nope.jsonl"))


def test_one_answer_to_is_this_a_campaign_directory(tmp_path):
    from lab.store.storage import campaign_dir_problem, is_campaign_dir

    assert campaign_dir_problem(tmp_path / "nope") == f"{tmp_path / 'nope'}: no such campaign directory"
    assert campaign_dir_problem(tmp_path) == (
        f"{tmp_path}: not a campaign directory (missing campaign.toml, documents.jsonl)"
    )
    (tmp_path / "campaign.toml").write_text("")
    (tmp_path / "documents.jsonl").write_text("")
    assert campaign_dir_problem(tmp_path) is None and is_campaign_dir(tmp_path)
    needs = ("campaign.toml", "lab.toml", "documents.jsonl")  # what resume reads
    assert (
        campaign_dir_problem(tmp_path, needs=needs)
        == f"{tmp_path}: not a campaign directory (missing lab.toml)"
    )

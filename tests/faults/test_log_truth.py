"""The log stays the truth: a gap, another campaign's documents or documents out of order are named in one
line (file, line, what is wrong, exit 2) by resume, replay, report and watch alike; resume re-runs a
missing experiment under its own number; the reactor model a campaign ran with is recorded and resume
uses it or refuses."""

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

from lab.cli import main
from lab.store.records import completed, experiments_from_documents
from lab.store.storage import read_documents
from tests.lab.conftest import finished_campaign, run_sim

BUDGET = 4
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, campaign_file) -> Path:
    """A finished 4-experiment campaign (copy it before changing it)."""
    return finished_campaign(tmp_path_factory, "finished", campaign_file, BUDGET, "--seed", "2")


def copy_of(finished: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    out = tmp_path / "cdse"
    shutil.copytree(finished, out)
    return out, (out / "documents.jsonl").read_text().splitlines(keepends=True)


def entries(lines: list[str]) -> list[tuple[str, dict]]:
    return [(e["name"], e["doc"]) for e in map(json.loads, lines)]


def experiment_lines(lines: list[str], index: int) -> list[int]:
    """Positions (from 0) of every line of experiment ``index``'s run."""
    docs = entries(lines)
    (run,) = [d["uid"] for n, d in docs if n == "start" and d.get("experiment_index") == index]
    descriptors = {d["uid"] for n, d in docs if n == "descriptor" and d["run_start"] == run}
    return [
        i
        for i, (n, d) in enumerate(docs)
        if d.get("uid") == run or d.get("run_start") == run or d.get("descriptor") in descriptors
    ]


def refused(capsys, *argv) -> str:
    """The command exits 2 with one line on stderr; returns it."""
    capsys.readouterr()
    code = main(list(map(str, argv)))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


READERS = [("replay",), ("report",), ("watch", "--once")]


# ----- a gap: one experiment's lines lost from the middle -----


def test_a_gap_is_named_by_every_reader_and_resume_re_runs_it_under_its_own_number(
    finished, tmp_path, capsys
):
    out, lines = copy_of(finished, tmp_path)
    lost = experiment_lines(lines, 2)
    kept = [line for i, line in enumerate(lines) if i not in lost]
    (out / "documents.jsonl").write_text("".join(kept))
    after_hole = lost[0] + 1  # the line that now follows the hole: experiment 3's start
    for reader in READERS:
        err = refused(capsys, reader[0], out, *reader[1:])
        assert f"{out}/documents.jsonl: line {after_hole}: experiment 2 missing" in err, err
        assert f"qdlab resume {out} re-runs it" in err
    uid_3 = [d["uid"] for n, d in entries(kept) if n == "start" and d.get("experiment_index") == 3]

    capsys.readouterr()
    assert main(["resume", str(out)]) == 0
    assert "experiment 2 missing from the log: re-running it under the same number" in capsys.readouterr().err
    runs = experiments_from_documents(read_documents(out / "documents.jsonl"))
    assert sorted(r.index for r in runs if r.completed) == list(
        range(BUDGET)
    )  # each once, nothing renumbered
    assert [r.uid for r in completed(runs) if r.index == 3] == uid_3  # experiment 3 is still the one it was
    assert [r.index for r in runs][-1] == 2  # the re-run comes after what was proposed before it
    capsys.readouterr()
    assert main(["replay", str(out), "--json"]) == 0
    # the re-run is re-derived (in the order it was learnt); experiment 3 was proposed after the lost
    # experiment 2, whose outcomes are gone: that divergence is the truth, and replay says so
    assert [d["index"] for d in json.loads(capsys.readouterr().out)["divergences"]] == [3]


# ----- another campaign's documents appended -----


def test_another_campaigns_documents_appended_are_refused_by_resume_and_every_reader(
    finished, tmp_path, capsys
):
    out, lines = copy_of(finished, tmp_path)
    fresh: dict[str, str] = {}
    other = UUID.sub(lambda m: fresh.setdefault(m.group(0), str(uuid.uuid4())), "".join(lines))  # new ids
    (out / "documents.jsonl").write_text("".join(lines) + other)
    first_foreign = len(lines) + 1
    for command in [("resume",), *READERS]:
        err = refused(capsys, command[0], out, *command[1:])
        assert f"{out}/documents.jsonl: line {first_foreign}: a run of another campaign" in err, err
        assert "another log was appended to this one" in err


# ----- documents out of order -----


def _swap_outcomes_event_before_its_descriptor(lines):
    """Experiment 1's outcomes event moved in front of its descriptor (it would be dropped unread)."""
    docs = entries(lines)
    at = experiment_lines(lines, 1)
    (d,) = [i for i in at if docs[i][0] == "descriptor" and docs[i][1]["name"] == "outcomes"]
    (e,) = [i for i in at if docs[i][0] == "event" and docs[i][1]["descriptor"] == docs[d][1]["uid"]]
    lines = list(lines)
    lines.insert(d, lines.pop(e))
    return lines, d + 1, "an event before its descriptor"


def _stop_before_its_start(lines):
    at = experiment_lines(lines, 1)
    lines = list(lines)
    lines.insert(at[0], lines.pop(at[-1]))
    return lines, at[0] + 1, "a stop document before its run's start"


@pytest.mark.parametrize(
    "disorder",
    [_swap_outcomes_event_before_its_descriptor, _stop_before_its_start],
    ids=["event before descriptor", "stop before start"],
)
def test_documents_out_of_order_are_named_with_their_line(finished, tmp_path, capsys, disorder):
    out, lines = copy_of(finished, tmp_path)
    shuffled, line, what = disorder(lines)
    (out / "documents.jsonl").write_text("".join(shuffled))
    for command in [("resume",), *READERS]:
        err = refused(capsys, command[0], out, *command[1:])
        assert f"{out}/documents.jsonl: line {line}: {what}" in err, err


# ----- the reactor model is recorded, and resume uses it or refuses -----

FLAT_MODEL = """OUTCOMES = ["pl_peak_nm", "pl_fwhm_nm", "plqy"]


def flat(conditions):
    return {"pl_peak_nm": PEAK, "pl_fwhm_nm": 30.0, "plqy": 0.5, "failure": None}
"""


def test_resume_continues_with_the_reactor_model_the_campaign_ran_with(campaign_file, tmp_path, capsys):
    from lab.config.files import file_digest

    model = tmp_path / "model" / "flat.py"
    model.parent.mkdir()
    model.write_text(FLAT_MODEL.replace("PEAK", "512.25"))
    out = tmp_path / "run"
    assert run_sim(campaign_file, out, 2, "--seed", "4", "--reactor-model", f"{model}:flat") == 0
    starts = [d for n, d in read_documents(out / "documents.jsonl") if n == "start"]
    record = {"ref": f"{model.resolve()}:flat", "digest": file_digest(model)}
    assert (
        starts[0]["plan_name"] == "reactor_model" and starts[0]["reactor_model"] == record
    )  # before calibration
    assert all(d["reactor_model"] == record for d in starts if "experiment_index" in d)

    capsys.readouterr()
    assert main(["resume", str(out), "--budget", "3"]) == 0
    assert f"reactor model: {model}:flat (as the campaign ran)" in capsys.readouterr().err
    records = completed(experiments_from_documents(read_documents(out / "documents.jsonl")))
    assert [r.index for r in records] == [0, 1, 2]
    assert records[2].outcomes["pl_peak_nm"] == 512.25  # the model's, not the built-in simulator's

    model.write_text(FLAT_MODEL.replace("PEAK", "600.0"))  # changed since the campaign ran
    err = refused(capsys, "resume", out, "--budget", "4")
    assert f"the reactor model {model.resolve()} changed since the campaign ran" in err
    model.unlink()
    err = refused(capsys, "resume", out, "--budget", "4")
    assert f"{model.resolve()} is no longer there: restore it to resume" in err
    assert (
        len(completed(experiments_from_documents(read_documents(out / "documents.jsonl")))) == 3
    )  # nothing ran


# ----- the check itself, document by document -----


def _run(uid, index=0, campaign="c1"):
    return [
        ("start", {"uid": uid, "time": 1.0, "campaign_id": campaign, "experiment_index": index}),
        ("descriptor", {"uid": f"{uid}-d", "run_start": uid, "name": "outcomes"}),
        ("event", {"uid": f"{uid}-e", "descriptor": f"{uid}-d", "data": {}}),
        ("stop", {"uid": f"{uid}-s", "run_start": uid, "exit_status": "success"}),
    ]


@pytest.mark.parametrize(
    "docs, line, what",
    [
        (
            _run("a") + _run("a"),
            5,
            "a second start document for run a (first at line 1): documents were duplicated",
        ),
        (_run("a") + _run("a")[3:], 5, "a second stop document for run a (first at line 4)"),
        (_run("a")[:2] + _run("a")[1:2], 3, "a second descriptor a-d (first at line 2)"),
        (
            _run("a") + [("event", {"uid": "x", "descriptor": "a-d", "data": {}})],
            5,
            "an event after its run's stop",
        ),
        (_run("a", index=-1), 1, "experiment_index must be a whole number >= 0, got -1"),
        (_run("a", index="2"), 1, "experiment_index must be a whole number >= 0, got '2'"),
        (
            _run("a") + _run("b", index=1, campaign="c2"),
            5,
            "a run of another campaign (campaign id c2; this campaign's is c1, from line 1)",
        ),
    ],
    ids=[
        "start twice",
        "stop twice",
        "descriptor twice",
        "event after stop",
        "negative index",
        "text index",
        "foreign",
    ],
)
def test_each_wrong_document_is_named_with_its_line(docs, line, what):
    from lab.store.log_check import LogCheck
    from models.errors import LogError

    check = LogCheck("x/documents.jsonl")
    with pytest.raises(LogError) as caught:
        for number, (name, doc) in enumerate(docs, start=1):
            check.feed(number, name, doc)
    assert str(caught.value).startswith(f"x/documents.jsonl: line {line}: {what}"), caught.value


def test_a_run_cut_short_by_a_crash_and_run_again_is_no_error():
    from lab.store.log_check import LogCheck

    check = LogCheck("x/documents.jsonl")
    for number, (name, doc) in enumerate(_run("a")[:2] + _run("b"), start=1):  # a: no stop (a crash)
        check.feed(number, name, doc)


def test_a_model_given_from_python_cannot_be_reloaded_by_the_command_line():
    from lab.run.model_record import load_logged_model, model_record
    from models.errors import ConfigurationError

    def mine(conditions):
        return {}

    record = model_record(mine)
    assert record["ref"] is None and record["name"].endswith("mine")
    with pytest.raises(
        ConfigurationError, match=r"given in Python .*open_for_resume\(DIR, reactor_model=\.\.\.\)"
    ):
        load_logged_model(record, source="x/documents.jsonl")

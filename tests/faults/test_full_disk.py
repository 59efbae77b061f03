"""A full disk or an I/O error under the document log: a safe stop in one line, nothing written lost or
left half-written, and ``qdlab resume`` completes the campaign with every experiment exactly once.

The disk is an injected file (``lab.store.storage.open_append`` replaced for the test): it takes ``room``
bytes, then writes what still fits (a short write, as a real file system does) and fails.
"""

import errno
import json
from pathlib import Path

import pytest

import lab.store.storage
from lab.cli import main
from lab.store.records import completed, experiments_from_documents
from lab.store.storage import DocumentLog, read_documents

BUDGET = 4
ROOM = 150_000  # bytes: a campaign's experiment logs ~87 kB, so this fills in experiment 1's spectra


class FullDisk:
    """The log's file on a disk with ``room`` bytes left; ``error`` (an errno) once it is full.
    ``read_only``: the file system also refuses the cut back (what a remount read-only does)."""

    def __init__(self, path: Path, room: int, error: int = errno.ENOSPC, read_only: bool = False):
        self._file = open(path, "ab", buffering=0)
        self.room, self.error, self.read_only = room, error, read_only
        self.failed = False

    def write(self, data) -> int:
        data = bytes(data)
        if self.room == 0:
            self.failed = True
            raise OSError(self.error, __import__("os").strerror(self.error))
        n = self._file.write(data[: self.room])
        self.room -= n
        return n

    def truncate(self, size: int) -> int:
        if self.read_only:
            raise OSError(errno.EROFS, "Read-only file system")
        return self._file.truncate(size)

    def fileno(self) -> int:
        return self._file.fileno()

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._file.close()


def _completed_indices(directory: Path) -> list[int]:
    return sorted(
        r.index for r in completed(experiments_from_documents(read_documents(directory / "documents.jsonl")))
    )


# ----- the writer: one whole line or nothing -----


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EIO])
def test_a_failed_write_is_cut_back_to_the_last_whole_line(tmp_path, error):
    from models.errors import LogWriteError

    disks = []

    def opener(path):
        disks.append(FullDisk(path, room=60, error=error))
        return disks[-1]

    log = DocumentLog(tmp_path, opener=opener).open()
    log("start", {"uid": "a", "time": 1.0})  # about 50 bytes: fits
    first = (tmp_path / "documents.jsonl").read_bytes()
    with pytest.raises(LogWriteError, match=errno.errorcode[error]):
        log(
            "descriptor", {"uid": "d", "run_start": "a", "time": 2.0, "data_keys": {}}
        )  # 10 bytes fit, then full
    assert (
        tmp_path / "documents.jsonl"
    ).read_bytes() == first  # the half line is gone, not left for the next
    log("stop", {"uid": "s", "run_start": "a", "time": 3.0, "exit_status": "abort"})  # stopping: not written
    log.close()
    assert (tmp_path / "documents.jsonl").read_bytes() == first
    with DocumentLog(tmp_path) as again:  # space again: the next document starts a line of its own
        again("stop", {"uid": "s", "run_start": "a", "time": 3.0, "exit_status": "abort"})
    assert [n for n, _ in read_documents(tmp_path / "documents.jsonl")] == ["start", "stop"]


def test_a_fragment_that_cannot_be_cut_back_is_set_aside_on_the_next_open(tmp_path):
    from models.errors import LogWriteError

    log = DocumentLog(
        tmp_path, opener=lambda p: FullDisk(p, room=60, error=errno.EROFS, read_only=True)
    ).open()
    log("start", {"uid": "a", "time": 1.0})
    with pytest.raises(LogWriteError, match="EROFS"):
        log("descriptor", {"uid": "d", "run_start": "a", "time": 2.0, "data_keys": {}})
    log.close()
    raw = (tmp_path / "documents.jsonl").read_bytes()
    assert not raw.endswith(b"\n")  # the fragment stayed, unterminated: readers skip it
    assert [n for n, _ in read_documents(tmp_path / "documents.jsonl")] == ["start"]
    with DocumentLog(tmp_path) as again:
        again("stop", {"uid": "s", "run_start": "a", "time": 3.0, "exit_status": "abort"})
    assert [n for n, _ in read_documents(tmp_path / "documents.jsonl")] == ["start", "stop"]
    assert (tmp_path / "documents.torn").read_bytes() == b'{"name":"descr\n'  # what fitted, kept aside


# ----- a campaign on a disk that fills -----


@pytest.mark.parametrize(
    "error, fix", [(errno.ENOSPC, "once there is space"), (errno.EIO, "once the disk is writable again")]
)
def test_a_full_disk_stops_the_campaign_safely_and_resume_completes_it(
    tmp_path, campaign_file, capsys, monkeypatch, error, fix
):
    out = tmp_path / "run"
    disks = []

    def opener(path):
        disks.append(FullDisk(path, ROOM, error))
        return disks[-1]

    monkeypatch.setattr(lab.store.storage, "open_append", opener)
    code = main(
        ["run", str(campaign_file), "--sim", "--out", str(out), "--budget", str(BUDGET), "--seed", "3"]
    )
    err = capsys.readouterr().err
    assert code == 1, err
    assert disks and disks[0].failed
    assert "Traceback" not in err and "Logging error" not in err
    said = [line for line in err.splitlines() if errno.errorcode[error] in line]
    assert len(said) == 1, err  # one line says it all
    line = said[0]
    assert line.startswith("qdlab: campaign stopped: could not write") and f"{out}/documents.jsonl" in line
    assert "read back stopped, heater set point read back" in line and "(its safe set point)" in line
    assert f"continue with: qdlab resume {out} {fix}" in line
    assert "after 1 of 4 experiments" in line
    raw = (out / "documents.jsonl").read_bytes()
    assert raw.endswith(b"\n")  # whole lines only
    for number, text in enumerate(raw.decode().splitlines(), start=1):
        entry = json.loads(text)  # every document written before is intact
        assert set(entry) == {"name", "doc"}, number
    assert _completed_indices(out) == [0]

    monkeypatch.undo()  # space again
    code = main(["resume", str(out)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    runs = experiments_from_documents(read_documents(out / "documents.jsonl"))
    assert _completed_indices(out) == list(range(BUDGET))  # each index exactly once, none renumbered
    assert [r.index for r in runs if r.completed] == list(range(BUDGET))
    assert raw == (out / "documents.jsonl").read_bytes()[: len(raw)]  # nothing written before was touched
    assert main(["replay", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["divergences"] == []


def test_the_run_log_on_a_full_disk_says_nothing_on_the_terminal(tmp_path, capsys):
    """qdlab.log (bluesky's and ophyd's records) on a full disk: dropped quietly, never a traceback."""
    import logging

    from lab.run.runtime import library_logs_to

    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full here")
    with library_logs_to(full):
        logging.getLogger("bluesky").error("a run aborted, with a long traceback")
        logging.getLogger("qdlab.session").warning("made safe")
    assert capsys.readouterr().err == ""

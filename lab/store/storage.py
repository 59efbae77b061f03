"""The campaign directory and its append-only, fsync'd log of bluesky documents.

Each line of ``documents.jsonl`` is ``{"name": NAME, "doc": DOC}`` with the document sanitised by
event-model (numpy arrays to lists; NaN to null so every line is strict JSON). A line is written,
flushed and fsync'd before the RunEngine moves on, so a crash loses at most the line being written; a
torn last line is set aside into ``documents.torn`` on the next open, never fatal. An exclusive lock
stops two processes writing one campaign directory.

A line is whole or absent: a write or fsync that fails (disk full, I/O error, read-only file system)
is cut back to the end of the last whole line before anything else happens, the log takes no further
document, and the failure is raised once as :class:`LogWriteError` (the session stops the campaign
safely). Where even the cut fails (a file system gone read-only), the fragment is unterminated, so
readers skip it and the next open sets it aside: the next document never lands on its line.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from models.errors import LogError, LogWriteError
from models.numbers import json_ready

__all__ = [
    "write_durably",
    "DocumentLog",
    "read_documents",
    "read_lines",
    "open_append",
    "LOG_NAME",
    "is_campaign_dir",
    "campaign_dir_problem",
    "CAMPAIGN_NAME",
    "LAB_NAME",
    "CAMPAIGN_FILES",
    "lock_campaign",
]

LOG_NAME = "documents.jsonl"
CAMPAIGN_NAME = "campaign.toml"
LAB_NAME = "lab.toml"
CAMPAIGN_FILES = (CAMPAIGN_NAME, LOG_NAME)
"""What makes a directory a campaign directory: the campaign as run and its log."""
TORN_NAME = "documents.torn"
LOCK_NAME = ".lock"
_log = logging.getLogger("qdlab.storage")


def encode(name: str, doc: dict) -> str:
    """One log line (without the newline) for a document."""
    from event_model import sanitize_doc  # jsonschema with it, 0.1 s: not for reading a log back

    return json.dumps(
        {"name": name, "doc": json_ready(sanitize_doc(doc))}, allow_nan=False, separators=(",", ":")
    )


def open_append(path: Path) -> BinaryIO:
    """The log's file: unbuffered appends (each ``write`` goes straight to the OS, so a failed one is
    seen at once and nothing is left in a buffer for ``close`` to fail on)."""
    return open(path, "ab", buffering=0)


def write_durably(file: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` to ``file`` (a short write is retried; a write of nothing is EIO), then fsync."""
    view = memoryview(data)
    while view:
        n = file.write(view)
        if not n:
            raise OSError(errno.EIO, "the file system accepted no bytes")
        view = view[n:]
    os.fsync(file.fileno())


def describe_os_error(exc: OSError) -> str:
    """``"No space left on device (ENOSPC)"``: the OS's words and the errno's name."""
    code = errno.errorcode.get(exc.errno or 0)
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text} ({code})" if code else text


def campaign_dir_problem(directory: Path, *, needs: tuple[str, ...] = CAMPAIGN_FILES) -> str | None:
    """Why ``directory`` is not a campaign directory holding ``needs`` (by default the campaign and its
    log; resume needs the lab file too), as one line for an error; None when it is one.

    The one answer to "is this a campaign directory" (out-dir, replay and report, resume, refill)."""
    directory = Path(directory)
    if not directory.is_dir():
        return f"{directory}: no such campaign directory"
    missing = [name for name in needs if not (directory / name).is_file()]
    if missing:
        return f"{directory}: not a campaign directory (missing {', '.join(missing)})"
    return None


def is_campaign_dir(path: Path) -> bool:
    """``path`` holds a campaign and its log (:func:`campaign_dir_problem` finds nothing)."""
    return campaign_dir_problem(path) is None


def lock_campaign(directory: Path):
    """Take ``directory``'s exclusive campaign lock, the one a running qdlab holds while it writes the log:
    the open lock file (closing it releases the lock), or a LogError when another process holds it."""
    lock = open(Path(directory) / LOCK_NAME, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise LogError(
            f"{directory}: another qdlab process is writing this campaign; "
            "wait for it to finish or stop it first"
        ) from None
    return lock


class DocumentLog:
    """A RunEngine subscriber ``log(name, doc)`` appending to ``DIR/documents.jsonl``."""

    def __init__(self, directory: Path, *, opener: Callable[[Path], BinaryIO] | None = None):
        """``opener(path)`` opens the log for appending (default :func:`open_append`); tests pass one
        whose file fails, to see what a full disk does."""
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self._opener = opener or open_append
        self._file = None
        self._lock = None
        self._size = 0  # bytes of whole lines in the file
        self.failure: str | None = None
        """Why the log stopped taking documents (``describe_os_error``), or None while it works."""

    def open(self) -> "DocumentLog":
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = lock_campaign(self.directory)
        self._set_aside_torn_tail()
        self._file = self._opener(self.path)
        self._size = os.fstat(self._file.fileno()).st_size
        self.failure = None
        return self

    def _set_aside_torn_tail(self) -> None:
        """Move an unterminated last line (a write cut short) into documents.torn and truncate."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            f.seek(max(0, size - 1_000_000))
            tail = f.read()
            cut = tail.rfind(b"\n") + 1
            start = size - len(tail) + cut
            with open(self.directory / TORN_NAME, "ab") as torn:
                torn.write(tail[cut:] + b"\n")
                torn.flush()
                os.fsync(torn.fileno())
            f.truncate(start)
            f.flush()
            os.fsync(f.fileno())

    def __call__(self, name: str, doc: dict) -> None:
        if self.failure is not None:
            return  # the campaign is stopping: what the RunEngine still emits (the stop) cannot be logged
        if self._file is None:
            raise LogError(f"{self.path}: log is not open")
        line = (encode(name, doc) + "\n").encode()
        try:
            write_durably(self._file, line)
        except OSError as exc:
            self._fail(exc)
        self._size += len(line)

    def _fail(self, exc: OSError) -> None:
        """Cut the file back to its last whole line, take no more documents, raise LogWriteError."""
        self.failure = describe_os_error(exc)
        try:
            self._file.truncate(self._size)
            os.fsync(self._file.fileno())
        except OSError as cut:  # read-only now: the unterminated fragment is set aside on the next open
            _log.warning(
                "%s: could not cut a failed write back to line end (%s)", self.path, describe_os_error(cut)
            )
        raise LogWriteError(f"could not write to {self.path} ({self.failure})", reason=self.failure) from exc

    def close(self) -> None:
        """Never raises: every line was fsync'd as it was written, and this runs on every way out."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                _log.warning("%s: closing the log: %s", self.path, describe_os_error(exc))
            self._file = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> "DocumentLog":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_documents(path: Path) -> Iterator[tuple[str, dict]]:
    """Yield (name, doc) from a log. A torn last line is skipped; a bad line elsewhere is a LogError.

    The raw reader: :func:`lab.store.log_check.read_log` also checks that the documents make one campaign."""
    for _, name, doc in read_lines(path):
        yield name, doc


def read_lines(path: Path) -> Iterator[tuple[int, str, dict]]:
    """Yield (line number, name, doc) from a log (line numbers from 1), as :func:`read_documents`."""
    path = Path(path)
    if not path.is_file():
        raise LogError(f"{path}: no such document log")
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    last = len(lines) - 1  # after the final newline there is b"" or a torn fragment
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            name, doc = entry["name"], entry["doc"]
            if not isinstance(name, str) or not isinstance(doc, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            if number - 1 == last:  # unterminated last line: a write cut short
                continue
            raise LogError(
                f"{path}: line {number}: not a document line "
                '(expected {"name": ..., "doc": {...}}); the log is corrupted there'
            ) from None
        yield number, name, doc

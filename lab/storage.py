"""The campaign directory and its append-only, fsync'd log of bluesky documents.

Each line of ``documents.jsonl`` is ``{"name": NAME, "doc": DOC}`` with the document sanitised by
event-model (numpy arrays to lists; NaN to null so every line is strict JSON). A line is written,
flushed and fsync'd before the RunEngine moves on, so a crash loses at most the line being written; a
torn last line is set aside into ``documents.torn`` on the next open, never fatal. An exclusive lock
stops two processes writing one campaign directory.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from event_model import sanitize_doc

from models.errors import LogError

__all__ = ["DocumentLog", "read_documents", "LOG_NAME", "is_campaign_dir", "lock_campaign"]

LOG_NAME = "documents.jsonl"
TORN_NAME = "documents.torn"
LOCK_NAME = ".lock"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def encode(name: str, doc: dict) -> str:
    """One log line (without the newline) for a document."""
    return json.dumps({"name": name, "doc": _finite(sanitize_doc(doc))}, allow_nan=False, separators=(",", ":"))


def is_campaign_dir(path: Path) -> bool:
    return (path / LOG_NAME).is_file() and (path / "campaign.toml").is_file()


def lock_campaign(directory: Path):
    """Take ``directory``'s exclusive campaign lock, the one a running qdlab holds while it writes the log:
    the open lock file (closing it releases the lock), or a LogError when another process holds it."""
    lock = open(Path(directory) / LOCK_NAME, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise LogError(f"{directory}: another qdlab process is writing this campaign; "
                       "wait for it to finish or stop it first") from None
    return lock


class DocumentLog:
    """A RunEngine subscriber ``log(name, doc)`` appending to ``DIR/documents.jsonl``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self._file = None
        self._lock = None
        self._written = 0
        # Fault injection for the crash tests: die by SIGKILL half-way through writing document N.
        self._torn_at = int(os.environ.get("QDLAB_FAULT_TORN_WRITE", "0") or 0)

    def open(self) -> "DocumentLog":
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = lock_campaign(self.directory)
        self._set_aside_torn_tail()
        self._file = open(self.path, "ab")
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
        if self._file is None:
            raise LogError(f"{self.path}: log is not open")
        line = (encode(name, doc) + "\n").encode()
        self._written += 1
        if self._written == self._torn_at:
            self._file.write(line[: len(line) // 2])
            self._file.flush()
            os.fsync(self._file.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
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
    """Yield (name, doc) from a log. A torn last line is skipped; a bad line elsewhere is a LogError."""
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
            raise LogError(f"{path}: line {number}: not a document line "
                           "(expected {\"name\": ..., \"doc\": {...}}); the log is corrupted there") from None
        yield name, doc

"""A campaign's document log that several processes append to: one RE worker per reactor.

``qdlab agent`` holds the campaign's lock (:func:`lab.store.storage.lock_campaign`) for as long as it
drives the campaign; the queue servers' workers, each running one reactor's plans, append their documents
to the same ``documents.jsonl`` in the same encoding as :class:`lab.store.storage.DocumentLog`, one whole
line at a time under ``DIR/.log-lock`` (an exclusive ``flock`` per line), so lines of two runs may
interleave but never tear each other. Every line is fsync'd before the next document is taken.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from lab.store.storage import LOG_NAME, describe_os_error, encode, open_append, write_durably
from models.errors import LogError, LogWriteError

__all__ = ["SharedDocumentLog", "LINE_LOCK_NAME"]

LINE_LOCK_NAME = ".log-lock"
"""The lock each appended line is written under (the campaign's ``.lock`` is the agent's)."""


class SharedDocumentLog:
    """A RunEngine subscriber ``log(name, doc)`` appending to ``DIR/documents.jsonl`` beside other writers."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self._file = None
        self._line_lock = None
        self.failure: str | None = None

    def open(self) -> "SharedDocumentLog":
        if not self.directory.is_dir():
            raise LogError(f"{self.directory}: no such campaign directory")
        self._line_lock = open(self.directory / LINE_LOCK_NAME, "a")
        self._file = open_append(self.path)
        return self

    def __call__(self, name: str, doc: dict) -> None:
        if self._file is None or self._line_lock is None:
            raise LogError(f"{self.path}: log is not open")
        line = (encode(name, doc) + "\n").encode()
        fcntl.flock(self._line_lock, fcntl.LOCK_EX)
        try:
            write_durably(self._file, line)
        except OSError as exc:
            self.failure = describe_os_error(exc)
            raise LogWriteError(
                f"could not write to {self.path} ({self.failure})", reason=self.failure
            ) from exc
        finally:
            fcntl.flock(self._line_lock, fcntl.LOCK_UN)

    def close(self) -> None:
        for f in (self._file, self._line_lock):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        self._file = self._line_lock = None

"""Process-wide settings of the application (the library layers leave them alone)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["configure_numerics", "library_logs_to", "RUN_LOG_NAME"]

RUN_LOG_NAME = "qdlab.log"
_LIBRARY_LOGGERS = ("bluesky", "ophyd", "qdlab")


def configure_numerics(threads: int = 1) -> None:
    """One intra-op thread for torch.

    Our GPs are small: on a 2-core machine that also runs the RunEngine, the simulator and often a
    second campaign, torch's thread pool spends more time contending than computing (a 5-point GP
    fit took 9 s with the default pool under load and 1.5 s with one thread). One thread also makes
    floating-point reductions, and so proposals, repeatable.
    """
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


class _QuietFileHandler(logging.FileHandler):
    """A file handler that, when its file cannot be written (a full disk), drops the record quietly:
    logging's default prints a traceback on the terminal, where the campaign's one-line stop message
    must stand alone. The document log, not this file, is the record."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass

    def close(self) -> None:
        """Closes even when what is still buffered cannot be written (a full disk)."""
        try:
            super().close()
        except OSError:
            self.stream = None
            logging.Handler.close(self)


@contextmanager
def library_logs_to(path: Path, level: int = logging.INFO) -> Iterator[None]:
    """Send bluesky's, ophyd's and qdlab's log records to ``path`` (appended) instead of the terminal.

    The terminal keeps the progress line and qdlab's one-line errors; the tracebacks bluesky logs
    when a run aborts (a device that stops answering, say) go to the campaign's own log file, next to
    its documents, where nothing is lost and nothing clutters the error a chemist has to read. A record
    that cannot be written (a full disk) is dropped without a word on the terminal.
    """
    handler = _QuietFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    saved = []
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    try:
        yield
    finally:
        for logger, propagate, old_level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(old_level)
        handler.close()

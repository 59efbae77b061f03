"""The one exception root of qdlab and its few meaningful subclasses.

Every layer raises these; ``lab`` turns them into one clear line on stderr and an exit status.
They live in ``models`` because it is the bottom layer that every other layer may import.
"""

from __future__ import annotations

__all__ = [
    "QdlabError",
    "ConfigurationError",
    "DeviceError",
    "ProtocolError",
    "SafetyError",
    "OptimizerError",
    "LogError",
    "LogWriteError",
    "Interrupted",
]


class QdlabError(Exception):
    """Root of all qdlab errors. The message says what failed and what to do.

    ``made_safe``: when the error stopped a campaign, what making the rig safe verified (set by the
    session, added to the error's line by the command line)."""

    made_safe: str | None = None


class ConfigurationError(QdlabError):
    """A campaign, lab or command-line input is invalid (exit status 2, nothing moved).

    ``source`` names the file (or option), ``key`` the offending key or line.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        prefix = ": ".join(_one_line(p) for p in (source, key) if p)
        message = _one_line(message)
        super().__init__(f"{prefix}: {message}" if prefix else message)


def _one_line(text: str) -> str:
    """Control characters (a newline in a key, say) escaped, so an error stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class DeviceError(QdlabError):
    """A device misbehaved: no reply, alarm, stall, lost port, empty syringe."""


class ProtocolError(DeviceError):
    """Bytes on the wire did not follow the instrument's protocol (garbled, unexpected reply)."""


class SafetyError(QdlabError):
    """A request was refused or a run stopped because it would leave the lab's safe limits."""


class OptimizerError(QdlabError):
    """An optimiser was used wrongly (unknown parameter, bad objective, nothing ingested)."""


class LogError(QdlabError):
    """A campaign's document log is unreadable, locked or not a campaign directory."""


class LogWriteError(QdlabError):
    """A document could not be written to the campaign's log (disk full, I/O error, read-only file
    system). The campaign stops safely (exit status 1); ``qdlab resume DIR`` continues once it is fixed.

    ``reason``: what the operating system said, e.g. "No space left on device (ENOSPC)".
    """

    def __init__(self, message: str, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason


class Interrupted(QdlabError):
    """The campaign was stopped by Ctrl-C (SIGINT), SIGTERM or SIGHUP; the directory is resumable."""

    _EXIT_STATUS = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}  # 128 + the signal's number (POSIX shells)

    def __init__(self, message: str, *, signal_name: str = "SIGINT", unsafe: bool = False):
        super().__init__(message)
        self.signal_name = signal_name
        self.unsafe = unsafe

    @property
    def exit_status(self) -> int:
        """The process exit status for this stop: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP); 1 when a
        device could not be confirmed safe (``unsafe``): the stop did not leave the rig as it should."""
        return 1 if self.unsafe else self._EXIT_STATUS.get(self.signal_name, 130)

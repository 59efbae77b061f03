"""Bring a Tiled server up to date with a campaign directory's log, whole runs compared.

A run on the server is complete when it holds the log's stop document (or, for a run the log itself
has no stop for, none) and, in every stream, as many events as the log; a run written in part when the
server went away (a start without its stop, a stream short of events) is deleted there and sent again
from the log, so the server ends up holding every logged run as the log does. Runs on the server that
the log lacks (another directory's runs of the same campaign id) are left alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lab.store.tiled_uri import redact, shown
from models.errors import ConfigurationError, LogError

if TYPE_CHECKING:  # the one way these two depend: lab.store.tiled knows nothing of this module
    from lab.store.tiled import TiledSink

__all__ = ["RunShape", "SyncResult", "log_runs", "server_shape", "sync"]


@dataclass(frozen=True)
class RunShape:
    """What makes a run whole: its stop document's uid (None without one) and events per stream."""

    stop_uid: str | None
    events: tuple[tuple[str, int], ...]


@dataclass
class SyncResult:
    sent: list[str] = field(default_factory=list)  # run uids the server lacked
    replaced: list[str] = field(default_factory=list)  # run uids it held in part
    complete: int = 0  # runs it already held whole

    def line(self) -> str:
        return (
            f"{len(self.sent)} runs sent, {len(self.replaced)} incomplete runs sent again, "
            f"{self.complete} already complete"
        )


def log_runs(documents) -> dict[str, tuple[RunShape, list[tuple[str, dict]]]]:
    """``{run uid: (shape, documents)}`` of a log, in log order."""
    runs: dict[str, list[tuple[str, dict]]] = {}
    streams: dict[str, tuple[str, str]] = {}  # descriptor uid -> (run uid, stream name)
    current = None
    for name, doc in documents:
        if name == "start":
            current = doc["uid"]
            runs[current] = []
        elif name == "descriptor":
            streams[doc["uid"]] = (doc.get("run_start"), doc.get("name", "primary"))
        if current is not None:
            runs[current].append((name, doc))
    shapes = {}
    for uid, docs in runs.items():
        counts = Counter({streams[d["uid"]][1]: 0 for n, d in docs if n == "descriptor"})
        counts.update(
            streams[d["descriptor"]][1] for n, d in docs if n == "event" and d.get("descriptor") in streams
        )
        stop = next((d for n, d in docs if n == "stop"), None)
        shapes[uid] = (
            RunShape(None if stop is None else stop.get("uid"), tuple(sorted(counts.items()))),
            docs,
        )
    return shapes


def server_shape(run: Any) -> RunShape:
    """The :class:`RunShape` of a run node that bluesky's TiledWriter wrote."""
    stop = dict(run.metadata).get("stop") or None
    counts = {}
    for key, stream in run.items():
        base = stream.base
        counts[key] = len(base["internal"].read(["seq_num"])) if "internal" in base else 0
    return RunShape(None if stop is None else dict(stop).get("uid"), tuple(sorted(counts.items())))


def sync(sink: "TiledSink") -> SyncResult:
    """Send the sink's campaign log to its server: runs it lacks, and runs it holds in part (deleted and
    sent whole again), in log order, before the sink streams any new document (``qdlab sync``, ``qdlab
    resume --tiled``). A torn last line is not sent."""
    from lab.store.storage import LOG_NAME, read_documents

    result = SyncResult()
    try:
        logged = log_runs(read_documents(sink.directory / LOG_NAME))
        container = sink.container()
        held = set(container.keys())
        writer = sink.open_writer()
        for uid, (shape, docs) in logged.items():
            partial = uid in held
            if partial and server_shape(container[uid]) == shape:
                result.complete += 1
                continue
            if partial:
                container.delete_contents(uid, recursive=True, external_only=False)
            for name, doc in docs:
                writer(name, doc)
            (result.replaced if partial else result.sent).append(uid)
    except LogError:
        raise
    except Exception as exc:  # noqa: BLE001 - httpx, auth and server errors: the log stays the truth
        done = len(result.sent) + len(result.replaced) + result.complete
        raise ConfigurationError(
            f"could not bring {shown(sink.uri)} up to date ({type(exc).__name__}: "
            f"{redact(exc, sink.uri)}) after {done} of the logged runs; the directory is "
            "complete: run the same command again",
            source="--tiled",
        ) from None
    return result

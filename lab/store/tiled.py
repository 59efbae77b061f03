"""Tiled as an optional second home for a campaign's documents (DESIGN.md, Data).

Layout on the server: one container per campaign, keyed by the campaign id, under the node the URI
names (the server root, or e.g. ``http://host:8000/api/v1/metadata/reactor-2``). Its metadata
``{"qdlab": {"campaign": {...}, "lab": {...}}}`` holds the resolved ``campaign.toml`` and ``lab.toml``;
inside it bluesky's :class:`~bluesky.callbacks.tiled_writer.TiledWriter` writes one node per run (start
and stop documents as metadata, one node per stream with the descriptor as metadata, event data as
table columns and arrays). :func:`read_tiled` turns that back into the document stream, so replay and
report read a campaign from Tiled exactly as from its directory.

The directory stays the source of truth: documents go to the server from a thread of their own, so a
server that dies, hangs or refuses writes never holds up the campaign; the user is told once, in one
line, from which experiment the server lacks documents, and ``qdlab sync DIR --tiled URI`` (or
``qdlab resume DIR --tiled URI``) later sends what it lacks, whole runs compared (:mod:`lab.store.tiled_sync`).

The API key comes from ``TILED_API_KEY`` (or an ``?api_key=`` in the URI, as the Tiled client takes it);
no message shows it: they name the server by :func:`shown` and pass client errors through :func:`redact`
(both in :mod:`lab.store.tiled_uri`, which this module and :mod:`lab.store.tiled_sync` share; the sync
module uses a :class:`TiledSink`; this one does not import it).
"""

from __future__ import annotations

import copy
import math
import os
import queue
import sys
import threading
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

from campaigns.spec import CampaignSpec
from lab.config.files import campaign_from_table
from lab.store.tiled_uri import redact, shown
from models.errors import ConfigurationError, LogError

__all__ = ["TiledSink", "read_tiled", "list_campaigns", "shown", "redact", "DRAIN_S"]

# How long the end of a campaign waits for the server to take one more of the documents still queued.
DRAIN_S = 10.0


def _reachable(uri: str, what: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds when nothing listens (the client itself retries for half a minute)."""
    import urllib.error
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"expected a Tiled server URL such as http://localhost:8000, got {shown(uri)!r}", source=what
        )
    host = parts.netloc.rpartition("@")[2]
    try:
        urllib.request.urlopen(f"{parts.scheme}://{host}/healthz", timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return  # something answered: let the client judge
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot reach the Tiled server at {shown(uri)}: {redact(exc, uri)}", source=what
        ) from None


def _connect(uri: str, what: str) -> Any:
    try:
        from tiled.client import from_uri
    except ImportError:  # pragma: no cover - tiled is a pinned dependency
        raise ConfigurationError(
            "the tiled client is not installed (pip install 'tiled[client]')", source=what
        ) from None
    _reachable(uri, what)
    in_uri = "api_key" in urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    try:  # an ?api_key= in the URI wins (the client refuses both)
        return from_uri(uri, api_key=None if in_uri else os.environ.get("TILED_API_KEY"))
    except Exception as exc:  # noqa: BLE001 - httpx, auth and URL errors all mean: cannot use this server
        raise ConfigurationError(
            f"cannot reach the Tiled server at {shown(uri)}: {type(exc).__name__}: "
            f"{redact(exc, uri)} (is it running? is TILED_API_KEY set?)",
            source=what,
        ) from None


class TiledSink:
    """A RunEngine subscriber that streams a campaign's documents into Tiled, from a thread of its own.

    Call :meth:`connect` before the campaign starts (fails fast, nothing has moved); the campaign's
    container is made on the first start document, once the session has written its TOML files; call
    :meth:`close` when the campaign ends (it waits up to ``drain_s`` for the documents still queued).

    The first write that fails (server gone, hung past the client's retries, or refusing writes) ends the
    streaming: one line on stderr says so and from which run the server lacks documents; the campaign
    never waits on the server. :func:`lab.store.tiled_sync.sync` (``qdlab sync``, ``qdlab resume --tiled``)
    brings the server up to date from the directory's log, whole runs compared.
    """

    def __init__(self, uri: str, directory: Path, campaign_id: str, *, drain_s: float | None = None):
        self.uri = uri
        self.directory = Path(directory)
        self.campaign_id = campaign_id
        self.drain_s = DRAIN_S if drain_s is None else drain_s
        self._taken = 0  # documents the server took
        self._client: Any = None
        self._writer: Any = None
        self._failed: str | None = None
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._run = "the first run"  # the run being written, for the warning

    def connect(self) -> "TiledSink":
        self._client = _connect(self.uri, "--tiled")
        return self

    def open_writer(self) -> Any:
        """A fresh :class:`TiledWriter` into the campaign's container (made, with its TOML tables, if new)."""
        from bluesky.callbacks.tiled_writer import TiledWriter

        return TiledWriter(self.container())

    def container(self) -> Any:
        if self._client is None:
            self.connect()
        if self.campaign_id in self._client:
            return self._client[self.campaign_id]
        tables = {}
        for key, name in (("campaign", "campaign.toml"), ("lab", "lab.toml")):
            path = self.directory / name
            tables[key] = tomllib.loads(path.read_text()) if path.is_file() else {}
        return self._client.create_container(key=self.campaign_id, metadata={"qdlab": tables})

    def __call__(self, name: str, doc: dict) -> None:
        if self._failed is not None:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="qdlab-tiled", daemon=True)
            self._thread.start()
        self._queue.put((name, copy.deepcopy(doc)))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._failed is not None:
                continue  # drain: the rest is for qdlab sync
            name, doc = item
            if name == "start":
                index = doc.get("experiment_index")
                self._run = (
                    f"experiment {index}" if index is not None else f"the {doc.get('plan_name', '?')} run"
                )
            try:
                if self._writer is None:
                    self._writer = self.open_writer()
                self._writer(name, doc)
                self._taken += 1
            except Exception as exc:  # noqa: BLE001 - the reactor must not stop because a mirror failed
                self._fail(f"{type(exc).__name__}: {exc}")

    def _fail(self, reason: str) -> None:
        """Stop streaming and say so, once."""
        with self._lock:
            if self._failed is not None:
                return
            self._failed = redact(reason, self.uri)
        where = shown(self.uri)
        sys.stderr.write(
            f"qdlab: warning: Tiled at {where} stopped taking documents at {self._run} "
            f"({self._failed}); the campaign goes on and {self.directory} holds every document: "
            f"run qdlab sync {self.directory} --tiled {where} once the server is back\n"
        )

    def close(self) -> None:
        """Wait for the queued documents while the server takes one at least every ``drain_s``; what is
        left then is said, once, and left to ``qdlab sync``."""
        if self._thread is None:
            return
        self._queue.put(None)
        taken = -1
        while self._thread.is_alive() and self._failed is None:
            if self._taken == taken:
                self._fail(f"no reply for {self.drain_s:g} s at the end of the campaign")
                return
            taken = self._taken
            self._thread.join(self.drain_s)

    @property
    def failed(self) -> str | None:
        """Why streaming stopped, or None while it works."""
        return self._failed


def list_campaigns(uri: str) -> list[tuple[str, str]]:
    """``[(campaign id, campaign name)]`` of the qdlab campaigns under ``uri``."""
    client = _connect(uri, "--tiled")
    found = []
    for key, node in client.items():
        qd = dict(node.metadata).get("qdlab")
        if isinstance(qd, dict):
            found.append((key, str(qd.get("campaign", {}).get("name", "?"))))
    return found


def _plain(value: Any) -> Any:
    """Tiled's read-only metadata views as plain dicts and lists."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _native(value: Any) -> Any:
    """A pandas/numpy cell as the JSON value the document held (NaN back to None)."""
    if type(value).__name__ == "NAType":  # pandas' missing value in string columns
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def _stream_documents(run_uid: str, key: str, stream: Any) -> list[tuple[str, dict]]:
    descriptor = _plain(stream.metadata)
    descriptor.setdefault("name", key)
    descriptor["run_start"] = run_uid
    data_keys = descriptor.get("data_keys", {})
    table = stream.base["internal"].read() if "internal" in stream.base else None
    n = 0 if table is None else len(table)
    if n == 0:  # a run cut short after its descriptor: no event, and no array nodes either
        return [("descriptor", descriptor)]
    columns: dict[str, list[Any]] = {}
    for data_key, info in data_keys.items():
        if info.get("shape"):  # arrays: the table holds only their text; read the array node
            columns[data_key] = _native(stream[data_key].read())
        elif table is not None and data_key in table:
            columns[data_key] = [_native(v) for v in table[data_key].to_numpy()]
    docs: list[tuple[str, dict]] = [("descriptor", descriptor)]
    times = [float(t) for t in table["time"]] if table is not None else []
    seq = [int(s) for s in table["seq_num"]] if table is not None else []
    for i in range(n):
        data = {k: col[i] for k, col in columns.items()}
        stamps = {k: (float(table[f"ts_{k}"].iloc[i]) if f"ts_{k}" in table else times[i]) for k in data}
        docs.append(
            (
                "event",
                {
                    "uid": f"{descriptor['uid']}-{seq[i]}",
                    "descriptor": descriptor["uid"],
                    "time": times[i],
                    "seq_num": seq[i],
                    "data": data,
                    "timestamps": stamps,
                    "filled": {},
                },
            )
        )
    return docs


def read_tiled(
    uri: str, campaign_id: str | None
) -> tuple[CampaignSpec, dict[str, Any], list[tuple[str, dict]], str]:
    """Read a campaign that ``qdlab run --tiled URI`` streamed: its spec (as run), lab table, documents in
    order and origin (for messages); :func:`lab.store.sources.open_campaign` makes them a ``CampaignData``."""
    origin = f"{shown(uri)} campaign {campaign_id}"
    if not campaign_id:
        known = ", ".join(f"{k} ({n})" for k, n in list_campaigns(uri)) or "none"
        raise ConfigurationError(
            f"give --campaign-id; campaigns at {shown(uri)}: {known}", source="--campaign-id"
        )
    client = _connect(uri, "--tiled")
    if campaign_id not in client:
        known = ", ".join(f"{k} ({n})" for k, n in list_campaigns(uri)) or "none"
        raise LogError(f"{shown(uri)}: no campaign {campaign_id}; campaigns there: {known}")
    node = client[campaign_id]
    tables = _plain(node.metadata).get("qdlab")
    if not isinstance(tables, dict) or not tables.get("campaign"):
        raise LogError(f"{origin}: not a qdlab campaign (no qdlab.campaign metadata)")
    spec = campaign_from_table(tables["campaign"], source=origin, check_outcomes=False)  # a record, as it ran
    runs = []
    for run_uid, run in node.items():
        md = _plain(run.metadata)
        start = md.get("start") or {}
        if not start:
            continue
        docs: list[tuple[str, dict]] = [("start", start)]
        for key, stream in run.items():
            docs.extend(_stream_documents(start["uid"], key, stream))
        if md.get("stop"):
            docs.append(("stop", md["stop"]))
        runs.append((float(start.get("time", 0.0)), docs))
    runs.sort(key=lambda t: t[0])
    documents = [d for _, docs in runs for d in docs]
    return spec, tables.get("lab") or {}, documents, origin

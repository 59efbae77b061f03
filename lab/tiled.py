"""Tiled as an optional second home for a campaign's documents (DESIGN.md, Data).

Layout on the server: one container per campaign, keyed by the campaign id, under the node the URI
names (the server root, or e.g. ``http://host:8000/api/v1/metadata/reactor-2``). Its metadata
``{"qdlab": {"campaign": {...}, "lab": {...}}}`` holds the resolved ``campaign.toml`` and ``lab.toml``;
inside it bluesky's :class:`~bluesky.callbacks.tiled_writer.TiledWriter` writes one node per run (start
and stop documents as metadata, one node per stream with the descriptor as metadata, event data as
table columns and arrays). :func:`open_tiled` turns that back into the document stream, so replay and
report read a campaign from Tiled exactly as from its directory.

The directory stays the source of truth: if the server goes away mid-campaign the campaign goes on
and a warning says which experiments Tiled lacks. The API key comes from ``TILED_API_KEY``.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from lab.files import campaign_from_table
from lab.sources import CampaignData
from models.errors import ConfigurationError, LogError

__all__ = ["TiledSink", "open_tiled", "list_campaigns"]


def _reachable(uri: str, what: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds when nothing listens (the client itself retries for half a minute)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"expected a Tiled server URL such as http://localhost:8000, got {uri!r}",
                                 source=what)
    try:
        urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/healthz", timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return  # something answered: let the client judge
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot reach the Tiled server at {uri}: {exc}", source=what) from None


def _connect(uri: str, what: str) -> Any:
    try:
        from tiled.client import from_uri
    except ImportError:  # pragma: no cover - tiled is a pinned dependency
        raise ConfigurationError("the tiled client is not installed (pip install 'tiled[client]')",
                                 source=what) from None
    _reachable(uri, what)
    try:
        return from_uri(uri, api_key=os.environ.get("TILED_API_KEY"))
    except Exception as exc:  # noqa: BLE001 - httpx, auth and URL errors all mean: cannot use this server
        raise ConfigurationError(f"cannot reach the Tiled server at {uri}: {type(exc).__name__}: {exc} "
                                 "(is it running? is TILED_API_KEY set?)", source=what) from None


class TiledSink:
    """A RunEngine subscriber that streams a campaign's documents into Tiled.

    Call :meth:`connect` before the campaign starts (fails fast, nothing has moved); the campaign's
    container is made on the first start document, once the session has written its TOML files.

    :meth:`backfill` (``qdlab resume --tiled``) first sends the runs already in the directory's log that
    the server lacks - all of them for a campaign that started without ``--tiled``, the tail for one
    whose server went away - so the server holds the whole campaign again.
    """

    def __init__(self, uri: str, directory: Path, campaign_id: str):
        self.uri = uri
        self.directory = Path(directory)
        self.campaign_id = campaign_id
        self._client: Any = None
        self._writer: Any = None
        self._failed: str | None = None

    def connect(self) -> "TiledSink":
        self._client = _connect(self.uri, "--tiled")
        return self

    def _open_container(self) -> Any:
        from bluesky.callbacks.tiled_writer import TiledWriter

        if self.campaign_id in self._client:
            container = self._client[self.campaign_id]
        else:
            tables = {}
            for key, name in (("campaign", "campaign.toml"), ("lab", "lab.toml")):
                path = self.directory / name
                tables[key] = tomllib.loads(path.read_text()) if path.is_file() else {}
            container = self._client.create_container(key=self.campaign_id, metadata={"qdlab": tables})
        return TiledWriter(container)

    def __call__(self, name: str, doc: dict) -> None:
        if self._failed is not None:
            return
        try:
            if self._writer is None:
                if self._client is None:
                    self.connect()
                self._writer = self._open_container()
            self._writer(name, doc)
        except Exception as exc:  # noqa: BLE001 - the reactor must not stop because a mirror failed
            self._failed = f"{type(exc).__name__}: {exc}"
            index = doc.get("experiment_index", "?") if name == "start" else "?"
            sys.stderr.write(f"qdlab: warning: stopped streaming to Tiled at {self.uri} ({self._failed}) "
                             f"near experiment {index}; the campaign directory {self.directory} is complete\n")

    def backfill(self) -> int:
        """Send the runs of the directory's log that the campaign's container lacks (by run uid), in
        log order, before any new document; returns how many. A torn last line is not sent."""
        from lab.storage import LOG_NAME, read_documents

        if self._client is None:
            self.connect()
        self._writer = self._writer or self._open_container()
        have = set(self._client[self.campaign_id].keys())
        sent, sending = 0, False
        try:
            for name, doc in read_documents(self.directory / LOG_NAME):
                if name == "start":
                    sending = doc["uid"] not in have
                    sent += sending
                if sending:
                    self._writer(name, doc)
        except LogError:
            raise
        except Exception as exc:  # noqa: BLE001 - as in __call__: the campaign does not depend on the mirror
            raise ConfigurationError(f"could not send the logged runs to {self.uri} ({type(exc).__name__}: {exc})",
                                     source="--tiled") from None
        return sent

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
        docs.append(("event", {"uid": f"{descriptor['uid']}-{seq[i]}", "descriptor": descriptor["uid"],
                               "time": times[i], "seq_num": seq[i], "data": data, "timestamps": stamps,
                               "filled": {}}))
    return docs


def open_tiled(uri: str, campaign_id: str | None) -> CampaignData:
    """Read a campaign that ``qdlab run --tiled URI`` streamed, as :class:`CampaignData`."""
    origin = f"{uri} campaign {campaign_id}"
    if not campaign_id:
        known = ", ".join(f"{k} ({n})" for k, n in list_campaigns(uri)) or "none"
        raise ConfigurationError(f"give --campaign-id; campaigns at {uri}: {known}", source="--campaign-id")
    client = _connect(uri, "--tiled")
    if campaign_id not in client:
        known = ", ".join(f"{k} ({n})" for k, n in list_campaigns(uri)) or "none"
        raise LogError(f"{uri}: no campaign {campaign_id}; campaigns there: {known}")
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
    return CampaignData(spec, tables.get("lab") or {}, documents, origin=origin)

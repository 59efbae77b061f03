"""The user reactor model a campaign ran with, as its log records it, and loading it again on resume.

A campaign run with ``--reactor-model PATH.py:FUNC`` records ``reactor_model = {"ref": "/abs/PATH.py:FUNC",
"digest": ...}`` in each experiment's start document, and in a ``reactor_model`` run (no events) logged
before its first experiment, so a campaign stopped during calibration records it too. ``qdlab resume``
loads the model from that reference and checks the file's digest, or refuses with one line: it never
continues a model campaign on the built-in simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lab.config.files import file_digest
from models.errors import ConfigurationError

__all__ = ["MODEL_PLAN", "MODEL_KEY", "model_record", "logged_model", "load_logged_model"]

MODEL_PLAN = "reactor_model"
"""``plan_name`` of the run (no events) that records the model before a campaign's first experiment."""
MODEL_KEY = "reactor_model"
"""Start-document key of the record."""


def model_record(model: Any) -> dict[str, Any]:
    """What the log records of ``model``: a :class:`lab.run.user_model.ReactorModel` by reference and
    digest; a plain Python callable (given to :class:`lab.run.session.CampaignSession` directly) by name
    only."""
    reference = getattr(model, "reference", None)
    if reference:
        return {"ref": reference, "digest": getattr(model, "digest", None)}
    name = getattr(model, "__qualname__", None) or type(model).__name__
    return {"ref": None, "name": f"{getattr(model, '__module__', '?')}.{name}"}


def logged_model(starts: Iterable[dict], source: str) -> dict[str, Any] | None:
    """The model record the log's start documents agree on, or None (the built-in simulator)."""
    records = {json.dumps(doc[MODEL_KEY], sort_keys=True) for doc in starts if doc.get(MODEL_KEY)}
    if len(records) > 1:
        raise ConfigurationError(
            f"the campaign's runs name different reactor models ({'; '.join(sorted(records))})"
            "; it cannot be resumed as one campaign",
            source=source,
        )
    return json.loads(records.pop()) if records else None


def load_logged_model(record: dict[str, Any], source: str) -> Any:
    """The :class:`lab.run.user_model.ReactorModel` a log's ``record`` names, its file unchanged; else one
    line."""
    from pathlib import Path

    from lab.run.user_model import load_reactor_model

    ref = record.get("ref")
    if not isinstance(ref, str) or not ref:
        raise ConfigurationError(
            f"the campaign ran with a reactor model given in Python ({record.get('name')}), "
            "which qdlab resume cannot load: resume it from Python with "
            "open_for_resume(DIR, reactor_model=...)",
            source=source,
        )
    path = Path(ref.rpartition(":")[0])
    if not path.is_file():
        raise ConfigurationError(
            f"the campaign ran with the reactor model {ref}, and {path} is no longer there: "
            "restore it to resume (a resumed campaign runs as it started)",
            source=source,
        )
    digest = file_digest(path)
    if record.get("digest") and digest != record["digest"]:
        raise ConfigurationError(
            f"the reactor model {path} changed since the campaign ran (digest {digest}, the "
            f"log's {record['digest']}): restore it to resume, or start a new campaign with "
            "qdlab run",
            source=source,
        )
    return load_reactor_model(ref)

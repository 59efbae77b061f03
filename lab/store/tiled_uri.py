"""How a Tiled server is named in messages: its URI without secrets, and text with them taken out.

Shared by :mod:`lab.store.tiled` (the sink and the reader) and :mod:`lab.store.tiled_sync` (bringing a
server up to date), so that neither imports the other for them.
"""

from __future__ import annotations

import os
import urllib.parse

__all__ = ["shown", "redact"]


def shown(uri: str) -> str:
    """``uri`` as messages, documents and reports name it: without its query (``?api_key=``) or user info."""
    parts = urllib.parse.urlsplit(uri)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _keys(uri: str) -> list[str]:
    """The secrets a message could carry: the API key from the environment and any in the URI."""
    parts = urllib.parse.urlsplit(uri)
    found = [os.environ.get("TILED_API_KEY") or "", *urllib.parse.parse_qs(parts.query).get("api_key", [])]
    if parts.password:
        found.append(parts.password)
    return [k for k in found if k]


def redact(text: str, uri: str) -> str:
    """``text`` on one line with the URI shown as :func:`shown` does and every key (or the 8-character
    prefix the Tiled client prints of one) replaced by ``***``."""
    text = " ".join(str(text).split()).replace(uri, shown(uri))
    for key in sorted(_keys(uri), key=len, reverse=True):
        text = text.replace(key, "***")
        if len(key) >= 16:
            text = text.replace(key[:8], "***")
    return text

"""Headless Chromium for looking at a report as a person would: console errors, images, screenshots.

Drives Debian's ``chromium`` over the DevTools protocol (a websocket; ``websockets`` comes with the
Tiled client), offline: no network, a fresh profile each time. ``python tests/lab/view/browser.py REPORT PNG``
writes a screenshot.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["find_chromium", "inspect_page", "PageCheck"]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PageCheck(dict):
    """``{"console": [messages at warning/error level], "exceptions": [...], "images": [{alt, width, height}],
    "title": str, "screenshot": bytes | None}``."""


class _Session:
    def __init__(self, ws: Any):
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))))
            except TimeoutError:
                return


def inspect_page(
    html_path: Path, *, width: int = 1200, height: int = 900, full_page: bool = True, timeout_s: float = 60.0
) -> PageCheck:
    """Open ``html_path`` in headless Chromium; report console messages, images and a PNG screenshot."""
    from websockets.sync.client import connect

    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium, or make browser)")
    url = Path(html_path).resolve().as_uri()
    # Chromium's helper processes may still be writing the profile after the browser has exited;
    # a leftover in /tmp must not fail the check (it did once under load: "Directory not empty").
    with tempfile.TemporaryDirectory(prefix="qdlab-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout_s
            while not (port_file.is_file() and port_file.read_text().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chromium did not start its DevTools endpoint")
                time.sleep(0.1)
            port = port_file.read_text().split()[0]
            import urllib.request

            targets = json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read()
            )
            page = next(t for t in targets if t.get("type") == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout_s) as ws:
                s = _Session(ws)
                for domain in ("Page", "Runtime", "Log"):
                    s.call(f"{domain}.enable")
                s.call("Page.navigate", {"url": url})
                for _ in range(int(timeout_s * 10)):
                    state = s.call(
                        "Runtime.evaluate", {"expression": "document.readyState", "returnByValue": True}
                    )
                    if state["result"].get("value") == "complete":
                        break
                    time.sleep(0.1)
                s.drain(0.5)
                probe = (
                    "JSON.stringify({title: document.title, images: Array.from(document.images).map(i => "
                    "({alt: i.alt, width: i.naturalWidth, height: i.naturalHeight, complete: i.complete})), "
                    "height: document.documentElement.scrollHeight})"
                )
                info = json.loads(
                    s.call("Runtime.evaluate", {"expression": probe, "returnByValue": True})["result"][
                        "value"
                    ]
                )
                shot_params: dict[str, Any] = {"format": "png"}
                if full_page:
                    shot_params["captureBeyondViewport"] = True
                    shot_params["clip"] = {
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": info["height"],
                        "scale": 1,
                    }
                shot = base64.b64decode(s.call("Page.captureScreenshot", shot_params)["data"])
                s.drain(0.2)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    console, exceptions = [], []
    for ev in s.events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            console.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            console.append(params["entry"].get("text", ""))
        elif method == "Runtime.exceptionThrown":
            exceptions.append(params.get("exceptionDetails", {}).get("text", "exception"))
    return PageCheck(
        console=console, exceptions=exceptions, images=info["images"], title=info["title"], screenshot=shot
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python tests/lab/view/browser.py REPORT.html OUT.png\n")
        return 2
    check = inspect_page(Path(argv[0]))
    Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
    Path(argv[1]).write_bytes(check["screenshot"])
    problems = check["console"] + check["exceptions"]
    sys.stderr.write(f"{argv[1]}: {len(check['images'])} images; console: {problems or 'clean'}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

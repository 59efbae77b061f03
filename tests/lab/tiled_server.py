"""A real local Tiled server for the tests that stream to one (``tiled serve catalog``, from the
``tiled[server]`` extra): started on a free port with an API key, stopped with SIGTERM."""

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


class TiledServer:
    """``tiled serve catalog`` under ``root`` (its log there): on a temporary catalog, or on a persistent
    one so that a stopped server restarts with its data."""

    def __init__(self, root: Path, port: int, api_key: str, *, persistent: bool = False):
        self.root, self.port, self.api_key, self.persistent = root, port, api_key, persistent
        self.uri = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def _catalog_args(self) -> list[str]:
        if not self.persistent:
            return ["--temp"]
        return [
            str(self.root / "catalog.db"),
            "-w",
            str(self.root / "data"),
            "-w",
            f"duckdb:///{self.root / 'tables.duckdb'}",
            "--init",
        ]

    def start(self) -> None:
        tiled = Path(sys.executable).parent / "tiled"
        if not tiled.exists():
            pytest.skip("tiled[server] is not installed (pip install -e '.[test]')")
        self.log = open(self.root / "server.log", "a")
        self.proc = subprocess.Popen(
            [str(tiled), "serve", "catalog", *self._catalog_args(), "--api-key", self.api_key]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120  # a hang guard only
        while True:
            try:
                urllib.request.urlopen(f"{self.uri}/healthz", timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"tiled server did not start: {(self.root / 'server.log').read_text()[-2000:]}"
                    )
                time.sleep(0.2)

    def __enter__(self) -> "TiledServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

"""Serve a byte-level device model on a pseudo-terminal, with injected faults.

``PtyServer(device, link=PATH).start()`` opens a pty (raw, no echo), symlinks ``PATH`` to its slave
side (``/dev/pts/N``) and answers on a thread: any serial client (a qdlab driver, NESP-Lib,
minimalmodbus, a terminal program) opens ``PATH`` as if it were the instrument's port.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
import tty
from pathlib import Path
from typing import Protocol

from simulators.emulators.faults import Faults

__all__ = ["ByteDevice", "PtyServer", "check_link"]

_PTY = re.compile(r"^/dev/(pts/\d+|ttys\d+)$")  # a pseudo-terminal's slave side (Linux, macOS)


class ByteDevice(Protocol):
    """A device model fed with raw request bytes."""

    def receive(self, data: bytes) -> list[bytes]:
        """Bytes just read; returns one reply per complete request (``b""`` where none is due)."""

    def tick(self) -> None:
        """Called often (every ~20 ms of wall time): time-driven behaviour such as a watchdog."""


class PtyServer:
    """Serve ``device`` on a new pty; ``link`` (optional) becomes a symlink to its slave path."""

    def __init__(
        self,
        device: ByteDevice,
        *,
        link: str | os.PathLike | None = None,
        faults: Faults | None = None,
        tick_s: float = 0.02,
    ):
        self.device = device
        self.link = Path(link) if link is not None else None
        self.faults = faults or Faults()
        self.tick_s = tick_s
        self.requests = 0
        self.path = ""
        self._master = self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._link_made = False

    def start(self) -> "PtyServer":
        if self.link is not None and os.path.lexists(self.link):
            check_link(self.link)
            self.link.unlink()  # an emulator's link to a pseudo-terminal (a stale one, after kill -9)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes as on a serial line
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            self.link.symlink_to(self.path)
            self._link_made = True
        self._thread = threading.Thread(
            target=self._serve, name=f"emulator {self.link or self.path}", daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> str:
        """What a client opens: the link if there is one, else the pty's slave path."""
        return str(self.link) if self.link is not None else self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = -1
        if self._link_made and self.link is not None and self.link.is_symlink():
            try:
                if os.readlink(self.link) == self.path:
                    self.link.unlink()
            except OSError:
                pass
        self._link_made = False

    def __enter__(self) -> "PtyServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        faults = self.faults
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master], [], [], self.tick_s)
                data = os.read(self._master, 4096) if ready else b""
            except (OSError, ValueError):
                return
            if data:
                for reply in self.device.receive(data):
                    self.requests += 1
                    self._inject_device_faults()
                    if faults.hang_after is not None and self.requests > faults.hang_after:
                        continue
                    if not reply or faults.dropped():
                        continue
                    if faults.delay > 0:
                        time.sleep(faults.delay)
                    try:
                        os.write(self._master, faults.garbled(reply))
                    except OSError:
                        return
            self.device.tick()

    def _inject_device_faults(self) -> None:
        faults = self.faults
        if faults.stall_after is not None and self.requests == faults.stall_after:
            getattr(self.device, "inject_stall", lambda: None)()
        if faults.power_cycle_after is not None and self.requests == faults.power_cycle_after:
            getattr(self.device, "power_cycle", lambda: None)()


def check_link(link: str | os.PathLike) -> None:
    """FileExistsError unless ``link`` is free for an emulator: absent, or an emulator's link, a symbolic
    link to a pseudo-terminal (``/dev/pts/N``; ``/dev/ttysN`` on macOS), such as one killed by kill -9
    leaves behind; it holds nothing, so replacing it loses nothing. Anything else there (a file, a
    directory, a link to a file or to a real serial port such as ``/dev/ttyUSB0``) is never removed."""
    path = Path(link)
    if not os.path.lexists(path):
        return
    if path.is_symlink():
        target = os.readlink(path)
        if _PTY.match(target):
            return
        what = f"a symbolic link to {target}"
    else:
        what = "a directory" if path.is_dir() else "a file"
    raise FileExistsError(
        f"{path} exists ({what}); an emulator replaces only a link to a pseudo-terminal: "
        "remove it or choose another path"
    )

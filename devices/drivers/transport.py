"""Serial transports: a port shared by every device on one bus, opened on ``connect`` only.

A transport wraps a pyserial port object (``serial.Serial`` on a real port or a pseudo-terminal,
``serial.serial_for_url("loop://")`` in tests, or any object with ``write``/``read``/``in_waiting``/
``reset_input_buffer``/``close``). Transactions hold ``lock`` so that several pumps on one RS-232
daisy chain (or a keep-alive thread) never interleave their bytes.

A port is opened exclusively (pyserial ``exclusive=True``: an ``flock(LOCK_EX | LOCK_NB)`` on POSIX;
on Windows a COM port is exclusive by itself), so a second qdlab on the same port is refused with
``PortBusy`` before it writes a byte, instead of driving the first one's pumps. The lock is advisory:
programs that do not take it (a terminal program, say) are not kept out.
"""

from __future__ import annotations

import errno
import threading
import time
from typing import Any, Callable

from models.errors import ConfigurationError, DeviceError

__all__ = ["SerialTransport", "PortLost", "PortBusy", "SerialPorts", "open_serial"]

_READ_SLICE_S = 0.01  # port read timeout; a read of the whole reply is bounded by the caller's deadline


class PortLost(DeviceError):
    """The serial port went away (cable pulled, USB adapter reset, emulator killed)."""


class PortBusy(ConfigurationError):
    """Another process holds the serial port (exit status 2: nothing was sent on it)."""


def open_serial(url: str, *, baudrate: int) -> Any:
    """Open ``url`` (a device path, a pty path or a pyserial URL such as ``loop://``), 8N1, exclusively:
    ``PortBusy`` if another process holds it."""
    import serial

    try:
        return serial.serial_for_url(
            url,
            baudrate=baudrate,
            bytesize=8,
            parity="N",
            stopbits=1,
            timeout=_READ_SLICE_S,
            write_timeout=1.0,
            exclusive=True,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES) and "lock" in str(
            exc
        ):
            raise PortBusy(
                f"serial port {url} is held by another process (another qdlab running on this lab?); "
                "stop it first, or give this lab its own port in lab.toml",
                key="port",
            ) from None
        raise DeviceError(
            f"cannot open serial port {url}: {exc}; check the cable, the port name in lab.toml "
            "and that no other program holds the port"
        ) from None


class SerialTransport:
    """Bytes to and from one serial port.

    ``port`` is an open port object, or a zero-argument callable that opens one on ``open()`` (so
    building a device does no I/O). ``name`` is used in error messages.
    """

    def __init__(self, port: Any | Callable[[], Any], *, name: str = "serial port"):
        self._port: Any = None if callable(port) and not hasattr(port, "write") else port
        self._opener: Callable[[], Any] | None = port if self._port is None else None
        self.name = name
        self.lock = threading.RLock()
        self._users = 0

    # -- life cycle -------------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port (once, however many devices share it); each ``open`` is matched by a ``close``."""
        with self.lock:
            if self._port is None and self._opener is not None:  # (a port given open has no opener)
                self._port = self._opener()
            self._users += 1

    @property
    def port(self) -> Any:
        """The underlying pyserial object (for clients such as minimalmodbus that want one)."""
        if self._port is None:
            raise DeviceError(f"{self.name} is not open; connect the device first")
        return self._port

    def close(self) -> None:
        """Release one user; the port closes when the last device lets go."""
        with self.lock:
            self._users = max(0, self._users - 1)
            if self._users == 0 and self._port is not None and self._opener is not None:
                try:
                    self._port.close()
                except Exception:  # noqa: BLE001 - closing a dead port must not hide the first error
                    pass
                self._port = None

    # -- bytes ------------------------------------------------------------------------------------
    def _lost(self, exc: BaseException) -> PortLost:
        return PortLost(
            f"{self.name}: the port was lost ({exc}); the devices on it are out of control: "
            "check power and cable, then restart (qdlab resume continues the campaign)"
        )

    def discard_input(self) -> None:
        """Throw away stale bytes (a late reply to an earlier command)."""
        port = self.port
        try:
            port.reset_input_buffer()
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException, OSError or termios.error
            raise self._lost(exc) from None

    def write(self, data: bytes) -> None:
        port = self.port
        try:
            port.write(data)
            flush = getattr(port, "flush", None)
            if flush is not None:
                flush()
        except Exception as exc:  # noqa: BLE001
            raise self._lost(exc) from None

    def _read(self, n: int) -> bytes:
        try:
            return bytes(self.port.read(n))
        except Exception as exc:  # noqa: BLE001
            raise self._lost(exc) from None

    def read_exact(self, n: int, deadline: float) -> bytes:
        """``n`` bytes, or fewer if ``deadline`` (``time.monotonic()``) passes first."""
        buf = bytearray()
        while len(buf) < n and time.monotonic() < deadline:
            buf += self._read(n - len(buf))
        return bytes(buf)

    def read_until(self, terminator: int, deadline: float, *, limit: int = 256) -> bytes:
        """Bytes up to and including ``terminator``, or what came before ``deadline`` / ``limit`` bytes."""
        buf = bytearray()
        while time.monotonic() < deadline and len(buf) < limit:
            chunk = self._read(1)
            if chunk:
                buf += chunk
                if chunk[0] == terminator:
                    break
        return bytes(buf)


class SerialPorts:
    """The serial transports of one rig, by port: devices on one bus share its transport and its lock.

    One is made per rig (``lab.run.rig_builder``) and passed to the driver factories; nothing is shared
    between rigs, so a second rig in one process opens its ports afresh."""

    def __init__(self) -> None:
        self._by_url: dict[str, SerialTransport] = {}
        self._lock = threading.Lock()

    def transport(self, url: str, *, baudrate: int) -> SerialTransport:
        """The one transport for ``url`` on this rig (made on first use; opening the port is ``connect``'s)."""
        with self._lock:
            transport = self._by_url.get(url)
            if transport is None:
                transport = SerialTransport(
                    lambda: open_serial(url, baudrate=baudrate), name=f"serial port {url}"
                )
                self._by_url[url] = transport
            return transport

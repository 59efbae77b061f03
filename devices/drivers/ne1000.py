"""``NE1000Pump``: a New Era NE-1000 family syringe pump as a ``PumpBackend``.

Transport (``SerialTransport``, shared by every pump on one RS-232 chain), protocol
(``ne1000_protocol``: framing and strict parsing) and behaviour (this module: units, run/stop,
volume accounting, alarms, the safe-mode watchdog) are separate.

- ``connect()`` brings the pump to basic mode with a safe-framed ``SAF0`` (accepted in both modes),
  checks the firmware (``VER``), sets the syringe diameter, infuse direction, clears the dispensed
  counters (``connect`` assumes a freshly filled syringe) and, when ``watchdog_s`` > 0 (a lab file's
  pump always has one: ``lab.config.lab_toml.PumpConfig.watchdog``, 10 s unless set), turns on safe mode ``SAF n``: the pump then stops itself with alarm ``A?T``
  if it hears no valid packet for n seconds. A keep-alive thread polls the status every n/3 s, so the
  watchdog is a dead-man switch held by this process: if the controller dies or hangs, the pump stops.
  A keep-alive that has died (its port lost, an unexpected error) is reported by the next call on the
  pump (``DeviceError``), so a campaign stops safely instead of running on an unwatched pump.
- Every run gets a volume target (``VOL``) of what is left in the syringe, so the pump stops by
  itself when the syringe is empty even if the controller is gone; the driver then reports
  ``alarm() == "empty"`` and refuses to run again until the syringe is refilled: ``refill(volume)``
  (the pump is stopped and its dispensed counters cleared, ``CLD``) or a reconnect. The rule is
  ``devices.limits.check_syringe``, shared with the simulated pump.
- Timeouts and garbled replies are retried ``retries`` times, then raise DeviceError / ProtocolError
  naming what to check.
"""

from __future__ import annotations

import math
import threading
import time

from devices.drivers import ne1000_protocol as proto
from devices.drivers.transport import PortLost, SerialTransport, shared_transport
from devices.limits import SYRINGE_EMPTY_TOLERANCE_UL, check_syringe
from models.errors import ConfigurationError, DeviceError, ProtocolError

__all__ = ["NE1000Pump", "NE1000_BAUDRATE", "make_ne1000"]

NE1000_BAUDRATE = 19200  # factory setting (REFERENCE.md section 5)

_ALARM_WORDS = {"R": "reset", "S": "stall", "T": "timeout", "E": "program_error", "O": "phase_out_of_range"}


class _NoReply(DeviceError):
    pass


class NE1000Pump:
    """One NE-1000 at ``address`` (0-99) on ``transport``, infusing one reagent.

    ``syringe_volume_ul`` is the filled volume (the syringe is assumed full at ``connect``);
    ``syringe_diameter_mm`` is written to the pump when given (else the pump's setting is kept);
    ``watchdog_s`` > 0 turns on safe mode with that timeout (rounded up to whole seconds, <= 255); it has
    no default, so no caller forgets it; 0 is off, for tools and tests on a recorded or emulated port
    only (a lab file cannot ask for it);
    ``timeout_s`` bounds one reply; ``retries`` extra tries follow a timeout or a garbled reply.
    """

    def __init__(
        self,
        transport: SerialTransport,
        *,
        address: int = 0,
        syringe_volume_ul: float,
        syringe_diameter_mm: float | None = None,
        watchdog_s: float,
        timeout_s: float = 0.5,
        retries: int = 2,
        name: str = "pump",
    ):
        if not 0 <= address <= 99:
            raise ConfigurationError(f"NE-1000 address must be 0-99, got {address}")
        if watchdog_s < 0 or watchdog_s > 255:
            raise ConfigurationError(f"NE-1000 watchdog must be 0-255 s, got {watchdog_s:g}")
        self.transport = transport
        self.address = address
        self.syringe_volume_ul = float(syringe_volume_ul)
        self.syringe_diameter_mm = syringe_diameter_mm
        self.watchdog_s = int(math.ceil(watchdog_s))
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.name = name
        self.firmware = ""
        self._safe = False
        self._lock = threading.RLock()
        self._connected = False
        self._running = False
        self._rate_ul_min = 0.0
        self._alarm: str | None = None
        self._empty = False
        self._keepalive: threading.Thread | None = None
        self._keepalive_stop = threading.Event()
        self.keepalive_error: DeviceError | None = None

    # -- bytes ------------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"{self.name} (NE-1000 address {self.address} on {self.transport.name})"

    def _read_frame(self, safe: bool) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        if safe:
            head = self.transport.read_exact(2, deadline)
            if not head:
                raise _NoReply("no reply")
            if len(head) < 2 or head[0] != proto.STX or head[1] < 5:
                raise ProtocolError(f"{self._where()}: bad safe-mode reply header {head!r}")
            rest = self.transport.read_exact(head[1] - 1, deadline)
            return head + rest
        frame = self.transport.read_until(proto.ETX, deadline)
        if not frame:
            raise _NoReply("no reply")
        if frame[-1] != proto.ETX:
            raise ProtocolError(f"{self._where()}: incomplete or garbled reply {frame!r}")
        return frame

    def _transact(
        self, command: str, *, send_safe: bool | None = None, reply_safe: bool | None = None
    ) -> proto.Reply:
        send_safe = self._safe if send_safe is None else send_safe
        reply_safe = send_safe if reply_safe is None else reply_safe
        packet = (
            proto.encode_safe(self.address, command)
            if send_safe
            else proto.encode_basic(self.address, command)
        )
        last: DeviceError | None = None
        for _ in range(self.retries + 1):
            with self.transport.lock:
                self.transport.discard_input()
                self.transport.write(packet)
                try:
                    reply = proto.parse_reply(self._read_frame(reply_safe), safe=reply_safe)
                except _NoReply:
                    last = DeviceError(
                        f"{self._where()}: no reply to {command!r} after {self.retries + 1} tries of "
                        f"{self.timeout_s:g} s; check that the pump is on, the cable, 19200 baud 8N1 and the "
                        "pump's address (ADR on its keypad)"
                    )
                    continue
                except ProtocolError as exc:
                    last = ProtocolError(
                        f"{self._where()}: garbled reply to {command!r} "
                        f"({exc}); check the cable and the baud rate (19200)"
                    )
                    time.sleep(min(0.05, self.timeout_s))  # let the rest of a torn frame arrive, then drop it
                    continue
            if reply.address != self.address:
                last = ProtocolError(
                    f"{self._where()}: reply from address {reply.address}; two pumps share "
                    "an address or the chain is miswired"
                )
                continue
            if reply.error == "COM":
                last = ProtocolError(
                    f"{self._where()}: the pump reports a bad packet for {command!r}; check the cable"
                )
                continue
            return reply
        raise last  # type: ignore[misc]

    def _command(self, command: str, **kwargs) -> proto.Reply:
        """Send ``command``; an alarm reply is latched and the command sent again (the pump reports an
        alarm instead of executing the command); a refusal raises DeviceError."""
        reply = self._transact(command, **kwargs)
        if reply.alarm is not None:
            self._latch(reply.alarm)
            reply = self._transact(command, **kwargs)
            if reply.alarm is not None:
                self._latch(reply.alarm)
                raise DeviceError(
                    f"{self._where()}: alarm '{self._alarm}' again on {command!r}; "
                    "check the pump and its syringe, then restart"
                )
        if reply.error is not None and reply.error != "IGN":
            raise DeviceError(f"{self._where()}: the pump refused {command!r}: {proto.ERRORS[reply.error]}")
        return reply

    def _latch(self, alarm_code: str) -> None:
        self._alarm = _ALARM_WORDS[alarm_code]
        self._running = False

    # -- PumpBackend ------------------------------------------------------------------------------
    def connect(self) -> None:
        with self._lock:
            self.transport.open()
            self._safe = False
            self._alarm = None
            # the first reply after power-up is A?R: latched by _command, then the command is repeated
            self._command("SAF0", send_safe=True, reply_safe=False)
            self._alarm = None
            self.firmware = self._command("VER").data
            if not self.firmware.startswith("NE"):
                raise ProtocolError(f"{self._where()}: firmware {self.firmware!r} is not a New Era pump")
            self._stop_fully()
            if self.syringe_diameter_mm is not None:
                text = proto.format_number(float(self.syringe_diameter_mm))
                if text is None:
                    raise ConfigurationError(f"{self.name}: syringe diameter {self.syringe_diameter_mm} mm")
                self._command(f"DIA{text}")
            self._command("DIRINF")
            self._command("CLDINF")
            self._command("CLDWDR")
            self._empty = False
            if self.watchdog_s:
                self._command(f"SAF{self.watchdog_s}", send_safe=True, reply_safe=True)
                self._safe = True
                self._start_keepalive()
            self._connected = True

    def _stop_fully(self) -> None:
        # STP pauses a running pump (P) and stops a paused one (S)
        for _ in range(2):
            if self._command("STP").status in ("S", None):
                break
        self._running = False

    def _status(self) -> str | None:
        """Poll the pump; latch any alarm or an unexpected stop (empty syringe, keypad stop)."""
        reply = self._command("")
        if self._running and reply.status not in ("I", "X"):
            self._running = False
            if self._alarm is None:
                infused, _ = self._dispensed()
                self._empty = infused >= self.syringe_volume_ul - SYRINGE_EMPTY_TOLERANCE_UL
                self._alarm = "empty" if self._empty else "stopped"
        return reply.status

    def _dispensed(self) -> tuple[float, float]:
        return proto.parse_dispensed(self._command("DIS").data)

    def _check_connected(self) -> None:
        if not self._connected:
            raise DeviceError(f"{self._where()}: not connected; call connect() first")
        keepalive = self._keepalive
        if (
            self._safe
            and keepalive is not None
            and not keepalive.is_alive()
            and not self._keepalive_stop.is_set()
        ):
            why = self.keepalive_error or "it stopped"
            raise DeviceError(
                f"{self._where()}: the watchdog keep-alive is dead ({why}); the pump's watchdog "
                f"stops it within {self.watchdog_s} s: check the port, then qdlab resume"
            )

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        with self._lock:
            self._check_connected()
            if flow_ul_min <= 0:
                self._stop_fully()
                self._rate_ul_min = 0.0
                return
            try:
                argument = proto.rate_command_argument(flow_ul_min)
            except ValueError as exc:
                raise DeviceError(f"{self._where()}: {exc}") from None
            if self._running and self._alarm is None and self._status() in ("I",):
                self._command(f"RAT{argument}")  # the rate may change while pumping
                self._rate_ul_min = _rate_of(argument)
                return
            self._alarm = None
            self._stop_fully()
            infused, _ = self._dispensed()
            if self._empty:  # the pump stopped on its volume target: empty, whatever the counter says
                infused = max(infused, self.syringe_volume_ul)
            try:
                remaining = check_syringe(
                    self._where(), dispensed_ul=infused, filled_ul=self.syringe_volume_ul
                )
            except DeviceError:
                self._empty = True
                self._alarm = "empty"
                raise
            self._command(f"RAT{argument}")
            unit, text = _volume_argument(remaining)
            self._command(f"VOL{unit}")
            self._command(f"VOL{text}")
            self._command("RUN")
            self._rate_ul_min = _rate_of(argument)
            self._running = True

    def flow_ul_min(self) -> float:
        with self._lock:
            self._check_connected()
            if self._status() != "I":
                return 0.0
            return proto.parse_rate(self._command("RAT").data)

    def dispensed_ul(self) -> float:
        with self._lock:
            self._check_connected()
            return self._dispensed()[0]

    def remaining_ul(self) -> float:
        """What is left in the syringe (uL), from its filled volume and the pump's dispensed counter."""
        return self.syringe_volume_ul - self.dispensed_ul()

    def refill(self, volume_ul: float) -> None:
        """The syringe was refilled and now holds ``volume_ul`` (uL): stop, clear the pump's dispensed
        counters (``CLDINF``, ``CLDWDR``) and the 'empty' alarm; the next run targets that volume."""
        with self._lock:
            self._check_connected()
            if not volume_ul > 0:
                raise DeviceError(f"{self._where()}: a refill needs a positive volume, got {volume_ul:g} uL")
            self._stop_fully()
            self._rate_ul_min = 0.0
            self._command("CLDINF")
            self._command("CLDWDR")
            self.syringe_volume_ul = float(volume_ul)
            self._empty = False
            if self._alarm in ("empty", "stopped"):
                self._alarm = None

    def stop(self) -> None:
        with self._lock:
            if not self._connected:
                return
            self._stop_fully()

    def alarm(self) -> str | None:
        with self._lock:
            self._check_connected()
            self._status()
            return self._alarm

    def close(self) -> None:
        self._keepalive_stop.set()
        if self._keepalive is not None:
            self._keepalive.join(timeout=2.0)
            self._keepalive = None
        with self._lock:
            if self._connected and self._safe:
                try:  # leave the pump in basic mode, so its watchdog does not alarm a stopped pump
                    self._command("SAF0", send_safe=True, reply_safe=False)
                    self._safe = False
                except DeviceError:
                    pass
            if self._connected:
                self._connected = False
                self.transport.close()

    # -- the dead-man switch ----------------------------------------------------------------------
    def _start_keepalive(self) -> None:
        self._keepalive_stop.clear()
        period = self.watchdog_s / 3.0

        def run() -> None:
            while not self._keepalive_stop.wait(period):
                try:
                    with self._lock:
                        self._command("")
                    self.keepalive_error = None
                except PortLost as exc:
                    self.keepalive_error = exc
                    return  # nothing to keep alive: the pump's watchdog now stops it
                except DeviceError as exc:
                    self.keepalive_error = exc
                except Exception as exc:  # noqa: BLE001 - a dead keep-alive is reported by the next call
                    self.keepalive_error = DeviceError(f"{type(exc).__name__}: {exc}")
                    return

        self._keepalive = threading.Thread(target=run, name=f"{self.name}-keepalive", daemon=True)
        self._keepalive.start()


def _rate_of(argument: str) -> float:
    return float(argument[:-2]) * proto.RATE_UNITS[argument[-2:]]


def _volume_argument(volume_ul: float) -> tuple[str, str]:
    """(unit, number) for a volume target never above ``volume_ul``."""
    unit = "UL" if volume_ul < 9999.0 else "ML"
    value = volume_ul / proto.VOLUME_UNITS[unit]
    text = proto.format_number(value)
    if text is None:
        raise DeviceError(f"a volume of {volume_ul:g} uL cannot be written to an NE-1000")
    decimals = len(text.split(".")[1]) if "." in text else 0
    floored = math.floor(value * 10**decimals + 1e-9) / 10**decimals
    return unit, f"{floored:.{decimals}f}"


def make_ne1000(*, settings, name: str = "pump", **_) -> NE1000Pump:
    """Registry factory: ``type = "ne1000"`` pumps in ``lab.toml`` (port, address, syringe, watchdog)."""
    if not settings.port:
        raise ConfigurationError(
            f'pumps.{name}.port: an ne1000 pump needs the serial port it is on (e.g. port = "/dev/ttyUSB0")'
        )
    return NE1000Pump(
        shared_transport(settings.port, baudrate=NE1000_BAUDRATE),
        address=settings.address,
        syringe_volume_ul=settings.syringe_volume,
        syringe_diameter_mm=settings.syringe_diameter,
        watchdog_s=settings.watchdog,
        name=name,
    )

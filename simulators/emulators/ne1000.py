"""A New Era NE-1000 syringe pump (one or several on one RS-232 chain), byte for byte.

Each pump drives a ``PumpBackend`` (a view on the simulated world, so what it infuses reaches the
reactor). Behaviour follows REFERENCE.md section 5 (NE-1000 User Manual): basic and safe framing
(a safe packet is accepted in either mode; the reply uses the mode in force after the command), the
first reply after power-up is ``A?R``, a pending alarm is reported instead of executing the next
command, ``STP`` pauses a running pump and stops a paused one, a volume target stops the pump, and
safe mode ``SAF n`` stops a running pump with ``A?T`` after n wall-clock seconds without a valid
packet (the watchdog is about the cable, so it runs on wall time whatever ``--speed``).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

from devices.backends import PumpBackend
from devices.drivers import ne1000_protocol as proto
from models.errors import ProtocolError

__all__ = ["NE1000Model", "NE1000Bus", "FIRMWARE"]

FIRMWARE = "NE1000V3.928"
_MAX_SPEED_MM_MIN = 50.0  # plunger speed at the NE-1000's top rate (1690 mL/h with a 60 mL syringe)
_MIN_SPEED_MM_MIN = 6.8e-4  # and at its bottom rate (0.73 uL/h with a 1 mL syringe)
_REQUEST = re.compile(r"(\d{1,2})?([A-Z]{3})?(.*)")
_RATE_ARG = re.compile(r"([0-9.]+)(UM|MM|UH|MH)?")


class _Refused(Exception):
    def __init__(self, code: str):
        self.code = code


class NE1000Model:
    """One pump's state and command set. ``clock`` times withdrawal (world time); ``wall`` the watchdog."""

    def __init__(
        self,
        address: int,
        backend: PumpBackend,
        *,
        clock: Any,
        wall: Callable[[], float] = time.monotonic,
        diameter_mm: float = 14.57,
    ):
        self.address = address
        self.backend = backend
        self.clock = clock
        self.wall = wall
        self.diameter_mm = diameter_mm
        self.rate_ul_min = 0.0
        self.rate_unit = "UM"
        self.volume_unit = "UL"
        self.target_ul = 0.0
        self.direction = "INF"
        self.status = "S"
        self.pending_alarm: str | None = "R"  # first reply after power-up
        self.safe_timeout_s = 0
        self.safe = False
        self.powered = True
        self.last_packet = wall()
        self._infused_cleared = 0.0
        self._withdrawn = 0.0
        self._withdraw_since: float | None = None
        self._run_start_infused = 0.0
        self._handlers: dict[str, Callable[[str], str]] = {
            "": self._status_cmd,
            "VER": self._ver,
            "DIA": self._dia,
            "RAT": self._rat,
            "VOL": self._vol,
            "DIR": self._dir,
            "DIS": self._dis,
            "CLD": self._cld,
            "RUN": self._run,
            "STP": self._stp,
            "PUR": self._pur,
            "SAF": self._saf,
        }
        backend.connect()

    # -- what the pump measures -------------------------------------------------------------------
    def infused_ul(self) -> float:
        return self.backend.dispensed_ul() - self._infused_cleared

    def withdrawn_ul(self) -> float:
        extra = 0.0
        if self._withdraw_since is not None:
            extra = self.rate_ul_min * (self.clock.now() - self._withdraw_since) / 60.0
        return self._withdrawn + extra

    def _rate_range(self) -> tuple[float, float]:
        area_mm2 = math.pi * (self.diameter_mm / 2.0) ** 2  # 1 mm3 = 1 uL
        return area_mm2 * _MIN_SPEED_MM_MIN, area_mm2 * _MAX_SPEED_MM_MIN

    def _halt(self, status: str = "S", *, at: float | None = None) -> None:
        """Stop the motor (now, or at clock time ``at`` where the backend can place a stop in the past:
        ``stop_at``, which :class:`simulators.emulators.ideal.IdealPump` has)."""
        if self._withdraw_since is not None:
            self._withdrawn = self.withdrawn_ul()
            self._withdraw_since = None
        if self.status in ("I", "X"):
            stop_at = getattr(self.backend, "stop_at", None)
            if at is not None and stop_at is not None:
                stop_at(at)
            else:
                self.backend.stop()
        self.status = status

    # -- faults and time --------------------------------------------------------------------------
    def alarm(self, code: str) -> None:
        self._halt()
        self.pending_alarm = code

    def power_cycle(self) -> None:
        self.alarm("R")

    def power_off(self) -> None:
        """Mains lost (or the pump switched off): the motor stops and the pump never answers again."""
        self._halt()
        self.powered = False

    def tick(self) -> None:
        if self.status in ("I", "X") and self.backend.alarm() == "stall":
            self.alarm("S")
        if self.status == "I" and self.target_ul > 0:
            over = self.infused_ul() - self._run_start_infused - self.target_ul
            if over >= 0:
                # the real pump stops on the target itself; this tick may come late (a busy machine
                # runs the server thread late), so the stop is placed when the target was reached
                rate = self.backend.flow_ul_min()
                self._halt(at=self.clock.now() - 60.0 * over / rate if rate > 0 else None)
        if (
            self.safe
            and self.safe_timeout_s
            and self.status in ("I", "W", "X")
            and self.wall() - self.last_packet > self.safe_timeout_s
        ):
            self.alarm("T")

    # -- one request ------------------------------------------------------------------------------
    def handle(self, command: str, argument: str) -> str:
        """Reply body (status + data) to ``command`` with ``argument``."""
        self.last_packet = self.wall()
        self.tick()
        if self.pending_alarm is not None:
            code, self.pending_alarm = self.pending_alarm, None
            return f"A?{code}"
        handler = self._handlers.get(command)
        if handler is None:
            return f"{self.status}?"
        try:
            data = handler(argument)
        except _Refused as refused:
            return f"{self.status}?{refused.code}"
        return f"{self.status}{data}"

    @staticmethod
    def _number(text: str) -> float:
        try:
            return proto.parse_number(text)
        except ProtocolError:
            raise _Refused("OOR") from None

    def _status_cmd(self, arg: str) -> str:
        if arg:
            raise _Refused("")
        return ""

    def _ver(self, arg: str) -> str:
        return FIRMWARE

    def _dia(self, arg: str) -> str:
        if not arg:
            return proto.format_reply_number(self.diameter_mm)
        if self.status != "S":
            raise _Refused("NA")
        value = self._number(arg)
        if not 0.1 <= value <= 80.0:
            raise _Refused("OOR")
        self.diameter_mm = value
        return ""

    def _rat(self, arg: str) -> str:
        if not arg:
            return (
                proto.format_reply_number(self.rate_ul_min / proto.RATE_UNITS[self.rate_unit])
                + self.rate_unit
            )
        match = _RATE_ARG.fullmatch(arg)
        if not match:
            raise _Refused("OOR")
        unit = match.group(2) or self.rate_unit
        rate = self._number(match.group(1)) * proto.RATE_UNITS[unit]
        low, high = self._rate_range()
        if not low <= rate <= high:
            raise _Refused("OOR")
        self.rate_ul_min, self.rate_unit = rate, unit
        if self.status == "I":
            self.backend.set_flow_ul_min(rate)
        return ""

    def _vol(self, arg: str) -> str:
        scale = proto.VOLUME_UNITS[self.volume_unit]
        if not arg:
            return proto.format_reply_number(self.target_ul / scale) + self.volume_unit
        if arg in proto.VOLUME_UNITS:
            self.volume_unit = arg
            return ""
        self.target_ul = self._number(arg) * scale
        return ""

    def _dir(self, arg: str) -> str:
        if not arg:
            return self.direction
        if self.status != "S" and self.status != "P":
            raise _Refused("NA")
        if arg == "REV":
            arg = "WDR" if self.direction == "INF" else "INF"
        if arg not in ("INF", "WDR"):
            raise _Refused("NA" if arg == "STK" else "OOR")
        self.direction = arg
        return ""

    def _dis(self, arg: str) -> str:
        infused, withdrawn = max(0.0, self.infused_ul()), self.withdrawn_ul()
        unit = self.volume_unit
        scale = proto.VOLUME_UNITS[unit]
        if proto.format_number(max(infused, withdrawn) / scale) is None:
            unit, scale = "ML", proto.VOLUME_UNITS["ML"]
        return (
            f"I{proto.format_reply_number(infused / scale)}W{proto.format_reply_number(withdrawn / scale)}"
            f"{unit}"
        )

    def _cld(self, arg: str) -> str:
        if arg == "INF":
            self._infused_cleared = self.backend.dispensed_ul()
            self._run_start_infused = 0.0
        elif arg == "WDR":
            self._withdrawn = 0.0
            if self._withdraw_since is not None:
                self._withdraw_since = self.clock.now()
        else:
            raise _Refused("OOR")
        return ""

    def _run(self, arg: str) -> str:
        if self.status in ("I", "W", "X"):
            return ""
        if self.rate_ul_min <= 0:
            raise _Refused("NA")
        if self.status != "P":
            self._run_start_infused = self.infused_ul()
        if self.direction == "INF":
            self.status = "I"
            self.backend.set_flow_ul_min(self.rate_ul_min)
        else:
            self.status = "W"
            self._withdraw_since = self.clock.now()
        return ""

    def _stp(self, arg: str) -> str:
        self._halt("P" if self.status in ("I", "W", "X") else "S")
        return ""

    def _pur(self, arg: str) -> str:
        if self.status != "S" and self.status != "P":
            raise _Refused("NA")
        self.status = "X"
        self.backend.set_flow_ul_min(self._rate_range()[1])
        return ""

    def _saf(self, arg: str) -> str:
        if not arg:
            return str(self.safe_timeout_s)
        if not arg.isdigit() or int(arg) > 255:
            raise _Refused("OOR")
        self.safe_timeout_s = int(arg)
        self.safe = self.safe_timeout_s > 0
        return ""


class NE1000Bus:
    """The pumps on one RS-232 chain as one ``ByteDevice``; requests to other addresses get no reply."""

    def __init__(self, pumps: list[NE1000Model], *, wall: Callable[[], float] = time.monotonic):
        self.pumps = {p.address: p for p in pumps}
        self.wall = wall
        self._buffer = bytearray()
        self._since = wall()

    def receive(self, data: bytes) -> list[bytes]:
        if data:
            if not self._buffer:
                self._since = self.wall()
            self._buffer += data
        replies = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return replies
            replies.append(self._answer(*frame))

    def _next_frame(self) -> tuple[bytes, bool] | None:
        buf = self._buffer
        if not buf:
            return None
        if buf[0] == proto.STX:
            if len(buf) < 2 or len(buf) < buf[1] + 1:
                return None
            n = max(buf[1] + 1, 2)
            frame = bytes(buf[:n])
            del buf[:n]
            self._since = self.wall()
            return frame, True
        end = buf.find(b"\r")
        if end < 0:
            if len(buf) > 256:
                buf.clear()
            return None
        frame = bytes(buf[:end])
        del buf[: end + 1]
        self._since = self.wall()
        return frame, False

    def _answer(self, frame: bytes, safe: bool) -> bytes:
        if safe:
            try:
                body = proto.decode_safe_frame(frame)
            except ProtocolError:
                digits = re.match(rb"\x02.(\d{1,2})", frame)
                pump = self.pumps.get(int(digits.group(1))) if digits else None
                if pump is None or not pump.powered:
                    return b""
                return proto.encode_reply(pump.address, f"{pump.status}?COM", safe=True)
        else:
            body = frame
        try:
            text = body.decode("ascii").replace(" ", "")
        except UnicodeDecodeError:
            return b""
        match = _REQUEST.fullmatch(text)
        if match is None:
            return b""
        address = int(match.group(1) or 0)
        pump = self.pumps.get(address)
        if pump is None or not pump.powered:
            return b""
        if not safe and pump.safe:
            return proto.encode_reply(
                address, f"{pump.status}?COM", safe=True
            )  # safe mode wants safe packets
        reply = pump.handle(match.group(2) or "", match.group(3))
        return proto.encode_reply(address, reply, safe=pump.safe)

    def tick(self) -> None:
        if self._buffer and self.wall() - self._since > 0.5:
            self._buffer.clear()  # a torn request: the line went quiet in the middle of it
        for pump in self.pumps.values():
            pump.tick()

    def inject_stall(self) -> None:
        for pump in self.pumps.values():
            if pump.status in ("I", "W", "X"):
                pump.alarm("S")

    def power_cycle(self) -> None:
        for pump in self.pumps.values():
            pump.power_cycle()

"""A Modbus-RTU temperature controller (Eurotherm 2000/3200 class), byte for byte.

Holding registers (REFERENCE.md section 5): 1 process value, 2 target set point, 3 output %, 35
set-point rate limit (degC/min, 0 = off); values are signed 16-bit integers with one decimal
(x10). Function codes 3 and 4 (read), 6 (write one) and 16 (write several); exception 01 for another
function, 02 for an unknown register or a write to a read-only one, 03 for a value outside the
controller's set-point range. Frames with a bad CRC are ignored, as a real slave does.

The modelled register map has no communications watchdog: a controller that stops hearing its master
keeps regulating at its last set point (docs/hardware.md, "When the link is lost"). ``power_off()``
makes it stop answering while the coil keeps that set point, the worst case for a safe stop.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from devices.backends import HeaterBackend

__all__ = ["ModbusTC", "modbus_crc", "PV", "SP", "OUTPUT", "SP_RATE"]

PV, SP, OUTPUT, SP_RATE = 1, 2, 3, 35
_WRITABLE = {SP, SP_RATE}


def modbus_crc(data: bytes) -> bytes:
    """CRC-16/MODBUS of ``data``, little-endian as it goes on the wire."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc.to_bytes(2, "little")


class ModbusTC:
    """One controller at Modbus ``address`` on a ``HeaterBackend``; ``clock`` (world time) drives the
    set-point ramp; set points outside [sp_low_c, sp_high_c] are refused."""

    def __init__(
        self,
        backend: HeaterBackend,
        *,
        clock: Any,
        address: int = 1,
        sp_low_c: float = 0.0,
        sp_high_c: float = 400.0,
        wall: Callable[[], float] = time.monotonic,
    ):
        self.backend = backend
        self.clock = clock
        self.address = address
        self.sp_low_c, self.sp_high_c = sp_low_c, sp_high_c
        self.wall = wall
        backend.connect()
        self.target_c = backend.setpoint_c()
        self.rate_c_min = 0.0
        self._ramp_t = clock.now()
        self._buffer = bytearray()
        self._since = wall()
        self.powered = True

    def power_off(self) -> None:
        """The controller stops answering (its comms or its supply lost); the coil holds its set point."""
        self.powered = False

    # -- registers --------------------------------------------------------------------------------
    def read(self, register: int) -> float:
        if register == PV:
            return self.backend.temperature_c()
        if register == SP:
            return self.target_c
        if register == OUTPUT:
            pv, working = self.backend.temperature_c(), self.backend.setpoint_c()
            holding = max(0.0, (pv - 25.0) / 4.0)  # % needed to hold the coil hot (rough)
            return max(0.0, min(100.0, holding + 5.0 * (working - pv)))
        if register == SP_RATE:
            return self.rate_c_min
        raise KeyError(register)

    def write(self, register: int, value_c: float) -> None:
        if register == SP:
            if not self.sp_low_c <= value_c <= self.sp_high_c:
                raise ValueError(value_c)
            self.target_c = value_c
            self._ramp_t = self.clock.now()
            if self.rate_c_min <= 0:
                self.backend.set_setpoint_c(value_c)
        elif register == SP_RATE:
            if value_c < 0:
                raise ValueError(value_c)
            self.rate_c_min = value_c
        else:
            raise KeyError(register)

    def tick(self) -> None:
        if self._buffer and self.wall() - self._since > 0.5:
            self._buffer.clear()
        if self.rate_c_min > 0:
            working = self.backend.setpoint_c()
            now = self.clock.now()
            step = self.rate_c_min * (now - self._ramp_t) / 60.0
            self._ramp_t = now
            if working != self.target_c:
                nxt = (
                    min(self.target_c, working + step)
                    if self.target_c > working
                    else max(self.target_c, working - step)
                )
                self.backend.set_setpoint_c(nxt)

    # -- RTU frames -------------------------------------------------------------------------------
    def receive(self, data: bytes) -> list[bytes]:
        if not self.powered:
            self._buffer.clear()
            return []
        if data:
            if not self._buffer:
                self._since = self.wall()
            self._buffer += data
        replies = []
        while len(self._buffer) >= 2:
            function = self._buffer[1]
            if function in (3, 4, 6):
                n = 8
            elif function == 16:
                if len(self._buffer) < 7:
                    break
                n = 9 + self._buffer[6]
            else:
                n = len(self._buffer)  # unknown function: take what came (the line then goes quiet)
                if n < 4:
                    break
            if len(self._buffer) < n:
                break
            frame = bytes(self._buffer[:n])
            del self._buffer[:n]
            self._since = self.wall()
            if modbus_crc(frame[:-2]) != frame[-2:]:
                self._buffer.clear()  # out of step: drop everything, the master will time out and retry
                replies.append(b"")
                continue
            replies.append(self._answer(frame[:-2]))
        return replies

    def _exception(self, function: int, code: int) -> bytes:
        body = bytes([self.address, function | 0x80, code])
        return body + modbus_crc(body)

    def _answer(self, pdu: bytes) -> bytes:
        address, function = pdu[0], pdu[1]
        if address not in (self.address, 0):
            return b""
        reply = self._dispatch(function, pdu[2:])
        if address == 0:
            return b""  # broadcast: executed, never answered
        return reply

    def _dispatch(self, function: int, args: bytes) -> bytes:
        try:
            if function in (3, 4):
                start, count = struct.unpack(">HH", args[:4])
                if not 1 <= count <= 125:
                    return self._exception(function, 3)
                values = [self._scaled(self.read(r)) for r in range(start, start + count)]
                body = bytes([self.address, function, 2 * count]) + struct.pack(f">{count}h", *values)
            elif function == 6:
                register, raw = struct.unpack(">Hh", args[:4])
                self._write_checked(register, raw)
                body = bytes([self.address, function]) + args[:4]
            elif function == 16:
                start, count, nbytes = struct.unpack(">HHB", args[:5])
                if nbytes != 2 * count or len(args) != 5 + nbytes:
                    return self._exception(function, 3)
                for i, raw in enumerate(struct.unpack(f">{count}h", args[5 : 5 + nbytes])):
                    self._write_checked(start + i, raw)
                body = bytes([self.address, function]) + args[:4]
            else:
                return self._exception(function, 1)
        except KeyError:
            return self._exception(function, 2)
        except ValueError:
            return self._exception(function, 3)
        return body + modbus_crc(body)

    def _write_checked(self, register: int, raw: int) -> None:
        if register not in _WRITABLE:
            raise KeyError(register)
        self.write(register, raw / 10.0)

    @staticmethod
    def _scaled(value_c: float) -> int:
        return max(-32768, min(32767, int(round(value_c * 10.0))))

"""New Era NE-1000 family syringe pump protocol: framing, numbers and strict reply parsing.

Pure functions over bytes, shared by the driver (``devices.drivers.ne1000``) and usable by an
emulator. Facts from REFERENCE.md section 5 (NE-1000 User Manual, RS-232 protocol):

- basic mode: request ``[addr]CMD[arg]\\r``; reply ``STX addr(2) status data ETX``;
- safe mode: ``STX len data crc_hi crc_lo ETX`` with len = len(data) + 4 and CRC-16/XMODEM over the
  data (``binascii.crc_hqx(data, 0)``); a pump accepts a safe packet in either mode;
- status I/W/S/P/T/U/X, alarms ``A?R|S|T|E|O``, command errors ``?``, ``?NA``, ``?OOR``, ``?COM``,
  ``?IGN``;
- numbers have at most 4 digits and one point, at most 3 decimals.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from models.errors import ProtocolError

__all__ = [
    "STX",
    "ETX",
    "CR",
    "RATE_UNITS",
    "VOLUME_UNITS",
    "STATUSES",
    "ALARMS",
    "ERRORS",
    "Reply",
    "format_number",
    "parse_number",
    "rate_command_argument",
    "parse_rate",
    "parse_volume",
    "parse_dispensed",
    "encode_basic",
    "encode_safe",
    "decode_safe_frame",
    "parse_reply",
    "crc16",
    "encode_reply",
    "format_reply_number",
]

STX, ETX, CR = 0x02, 0x03, 0x0D

RATE_UNITS: dict[str, float] = {"UM": 1.0, "MM": 1000.0, "UH": 1.0 / 60.0, "MH": 1000.0 / 60.0}
"""uL/min per unit of each rate unit (uL/min, mL/min, uL/h, mL/h)."""
_RATE_PREFERENCE = ("UM", "MM", "UH", "MH")  # on equal precision, the unit an operator reads first

VOLUME_UNITS: dict[str, float] = {"UL": 1.0, "ML": 1000.0}
"""uL per unit of each volume unit."""

STATUSES = {
    "I": "infusing",
    "W": "withdrawing",
    "S": "stopped",
    "P": "paused",
    "T": "timed pause",
    "U": "waiting for trigger",
    "X": "purging",
}
ALARMS = {"R": "reset", "S": "stall", "T": "timeout", "E": "program error", "O": "phase out of range"}
ERRORS = {
    "": "command not recognised",
    "NA": "command not applicable now",
    "OOR": "value out of range",
    "COM": "bad packet (checksum or framing)",
    "IGN": "command ignored",
}

_NUMBER = re.compile(r"\d{1,4}(?:\.\d{0,3})?|\.\d{1,3}")
_REPLY_NUMBER = re.compile(r"(\d{0,4}\.\d{0,3})")


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM of ``data`` (safe-mode checksum)."""
    return binascii.crc_hqx(data, 0)


def format_number(value: float) -> str | None:
    """``value`` as the pump writes numbers (<= 4 digits, <= 3 decimals), most decimals that fit.

    None when it cannot be written (negative, NaN, or 10000 and above after rounding).
    """
    if not value >= 0:
        return None
    for decimals in (3, 2, 1, 0):
        text = f"{value:.{decimals}f}"
        if len(text.replace(".", "")) <= 4:
            return text
    return None


def parse_number(text: str) -> float:
    """A number as the pump accepts and writes it; ProtocolError otherwise."""
    if not _NUMBER.fullmatch(text) or len(text.replace(".", "")) > 4:
        raise ProtocolError(f"not an NE-1000 number: {text!r}")
    return float(text)


def rate_command_argument(flow_ul_min: float) -> str:
    """``RAT`` argument for ``flow_ul_min`` (e.g. ``250.0UM``) in the unit that keeps most precision.

    Raises ValueError when no unit can express the rate (zero, negative or above 9999 mL/min).
    """
    best: tuple[float, int, str] | None = None
    for rank, unit in enumerate(_RATE_PREFERENCE):
        in_unit = flow_ul_min / RATE_UNITS[unit]
        text = format_number(in_unit)
        if text is None or float(text) <= 0:
            continue
        error = abs(float(text) - in_unit) / in_unit
        candidate = (round(error, 12), rank, text + unit)
        if best is None or candidate < best:
            best = candidate
    if best is None:
        raise ValueError(f"{flow_ul_min!r} uL/min cannot be written as an NE-1000 rate")
    return best[2]


def _split_value_unit(data: str, units: dict[str, float], what: str) -> float:
    match = re.fullmatch(r"(\d{0,4}\.\d{0,3})([A-Z]{2})", data)
    if not match or match.group(2) not in units or match.group(1) == ".":
        raise ProtocolError(f"not an NE-1000 {what}: {data!r}")
    return float(match.group(1)) * units[match.group(2)]


def parse_rate(data: str) -> float:
    """Reply data of a ``RAT`` query (e.g. ``250.0UM``) in uL/min."""
    return _split_value_unit(data, RATE_UNITS, "rate")


def parse_volume(data: str) -> float:
    """Reply data of a ``VOL`` query (e.g. ``0.500ML``) in uL."""
    return _split_value_unit(data, VOLUME_UNITS, "volume")


def parse_dispensed(data: str) -> tuple[float, float]:
    """Reply data of ``DIS`` (``I<f>W<f><UL|ML>``): (infused, withdrawn) in uL."""
    match = re.fullmatch(r"I(\d{0,4}\.\d{0,3})W(\d{0,4}\.\d{0,3})(UL|ML)", data)
    if not match or "." in (match.group(1), match.group(2)):
        raise ProtocolError(f"not an NE-1000 dispensed-volume reply: {data!r}")
    scale = VOLUME_UNITS[match.group(3)]
    return float(match.group(1)) * scale, float(match.group(2)) * scale


def _command(address: int, command: str) -> bytes:
    if not 0 <= address <= 99:
        raise ValueError(f"NE-1000 address must be 0-99, got {address}")
    text = f"{address}{command}"
    if not text.isascii() or any(c in text for c in "\r\x02\x03"):
        raise ValueError(f"not an NE-1000 command: {command!r}")
    return text.encode("ascii")


def encode_basic(address: int, command: str) -> bytes:
    """``0RAT250UM`` + CR."""
    return _command(address, command) + b"\r"


def encode_safe(address: int, command: str) -> bytes:
    """Safe-mode packet: STX, length, data, CRC-16 (big-endian), ETX."""
    data = _command(address, command)
    return bytes([STX, len(data) + 4]) + data + crc16(data).to_bytes(2, "big") + bytes([ETX])


def decode_safe_frame(frame: bytes) -> bytes:
    """The data inside one complete safe-mode frame; ProtocolError on bad framing or checksum."""
    if len(frame) < 5 or frame[0] != STX or frame[-1] != ETX:
        raise ProtocolError(f"not a safe-mode frame: {frame!r}")
    if frame[1] != len(frame) - 1:
        raise ProtocolError(f"safe-mode length byte {frame[1]} does not match a {len(frame)}-byte frame")
    data, crc = frame[2:-3], int.from_bytes(frame[-3:-1], "big")
    if crc16(data) != crc:
        raise ProtocolError(
            f"safe-mode checksum {crc:#06x} does not match the data {data!r} ({crc16(data):#06x})"
        )
    return data


@dataclass(frozen=True)
class Reply:
    """One parsed reply: ``status`` a key of STATUSES (None on an alarm), ``alarm`` a key of ALARMS,
    ``error`` a key of ERRORS (None when the command was accepted), ``data`` the rest."""

    address: int
    status: str | None
    alarm: str | None = None
    error: str | None = None
    data: str = ""


def parse_reply(frame: bytes, *, safe: bool) -> Reply:
    """Parse one complete reply frame (basic: STX..ETX; safe: STX len..ETX). Strict: anything else
    raises ProtocolError, never another exception."""
    if safe:
        body = decode_safe_frame(frame)
    else:
        if len(frame) < 2 or frame[0] != STX or frame[-1] != ETX:
            raise ProtocolError(f"not an NE-1000 reply frame: {frame!r}")
        body = frame[1:-1]
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"non-ASCII bytes in an NE-1000 reply: {frame!r}") from None
    if len(text) < 3 or not text[:2].isdigit() or not text.isprintable():
        raise ProtocolError(f"malformed NE-1000 reply: {frame!r}")
    address, status, rest = int(text[:2]), text[2], text[3:]
    if status == "A":
        if len(rest) != 2 or rest[0] != "?" or rest[1] not in ALARMS:
            raise ProtocolError(f"malformed NE-1000 alarm reply: {frame!r}")
        return Reply(address, None, alarm=rest[1])
    if status not in STATUSES:
        raise ProtocolError(f"unknown NE-1000 status {status!r} in {frame!r}")
    if rest.startswith("?"):
        if rest[1:] not in ERRORS:
            raise ProtocolError(f"unknown NE-1000 error {rest!r} in {frame!r}")
        return Reply(address, status, error=rest[1:])
    return Reply(address, status, data=rest)


def encode_reply(address: int, body: str, *, safe: bool) -> bytes:
    """A pump's reply frame: ``body`` is status plus data (``S``, ``I250.0UM``, ``A?R``, ``S?OOR``)."""
    data = f"{address:02d}{body}".encode("ascii")
    if safe:
        return bytes([STX, len(data) + 4]) + data + crc16(data).to_bytes(2, "big") + bytes([ETX])
    return bytes([STX]) + data + bytes([ETX])


def format_reply_number(value: float) -> str:
    """A number as the pump writes it in replies: always with a point (``250.0``, ``0.500``, ``1235.``)."""
    text = format_number(value)
    if text is None:
        raise ValueError(f"{value!r} cannot be written by an NE-1000")
    return text if "." in text else text + "."

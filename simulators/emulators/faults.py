"""Faults an emulator can inject on the wire, parsed from ``--fault KIND[:VALUE]`` options.

- ``drop:P``              drop each reply with probability P
- ``garble:P``            corrupt one byte of a reply with probability P
- ``delay:S``             answer S seconds (wall) late
- ``hang-after:N``        answer N requests, then never again (a dead or hung device)
- ``stall-after:N``       pump: the motor stalls after N requests (alarm ``A?S``, pump stopped)
- ``power-cycle-after:N`` pump: power is interrupted after N requests (pump stopped, alarm ``A?R``)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Faults"]

_KINDS = {
    "drop": float,
    "garble": float,
    "delay": float,
    "hang-after": int,
    "stall-after": int,
    "power-cycle-after": int,
}


@dataclass
class Faults:
    drop: float = 0.0
    garble: float = 0.0
    delay: float = 0.0
    hang_after: int | None = None
    stall_after: int | None = None
    power_cycle_after: int | None = None
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...], *, seed: int = 0) -> "Faults":
        """``["drop:0.1", "stall-after:20"]`` -> Faults; ValueError naming a bad spec."""
        values: dict[str, float | int] = {}
        for spec in specs:
            kind, _, value = spec.partition(":")
            if kind not in _KINDS or not value:
                raise ValueError(
                    f"unknown fault {spec!r}; use one of "
                    + ", ".join(f"{k}:{'N' if t is int else 'X'}" for k, t in _KINDS.items())
                )
            try:
                parsed = _KINDS[kind](value)
            except ValueError:
                raise ValueError(f"fault {spec!r}: {value!r} is not a {_KINDS[kind].__name__}") from None
            if parsed < 0 or (kind in ("drop", "garble") and parsed > 1):
                raise ValueError(f"fault {spec!r}: value out of range")
            values[kind.replace("-", "_")] = parsed
        return cls(seed=seed, **values)

    def dropped(self) -> bool:
        return self.drop > 0 and bool(self._rng.random() < self.drop)

    def garbled(self, reply: bytes) -> bytes:
        if not reply or self.garble <= 0 or self._rng.random() >= self.garble:
            return reply
        i = int(self._rng.integers(len(reply)))
        out = bytearray(reply)
        out[i] ^= int(self._rng.integers(1, 256))
        return bytes(out)

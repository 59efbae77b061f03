"""Signals whose value comes from (or goes to) the backend behind an ophyd device.

Classic ophyd signals hold a cached value; these ask the parent device for a fresh one on every
``get()``, so a read in a plan always reflects the instrument (or the simulated world) now.
"""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

from ophyd.signal import Signal, SignalRO

from models.errors import SafetyError

__all__ = ["BackendReadback", "SoftValue"]


class BackendReadback(SignalRO):
    """Read-only signal whose value is ``getattr(parent, reader)()``.

    ``dtype``/``shape`` describe the value for event descriptors ("number", "string", "array", ...).
    """

    def __init__(
        self,
        *,
        reader: str,
        dtype: str = "number",
        shape: tuple[int, ...] = (),
        units: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(value=0.0, **kwargs)
        self._reader = reader
        self._dtype = dtype
        self._shape = shape
        self._units = units

    def get(self, **kwargs: Any) -> Any:
        value = getattr(self.parent, self._reader)()
        self._readback = value
        self._metadata["timestamp"] = time.time()
        return value

    def describe(self) -> dict:
        value: Any = self.get()
        shape = list(getattr(value, "shape", self._shape))
        key = {"source": f"backend:{self._reader}", "dtype": self._dtype, "shape": shape}
        if self._units:
            key["units"] = self._units
        return {self.name: key}


class SoftValue(Signal):
    """A value a plan writes and reads back (set points, computed outcomes); None is allowed, a NaN or
    infinite number is refused with ``SafetyError`` (ophyd's ``set`` waits for the read-back to equal
    the value, which NaN never does: the plan would hang)."""

    def __init__(self, *, dtype: str = "number", units: str | None = None, **kwargs: Any):
        super().__init__(value=None, **kwargs)
        self._dtype = dtype
        self._units = units

    def set(self, value: Any, **kwargs: Any):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isfinite(value):
            raise SafetyError(f"{self.name}: {value!r} is not a finite number; refused")
        return super().set(value, **kwargs)

    def describe(self) -> dict:
        value: Any = self.get()
        shape = [len(value)] if self._dtype == "array" and value is not None else []
        key = {"source": "soft", "dtype": self._dtype, "shape": shape}
        if self._units:
            key["units"] = self._units
        return {self.name: key}

"""Quantities with units at the boundary: ``"250 degC"``, ``"20 uL/min"``, ``"30 s"``, ``"5 mM"``.

Parsed once with pint into a bare float in the unit the code works in (the unit is then in the name:
``flow_ul_min``, ``temperature_c``). A quantity already written in that unit (as every file qdlab writes
is) needs no conversion: pint, and the registry it takes 0.7 s to import and build, come only for one
that does, so reading a campaign back starts in well under a second.
"""

from __future__ import annotations

import re
import threading
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from models.errors import ConfigurationError

if TYPE_CHECKING:
    import pint

__all__ = ["parse_quantity", "registry"]

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


_REGISTRY_LOCK = threading.Lock()


@cache
def _build_registry() -> pint.UnitRegistry:
    import pint

    return pint.UnitRegistry()


def registry() -> pint.UnitRegistry:
    """The one pint unit registry, built on first use (once, whichever thread asks first)."""
    with _REGISTRY_LOCK:
        return _build_registry()


@lru_cache(maxsize=256)
def _unit(text: str) -> pint.Unit:
    return registry().Unit(text)


def parse_quantity(
    value: object,
    unit: str,
    *,
    source: str | None = None,
    key: str | None = None,
    dimensionless_ok: bool = False,
) -> float:
    """Return ``value`` (a string such as ``"20 uL/min"``) as a float in ``unit``.

    A bare number is accepted only when ``dimensionless_ok`` (for ratios); otherwise a missing unit
    is an error, because ``250`` could be degC or K and a wrong guess moves hardware.
    """
    if isinstance(value, bool):
        raise ConfigurationError(f"expected a quantity in {unit}, got {value!r}", source=source, key=key)
    if isinstance(value, (int, float)):
        if dimensionless_ok:
            return float(value)
        raise ConfigurationError(
            f'{value!r} has no unit; write it with one, e.g. "{value} {unit}"', source=source, key=key
        )
    if not isinstance(value, str):
        raise ConfigurationError(
            f'expected a quantity such as "1 {unit}", got {value!r}', source=source, key=key
        )
    match = _NUMBER_UNIT.match(value)
    if not match:
        raise ConfigurationError(
            f'cannot read {value!r} as a number with a unit (e.g. "1 {unit}")', source=source, key=key
        )
    number, unit_text = float(match.group(1)), match.group(2)
    if not unit_text:
        if dimensionless_ok:
            return number
        raise ConfigurationError(
            f'{value!r} has no unit; write it with one, e.g. "{number:g} {unit}"', source=source, key=key
        )
    if unit_text == unit:
        return number  # pint's conversion to the same unit is the identity (degC included)
    import pint

    try:
        quantity = registry().Quantity(number, _unit(unit_text))
        return float(quantity.to(_unit(unit)).magnitude)
    except pint.errors.DimensionalityError:  # before TypeError: pint derives it from TypeError
        raise ConfigurationError(f"{value!r} is not convertible to {unit}", source=source, key=key) from None
    except (
        pint.errors.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        AttributeError,
        ValueError,
        TypeError,
    ):
        raise ConfigurationError(
            f"unknown unit {unit_text!r} in {value!r}; expected a unit of {unit}", source=source, key=key
        ) from None

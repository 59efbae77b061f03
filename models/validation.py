"""Turn pydantic validation errors into one clear ``ConfigurationError`` line (file, key, what, allowed)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from models.errors import ConfigurationError
from models.units import parse_quantity

__all__ = ["validate_model", "quantity"]

M = TypeVar("M", bound=BaseModel)


def quantity(unit: str, *, dimensionless_ok: bool = False) -> BeforeValidator:
    """A pydantic validator that reads ``"20 uL/min"`` into a float in ``unit``."""

    def _parse(value: Any) -> float:
        try:
            return parse_quantity(value, unit, dimensionless_ok=dimensionless_ok)
        except ConfigurationError as exc:  # pydantic reports ValueError with the key's location
            raise ValueError(str(exc)) from None

    _parse.unit = unit  # lets the resolved file be written back with units
    return BeforeValidator(_parse)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:  # a key of a dict field (e.g. a pump's name): stay on the value model
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = candidates[0] if candidates else None
    return sorted(getattr(current, "model_fields", {})) if current is not None else []


def validate_model(model: type[M], data: Any, *, source: str) -> M:
    """Validate ``data`` as ``model``; on failure raise one ``ConfigurationError`` for the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        key = ".".join(str(p) for p in loc) or None
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            message = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], (dict, list)) and repr(err["input"]) not in message:
                message += f" (got {err['input']!r})"
        raise ConfigurationError(message, source=source, key=key) from None

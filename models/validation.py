"""Turn pydantic validation errors into one clear ``ConfigurationError`` line (file, key, what, allowed);
quantity fields that read and write their unit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import core_schema

from models.errors import ConfigurationError
from models.units import parse_quantity

__all__ = [
    "validate_model",
    "quantity",
    "Quantity",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MAX_TEXT_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_LIST_ITEMS",
    "check_nesting",
]

M = TypeVar("M", bound=BaseModel)

# -- limits on what a campaign or lab file may hold (each bounds memory or time; docs/writing-a-campaign.md)
MAX_FILE_BYTES = 1_048_576
"""A campaign or lab file larger than this (1 MiB) is refused before it is parsed."""
MAX_NESTING = 8
"""Tables and arrays nested deeper than this are refused (the deepest qdlab reads is 4: objective terms)."""
MAX_TEXT_CHARS = 1_000
"""Longest string field of a campaign or lab file (names, reagents, ports, strategy), ``description`` aside."""
MAX_DESCRIPTION_CHARS = 20_000
"""Longest campaign ``description``."""
MAX_LIST_ITEMS = 64
"""Most entries of a list or table a campaign or lab file may give: search parameters, fixed values,
constraints, outcome constraints, objectives, pumps, emulator faults."""


def check_nesting(data: Any, *, source: str, limit: int = MAX_NESTING) -> None:
    """``ConfigurationError`` if tables and arrays in ``data`` nest deeper than ``limit``."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            raise ConfigurationError(
                f"tables and arrays nest deeper than {limit} levels; qdlab reads at most {limit}",
                source=source,
            )
        stack.extend((child, depth + 1) for child in children)


@dataclass(frozen=True)
class Quantity:
    """Marks a float field as a quantity in ``unit``: ``Annotated[float, Quantity("uL/min")]``.

    Validation reads ``"20 uL/min"`` (any convertible unit) into a float in ``unit``; dumping in JSON
    mode (``model_dump(mode="json")``, what the files of a campaign directory are written from) writes
    it back as ``"20.0 uL/min"``, so a file written as run loads again, wherever the field sits
    (optional, in a list, a dict or a nested model). Python-mode dumps keep the float.
    """

    unit: str
    dimensionless_ok: bool = False

    def parse(self, value: Any) -> float:
        """``value`` as a float in :attr:`unit`; ValueError (pydantic adds the key) if it cannot be."""
        try:
            return parse_quantity(value, self.unit, dimensionless_ok=self.dimensionless_ok)
        except ConfigurationError as exc:  # pydantic reports ValueError with the key's location
            raise ValueError(str(exc)) from None

    def text(self, value: float) -> str | float:
        """``value`` (a float in :attr:`unit`) as written in a file: ``"20.0 uL/min"``; a bare float
        for a dimensionless quantity. ``repr`` keeps every digit, so the file reads back exactly."""
        return value if self.dimensionless_ok else f"{value!r} {self.unit}"

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            self.parse,
            handler(source),
            serialization=core_schema.plain_serializer_function_ser_schema(self.text, when_used="json"),
        )


def quantity(unit: str, *, dimensionless_ok: bool = False) -> Quantity:
    """The :class:`Quantity` marker for an ``Annotated`` field, e.g. ``Annotated[float, quantity("mm")]``."""
    return Quantity(unit, dimensionless_ok)


def _allowed_keys(model: type[BaseModel], loc: tuple, data: Any = None) -> list[str]:
    """The keys allowed where ``loc`` points; a model whose keys depend on its data (a lab file's device
    section, by its ``type``) says which it validates as through ``model_for_data(data)``."""
    current: Any = model
    for part in loc[:-1]:
        data = data.get(part) if isinstance(data, dict) else None
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:  # a key of a dict field (e.g. a pump's name): stay on the value model
            current = _for_data(current, data)
            continue
        annotation = field.annotation
        args = [
            getattr(a, "__origin__", a) if get_origin(a) is Annotated else a for a in get_args(annotation)
        ]
        candidates = [a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)]
        current = _for_data(candidates[0], data) if candidates else None
    return sorted(getattr(current, "model_fields", {})) if current is not None else []


def _for_data(model: Any, data: Any) -> Any:
    resolve = getattr(model, "model_for_data", None)
    return resolve(data) if resolve is not None and isinstance(data, dict) else model


def validate_model(model: type[M], data: Any, *, source: str) -> M:
    """Validate ``data`` as ``model``; on failure raise one ``ConfigurationError`` for the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err.get("loc", ()))
        key = ".".join(str(p) for p in loc) or None
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc, data)
            message = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if (
                "input" in err
                and not isinstance(err["input"], (dict, list))
                and repr(err["input"]) not in message
            ):
                message += f" (got {err['input']!r})"
        raise ConfigurationError(message, source=source, key=key) from None


def check_table(spec: Any, *, where: str, what: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """``spec`` as a table with only ``allowed`` keys, else ConfigurationError at ``where`` in one line
    ("``what`` must be a table, got ...", "unknown key(s) [...]; allowed: ...")."""
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"{what} must be a table, got {spec!r}", key=where)
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise ConfigurationError(f"unknown key(s) {unknown}; allowed: {', '.join(allowed)}", key=where)
    return spec

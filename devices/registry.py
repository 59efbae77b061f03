"""Backends by the ``type`` a lab configuration names, each with the settings model its driver reads.

Real drivers register themselves here; the simulator registers ``"sim"`` from the lab layer. An
unknown type is a clear configuration error, never a silent fallback to a simulator.

A driver owns its settings: ``register_backend(kind, type, factory, settings=MySettings)``, where
``MySettings`` (a :class:`DriverSettings`) declares every key of the device's ``lab.toml`` section the
driver reads beyond the keys every device of its kind has (``lab.config.lab_toml``). The lab file is validated
against the two together before anything moves; the factory is called with ``settings=`` an instance
of that model, and reads nothing else from the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from models.errors import ConfigurationError
from models.validation import MAX_TEXT_CHARS

__all__ = [
    "DriverSettings",
    "register_backend",
    "make_backend",
    "known_types",
    "settings_model",
    "unknown_type_message",
]

Kind = Literal["pump", "heater", "spectrometer"]


class DriverSettings(BaseModel):
    """The keys one driver reads from its device's section of ``lab.toml``; none by default. Strict:
    a key no model of the section declares is refused, naming the keys allowed there."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT_CHARS)


_REGISTRY: dict[tuple[str, str], tuple[Callable[..., Any], type[DriverSettings]]] = {}


def register_backend(
    kind: Kind, type_name: str, factory: Callable[..., Any], settings: type[DriverSettings] = DriverSettings
) -> None:
    """Make ``factory(settings=..., **context)`` the backend for devices of ``kind`` with ``type = type_name``,
    its ``lab.toml`` keys declared by ``settings``."""
    _REGISTRY[(kind, type_name)] = (factory, settings)


def known_types(kind: Kind) -> list[str]:
    return sorted(t for k, t in _REGISTRY if k == kind)


def unknown_type_message(kind: Kind, type_name: str) -> str:
    return f"unknown {kind} type '{type_name}'; known types: {', '.join(known_types(kind)) or 'none'}"


def settings_model(kind: Kind, type_name: str) -> type[DriverSettings] | None:
    """The settings model registered for ``type_name`` (None: no such type)."""
    entry = _REGISTRY.get((kind, type_name))
    return entry[1] if entry is not None else None


def make_backend(
    kind: Kind, type_name: str, *, source: str = "lab.toml", key: str = "", **settings: Any
) -> Any:
    try:
        factory, _ = _REGISTRY[(kind, type_name)]
    except KeyError:
        raise ConfigurationError(unknown_type_message(kind, type_name), source=source, key=key) from None
    return factory(**settings)

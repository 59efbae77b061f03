"""Backends by the ``type`` a lab configuration names.

Real drivers register themselves here; the simulator registers ``"sim"`` from the lab layer. An
unknown type is a clear configuration error, never a silent fallback to a simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from models.errors import ConfigurationError

__all__ = ["register_backend", "make_backend", "known_types"]

Kind = Literal["pump", "heater", "spectrometer"]
_REGISTRY: dict[tuple[str, str], Callable[..., Any]] = {}


def register_backend(kind: Kind, type_name: str, factory: Callable[..., Any]) -> None:
    """Make ``factory(**settings)`` the backend for devices of ``kind`` with ``type = type_name``."""
    _REGISTRY[(kind, type_name)] = factory


def known_types(kind: Kind) -> list[str]:
    return sorted(t for k, t in _REGISTRY if k == kind)


def make_backend(
    kind: Kind, type_name: str, *, source: str = "lab.toml", key: str = "", **settings: Any
) -> Any:
    try:
        factory = _REGISTRY[(kind, type_name)]
    except KeyError:
        raise ConfigurationError(
            f"unknown {kind} type '{type_name}'; known types: {', '.join(known_types(kind)) or 'none'}",
            source=source,
            key=key,
        ) from None
    return factory(**settings)

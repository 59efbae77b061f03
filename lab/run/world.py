"""The one builder of the simulated world a lab file describes (a simulated lab, the emulated lab's
emulators, the bench's truth all use it)."""

from __future__ import annotations

from typing import Any

from devices import Clock
from lab.config.lab_toml import LabConfig

__all__ = ["sim_world"]


def sim_world(material: str, *, clock: Clock, seed: int, lab: LabConfig | None = None) -> Any:
    """A ``SimWorld`` of ``material`` on ``clock``: with ``lab``, its reactor, stocks and ``[sim]``
    options; without, the simulator's defaults."""
    from simulators import SimWorld

    if lab is None:
        return SimWorld(material, clock=clock, seed=seed)
    return SimWorld(
        material, reactor=lab.reactor.geometry(), stocks_mM=lab.stocks_mM, clock=clock, seed=seed, **lab.sim
    )

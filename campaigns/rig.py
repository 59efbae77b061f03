"""``Rig``: the devices of one reactor and the facts about it that plans need."""

from __future__ import annotations

from dataclasses import dataclass, field

from collections.abc import Callable
from typing import Any

from campaigns.flow import transit_s
from campaigns.outcomes import HeaterSettle, SteadyStateDecision, Outcomes, outcomes_device
from devices import Heater, RefillStation, Spectrometer, SyringePump, Timer

__all__ = ["Rig"]


@dataclass
class Rig:
    """Devices by role; ``pumps`` maps each reagent to the pump that holds it."""

    pumps: dict[str, SyringePump]
    heater: Heater
    spectrometer: Spectrometer
    timer: Timer
    reactor_volume_ul: float
    transfer_volume_ul: float
    path_length_cm: float
    plqy_reference: float
    stocks_mM: dict[str, float]
    rtd_tanks: float = 10.0
    """The coil's residence-time distribution, tanks in series (``[reactor] rtd_tanks``)."""
    outcomes: Outcomes = field(default_factory=outcomes_device)
    model: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """A user's steady-state reactor model (``--reactor-model``): outcomes come from it, not from spectra."""
    refills: RefillStation | None = None
    """Where an experiment waits for syringes to be refilled; None: a syringe that runs out ends the run."""
    heater_settle: HeaterSettle = field(default_factory=HeaterSettle)
    """Carries each settle into the ``heater_settle`` stream (``protocol.cost_aware`` only)."""
    steady_state: SteadyStateDecision = field(default_factory=SteadyStateDecision)
    """Carries a detected steady state's decision into the ``steady_state`` stream (``steady_state =
    "detect"`` only)."""

    def devices(self) -> list:
        return [*self.pumps.values(), self.heater, self.spectrometer, self.timer, self.outcomes]

    def connect(self) -> None:
        """Connect every instrument (explicit: constructing a device does no I/O)."""
        for device in (*self.pumps.values(), self.heater, self.spectrometer):
            device.connect()

    def dead_time_s(self, total_flow_ul_min: float) -> float:
        """Time for fluid to travel the transfer line from the reactor outlet to the flow cell (s)."""
        return (
            transit_s(self.transfer_volume_ul, total_flow_ul_min) if total_flow_ul_min > 0 else float("inf")
        )

"""Build a ``Rig`` of ophyd devices from a ``LabConfig``, choosing each backend by its ``type``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from campaigns.conditions import SOLVENT
from campaigns.preflight import HEATER_NAME
from campaigns.rig import Rig
from devices import (
    Clock,
    Exposure,
    Heater,
    SimClock,
    Spectrometer,
    SyringePump,
    Timer,
    make_backend,
)
from lab.config.lab_toml import LabConfig
from lab.run.world import sim_world
from models.errors import ConfigurationError

__all__ = ["build_rig", "BuiltRig", "flush_flow_ul_min"]


@dataclass
class BuiltRig:
    rig: Rig
    clock: Clock
    world: Any | None  # the simulated world when the lab is simulated (or emulated)
    closers: list[Callable[[], None]] = field(default_factory=list)
    claimed: list[Any] = field(default_factory=list)

    def _backends(self) -> list[Any]:
        rig = self.rig
        return [p.backend for p in rig.pumps.values()] + [rig.heater.backend, rig.spectrometer.backend]

    def claim_ports(self) -> None:
        """Open every serial port of the rig (exclusively) before any device is connected, so a port
        another process holds is refused (``PortBusy``) before a byte is sent on any of them."""
        for backend in self._backends():
            transport = getattr(backend, "transport", None)
            if transport is None or any(t is transport for t in self.claimed):
                continue
            transport.open()
            self.claimed.append(transport)

    def close(self) -> None:
        """Release ports and stop in-process emulators (after the rig has been made safe); never raises."""
        for backend in self._backends():
            try:
                backend.close()
            except Exception:  # noqa: BLE001 - every device gets its close
                pass
        for transport in self.claimed:
            transport.close()
        self.claimed.clear()
        for close in self.closers:
            close()


def build_rig(
    lab: LabConfig, *, material: str, seed: int, source: str = "lab.toml", clock: Clock | None = None
) -> BuiltRig:
    """Devices for ``lab``; for ``type = "sim"`` devices, one simulated world shared by all of them.

    Each backend is made by its type's factory (``devices.registry``) from the section's driver
    settings (the section itself: it validated as its type's model, ``lab.config.lab_toml``)."""
    world, clock, closers = _world(
        lab, material=material, seed=seed, source=source, clock=clock or SimClock()
    )
    from devices.drivers import SerialPorts  # the rig's ports: pumps daisy-chained on one share its transport

    common: dict[str, Any] = {"clock": clock, "ports": SerialPorts()}
    if world is not None:
        common["world"] = world
    pumps = _pumps(lab, source, common)
    heater_backend = make_backend(
        "heater", lab.heater.type, source=source, key="heater.type", settings=lab.heater, **common
    )
    heater = Heater(heater_backend, lab.heater_limits, name=HEATER_NAME)
    rig = Rig(
        pumps=pumps,
        heater=heater,
        spectrometer=_spectrometer(lab, source, common),
        timer=Timer(clock, name="timer"),
        reactor_volume_ul=lab.reactor.volume,
        transfer_volume_ul=lab.reactor.transfer_volume,
        path_length_cm=lab.reactor.path_length,
        rtd_tanks=lab.reactor.rtd_tanks,
        plqy_reference=lab.spectrometer.plqy_reference,
        stocks_mM=lab.stocks_mM,
    )
    return BuiltRig(rig=rig, clock=clock, world=world, closers=closers)


def _world(lab: LabConfig, *, material: str, seed: int, source: str, clock: Clock):
    """The world the devices share: the emulated lab's (started here), a SimWorld for a simulated lab, or
    None for hardware. Returns ``(world, clock, closers)``."""
    types = {p.type for p in lab.pumps.values()} | {lab.heater.type, lab.spectrometer.type}
    closers: list[Callable[[], None]] = []
    if lab.emulator is not None:  # docs/adr/0003: the emulators run in this process, on one world
        from lab.run.emulate import start_emulated_lab

        emulated = start_emulated_lab(lab, material=material, seed=seed, source=source)
        closers.append(emulated.close)
        return emulated.world, emulated.clock, closers
    if "sim" not in types:
        return None, clock, closers
    if types != {"sim"}:
        raise ConfigurationError(
            f'a lab is either all simulated (type = "sim") or all hardware; found types {sorted(types)}',
            source=source,
            key="type",
        )
    world = sim_world(material, clock=clock, seed=seed, lab=lab)
    return world, clock, closers


def _pumps(lab: LabConfig, source: str, common: dict[str, Any]) -> dict[str, SyringePump]:
    """One syringe pump per ``[pumps.NAME]`` section, by reagent."""
    pumps = {}
    for name, cfg in lab.pumps.items():
        backend = make_backend(
            "pump",
            cfg.type,
            source=source,
            key=f"pumps.{name}.type",
            reagent=cfg.reagent,
            name=name,
            settings=cfg,
            **common,
        )
        pumps[cfg.reagent] = SyringePump(
            backend, lab.pump_limits[cfg.reagent], reagent=cfg.reagent, name=name
        )
    return pumps


def _spectrometer(lab: LabConfig, source: str, common: dict[str, Any]) -> Spectrometer:
    """The spectrometer, with its exposure rule (fixed, or auto within the lab's bounds)."""
    spec_backend = make_backend(
        "spectrometer",
        lab.spectrometer.type,
        source=source,
        key="spectrometer.type",
        settings=lab.spectrometer,
        **common,
    )
    sc = lab.spectrometer
    exposure = Exposure(
        fixed_ms=sc.integration_time if sc.exposure == "fixed" else None,
        start_ms=sc.integration_time,
        min_ms=sc.min_integration_time,
        max_ms=sc.max_integration_time,
        target_fraction=sc.exposure_target,
    )
    return Spectrometer(spec_backend, exposure=exposure, name="spectrometer")


def flush_flow_ul_min(lab: LabConfig) -> float:
    """The solvent flow of a lab's calibration flush (uL/min): half the coil's volume per minute, within the
    solvent pump's range (without a solvent pump, the slowest any pump may run)."""
    flush_flow = max(p.min_rate for p in lab.pumps.values())
    solvent = lab.pumps.get(lab.pump_for(SOLVENT) or "")
    if solvent is not None:
        flush_flow = min(solvent.max_rate, max(solvent.min_rate, lab.reactor.volume / 2.0))
    return flush_flow

"""Build a ``Rig`` of ophyd devices from a ``LabConfig``, choosing each backend by its ``type``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from campaigns.rig import Rig
from devices import (
    Clock,
    Exposure,
    Heater,
    HeaterLimits,
    PumpLimits,
    SimClock,
    Spectrometer,
    SyringePump,
    Timer,
    make_backend,
    register_backend,
)
from lab.config.lab_toml import LabConfig
from models.errors import ConfigurationError

__all__ = ["build_rig", "BuiltRig"]


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


def _register_sim() -> None:
    from simulators import SimHeater, SimPump, SimSpectrometer

    register_backend(
        "pump",
        "sim",
        lambda *, world, reagent, settings, name, **_: SimPump(
            world, reagent, syringe_volume_ul=settings.syringe_volume, name=name
        ),
    )
    register_backend("heater", "sim", lambda *, world, **_: SimHeater(world))
    register_backend("spectrometer", "sim", lambda *, world, **_: SimSpectrometer(world))
    register_backend("spectrometer", "emulated", _emulated_spectrometer)


def _emulated_spectrometer(*, world=None, **_: Any) -> Any:
    if world is None:
        raise ConfigurationError(
            'type = "emulated" reads the emulators\' world: add an [emulator] section',
            key="spectrometer.type",
        )
    from simulators import SimSpectrometer

    return SimSpectrometer(world)


def _register_drivers() -> None:
    import devices.drivers  # noqa: F401  (real drivers register their types on import)


def build_rig(
    lab: LabConfig, *, material: str, seed: int, source: str = "lab.toml", clock: Clock | None = None
) -> BuiltRig:
    """Devices for ``lab``; for ``type = "sim"`` devices, one simulated world shared by all of them."""
    _register_sim()
    _register_drivers()
    types = {p.type for p in lab.pumps.values()} | {lab.heater.type, lab.spectrometer.type}
    world = None
    closers: list[Callable[[], None]] = []
    clock = clock or SimClock()
    if lab.emulator is not None:  # docs/adr/0003: the emulators run in this process, on one world
        from lab.run.emulate import start_emulated_lab

        emulated = start_emulated_lab(lab, material=material, seed=seed, source=source)
        world, clock = emulated.world, emulated.clock
        closers.append(emulated.close)
    elif "sim" in types:
        if types != {"sim"}:
            raise ConfigurationError(
                f'a lab is either all simulated (type = "sim") or all hardware; found types {sorted(types)}',
                source=source,
                key="type",
            )
        from simulators import ReactorGeometry, SimWorld

        world = SimWorld(
            material,
            reactor=ReactorGeometry(
                reactor_volume_ul=lab.reactor.volume,
                transfer_volume_ul=lab.reactor.transfer_volume,
                path_length_cm=lab.reactor.path_length,
            ),
            stocks_mM={p.reagent: p.stock for p in lab.pumps.values()},
            clock=clock,
            seed=seed,
            **lab.sim,
        )
    common: dict[str, Any] = {"world": world, "clock": clock} if world is not None else {"clock": clock}
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
            backend,
            PumpLimits(cfg.min_rate, cfg.max_rate, cfg.syringe_volume),
            reagent=cfg.reagent,
            name=name,
        )
    heater_backend = make_backend(
        "heater", lab.heater.type, source=source, key="heater.type", settings=lab.heater, **common
    )
    heater = Heater(
        heater_backend,
        HeaterLimits(
            lab.heater.min_temperature,
            lab.heater.max_temperature,
            lab.heater.safe_temperature,
            lab.heater.tolerance,
        ),
        name="heater",
    )
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
    spectrometer = Spectrometer(spec_backend, exposure=exposure, name="spectrometer")
    rig = Rig(
        pumps=pumps,
        heater=heater,
        spectrometer=spectrometer,
        timer=Timer(clock, name="timer"),
        reactor_volume_ul=lab.reactor.volume,
        transfer_volume_ul=lab.reactor.transfer_volume,
        path_length_cm=lab.reactor.path_length,
        plqy_reference=lab.spectrometer.plqy_reference,
        stocks_mM={p.reagent: p.stock for p in lab.pumps.values()},
    )
    return BuiltRig(rig=rig, clock=clock, world=world, closers=closers)

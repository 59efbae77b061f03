"""Wire-level emulators, as a command (``qdlab emulate``) and in-process for an emulated lab.

``qdlab emulate ne1000|tc --link PATH`` serves one emulator on a pseudo-terminal until Ctrl-C or
SIGTERM, backed by its own simulated world. An emulated lab (a ``lab.toml`` with an ``[emulator]``
section, see docs/adr/0003-emulated-lab.md) instead starts every emulator inside the
``qdlab run`` process, on one world whose clock runs ``speed`` times real time; the pumps and the
heater are then reached through the real drivers over the pseudo-terminals, and the spectrometer
(``type = "emulated"``) reads the same world.
"""

from __future__ import annotations

import atexit
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices import WallClock
from lab.config.lab_toml import LabConfig
from lab.run.world import sim_world
from models.errors import ConfigurationError

__all__ = ["EmulatedLab", "start_emulated_lab", "check_ports", "serve_forever", "DEVICES"]

DEVICES = ("ne1000", "tc")
_DEFAULT_DIAMETER_MM = 14.57  # a 10 mL glass syringe


@dataclass
class EmulatedLab:
    world: Any
    clock: WallClock
    servers: list = field(default_factory=list)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()


def _faults(specs: list[str], seed: int, source: str) -> Any:
    from simulators.emulators import Faults

    try:
        return Faults.parse(specs, seed=seed)
    except ValueError as exc:
        raise ConfigurationError(str(exc), source=source, key="fault") from None


def check_ports(lab: LabConfig, *, source: str = "lab.toml") -> None:
    """Refuse (one line) an emulated lab whose port links are taken by something the emulators did not
    leave: checked in pre-flight, before anything is written or moved, and again as they start."""
    from simulators.emulators import check_link

    sections = [*((f"pumps.{n}", p) for n, p in lab.pumps.items()), ("heater", lab.heater)]
    for key, port in ((key, getattr(section, "port", None)) for key, section in sections):  # its driver's
        try:
            if port:
                check_link(port)
        except FileExistsError as exc:
            raise ConfigurationError(
                f"cannot start the emulators: {exc}", source=source, key=f"{key}.port"
            ) from None


def start_emulated_lab(lab: LabConfig, *, material: str, seed: int, source: str = "lab.toml") -> EmulatedLab:
    """Start the emulators of ``lab`` (one per pump port, one for the heater) on one world."""
    from simulators.emulators import ModbusTC, NE1000Bus, NE1000Model, PtyServer
    from simulators import SimHeater, SimPump

    settings = lab.emulator
    if settings is None:
        raise ConfigurationError("not an emulated lab: add an [emulator] section", source=source)
    check_ports(lab, source=source)
    clock = WallClock(speed=settings.speed)
    world = sim_world(material, clock=clock, seed=seed, lab=lab)
    emulated = EmulatedLab(world=world, clock=clock)
    by_port: dict[str, list] = {}
    for name, pump in lab.pumps.items():
        if pump.type != "ne1000" or not pump.port:
            raise ConfigurationError(
                'an emulated lab\'s pumps are type = "ne1000" with a port', source=source, key=f"pumps.{name}"
            )
        by_port.setdefault(pump.port, []).append(
            NE1000Model(
                pump.address,
                SimPump(world, pump.reagent),
                clock=clock,
                diameter_mm=pump.syringe_diameter or _DEFAULT_DIAMETER_MM,
            )
        )
    if lab.heater.type != "eurotherm" or not lab.heater.port:
        raise ConfigurationError(
            'an emulated lab\'s heater is type = "eurotherm" with a port', source=source, key="heater"
        )
    try:
        for port, models in by_port.items():
            emulated.servers.append(
                PtyServer(NE1000Bus(models), link=port, faults=_faults(settings.faults, seed, source)).start()
            )
        tc = ModbusTC(
            SimHeater(world, reading_noise=False),
            clock=clock,
            address=lab.heater.address,
            sp_low_c=lab.heater.min_temperature,
            sp_high_c=lab.heater.max_temperature,
        )
        emulated.servers.append(
            PtyServer(tc, link=lab.heater.port, faults=_faults(settings.faults, seed, source)).start()
        )
    except (OSError, FileExistsError) as exc:
        emulated.close()
        raise ConfigurationError(f"cannot start the emulators: {exc}", source=source, key="port") from None
    atexit.register(emulated.close)  # the links go away with the process, whatever ends it
    return emulated


def serve_forever(
    device: str,
    *,
    link: Path,
    addresses: list[int],
    speed: float,
    faults: list[str],
    seed: int,
    material: str = "CdSe",
    tc_address: int = 1,
    announce=print,
) -> None:
    """``qdlab emulate``: serve one emulator on ``link`` until SIGINT or SIGTERM."""
    from simulators.emulators import ModbusTC, NE1000Bus, NE1000Model, PtyServer
    from simulators import SimHeater, SimPump

    if device not in DEVICES:
        raise ConfigurationError(
            f"unknown device '{device}'; emulators: {', '.join(DEVICES)}", source="qdlab emulate"
        )
    if speed <= 0:
        raise ConfigurationError("--speed must be positive", source="qdlab emulate")
    fault_set = _faults(faults, seed, "--fault")
    clock = WallClock(speed=speed)
    world = sim_world(material, clock=clock, seed=seed)
    if device == "ne1000":
        addresses = addresses or [0]
        if (
            len(addresses) > len(world.streams)
            or len(set(addresses)) != len(addresses)
            or any(not 0 <= a <= 99 for a in addresses)
        ):
            raise ConfigurationError(
                f"give up to {len(world.streams)} distinct addresses 0-99 (one per stream of "
                f"{world.material}: {', '.join(world.streams)})",
                source="--address",
            )
        model = NE1000Bus(
            [NE1000Model(a, SimPump(world, s), clock=clock) for a, s in zip(addresses, world.streams)]
        )
        what = ", ".join(f"address {a} -> {s}" for a, s in zip(addresses, world.streams))
    else:
        model = ModbusTC(SimHeater(world, reading_noise=False), clock=clock, address=tc_address)
        what = f"Modbus address {tc_address}, 9600 8N1"
    try:
        server = PtyServer(model, link=link, faults=fault_set).start()
    except (OSError, FileExistsError) as exc:
        raise ConfigurationError(str(exc), source="--link") from None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        announce(
            f"emulating {device} on {link} -> {server.path} ({what}); world clock x{speed:g}; Ctrl-C to stop"
        )
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

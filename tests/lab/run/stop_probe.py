"""``python tests/lab/run/stop_probe.py STATE.json qdlab-args...``: run ``qdlab`` and, just before an emulated
lab's in-process emulators stop, ask them over the wire what state the rig was left in.

Test tooling for tests/lab/run/test_stop.py. The run is the real ``lab.cli.main`` in this process's main
thread, so it receives signals exactly as ``qdlab`` does. The emulators live inside the run
(docs/adr/0003), so they can only be asked before the run ends: ``EmulatedLab.close`` is wrapped to
query them after the session has made the rig safe and closed its own ports (``BuiltRig.close``
closes the drivers first). The pumps are asked with raw NE-1000 basic-mode bytes (status and rate of
each address); the controller with the real Modbus driver (set point). The answers go to STATE.json,
with ``at_signal``: the flow each stream delivered when the stop signal was being acted on (read from the
world by the stop watcher thread, before it pauses the RunEngine), so a test knows pumps were running;
STATE.json.pumping appears once an experiment's reagent pumps run (the moment to send the signal).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from devices.drivers import ne1000_protocol as proto  # noqa: E402
from devices.drivers.eurotherm import EUROTHERM_BAUDRATE, EurothermHeater  # noqa: E402
from devices.drivers.ne1000 import NE1000_BAUDRATE  # noqa: E402
from devices.drivers.transport import SerialTransport, open_serial  # noqa: E402
from lab.run import emulate, stop_signals  # noqa: E402

_AT_SIGNAL: dict = {}


def _ask_pump(transport: SerialTransport, address: int, command: str) -> dict:
    transport.discard_input()
    transport.write(proto.encode_basic(address, command))
    frame = transport.read_until(proto.ETX, time.monotonic() + 2.0)
    reply = proto.parse_reply(frame, safe=False)
    return {"status": reply.status, "alarm": reply.alarm, "error": reply.error, "data": reply.data}


def _query(lab: "emulate.EmulatedLab") -> dict:
    from simulators.emulators import ModbusTC, NE1000Bus, world_lock

    state: dict = {"pumps": {}, "heater": None, "at_signal": _AT_SIGNAL}
    for server in lab.servers:
        if isinstance(server.device, NE1000Bus):
            transport = SerialTransport(
                lambda port=server.port: open_serial(port, baudrate=NE1000_BAUDRATE), name=server.port
            )
            transport.open()
            try:
                for address in sorted(server.device.pumps):
                    status = _ask_pump(transport, address, "")
                    rate = _ask_pump(transport, address, "RAT")
                    stream = server.device.pumps[address].backend.stream
                    with world_lock(lab.world):
                        world_flow = float(lab.world.delivered_flow(stream))
                    state["pumps"][stream] = {
                        "address": address,
                        "status": status["status"],
                        "alarm": status["alarm"],
                        "rate_ul_min": proto.parse_rate(rate["data"]) if rate["data"] else None,
                        "world_flow_ul_min": world_flow,
                    }
            finally:
                transport.close()
        elif isinstance(server.device, ModbusTC):
            heater = EurothermHeater(
                SerialTransport(
                    lambda port=server.port: open_serial(port, baudrate=EUROTHERM_BAUDRATE), name=server.port
                ),
                address=server.device.address,
            )
            heater.connect()
            try:
                state["heater"] = {"setpoint_c": heater.setpoint_c(), "temperature_c": heater.temperature_c()}
            finally:
                heater.close()
    return state


def _mark_when_reagents_flow(world, marker: Path) -> None:
    """Create ``marker`` once a reagent (not the solvent: it alone flushes in the calibration) flows, i.e.
    an experiment has started its pumps; the test sends its signal then."""
    from simulators.emulators import world_lock

    while True:
        with world_lock(world):
            flowing = any(world.delivered_flow(s) > 0 for s in world.streams if s != "solvent")
        if flowing:
            marker.write_text("pumping\n")
            return
        time.sleep(0.01)


def main() -> int:
    out = Path(sys.argv[1])
    original = emulate.EmulatedLab.close

    def close(self) -> None:
        if self.servers:
            try:
                out.write_text(json.dumps(_query(self)))
            except Exception as exc:  # noqa: BLE001 - the test reads the error instead of a state
                out.write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        original(self)

    emulate.EmulatedLab.close = close
    labs: list = []
    start = emulate.start_emulated_lab

    def start_emulated_lab(*args, **kwargs):
        labs.append(start(*args, **kwargs))
        threading.Thread(
            target=_mark_when_reagents_flow, args=(labs[-1].world, Path(f"{out}.pumping")), daemon=True
        ).start()
        return labs[-1]

    emulate.start_emulated_lab = (
        start_emulated_lab  # lab.run.rig_builder imports it from lab.run.emulate when it builds
    )
    pause_now = stop_signals.StopSignals._pause_now

    def snapshot_then_pause(self) -> bool:
        if labs and not _AT_SIGNAL:
            from simulators.emulators import world_lock

            world = labs[-1].world
            with world_lock(world):
                _AT_SIGNAL.update({s: float(world.delivered_flow(s)) for s in world.streams})
        return pause_now(self)

    stop_signals.StopSignals._pause_now = snapshot_then_pause
    from lab.cli import main as qdlab

    return qdlab(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

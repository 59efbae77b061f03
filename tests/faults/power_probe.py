"""``python tests/faults/power_probe.py DEVICE MARKER qdlab-args...``: run ``qdlab`` on an emulated lab and,
once an experiment's reagent pumps run, power DEVICE off (it stops answering): ``tc`` the temperature
controller, or ``pump:ADDRESS`` one NE-1000 of the chain. MARKER appears once it is off (the moment for
the test to send its signal).

Test tooling for tests/faults/test_safety_truth.py. The run is the real ``lab.cli.main`` in this
process's main thread, so it receives signals exactly as ``qdlab`` does; the emulators live inside the
run (docs/adr/0003), so only this process can reach their models.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from lab.run import emulate  # noqa: E402


def _power_off_when_reagents_flow(lab: "emulate.EmulatedLab", device: str, marker: Path) -> None:
    from simulators.emulators import ModbusTC, NE1000Bus, world_lock

    world = lab.world
    while True:
        with world_lock(world):
            if any(world.delivered_flow(s) > 0 for s in world.streams if s != "solvent"):
                break
        time.sleep(0.01)
    for server in lab.servers:
        if device == "tc" and isinstance(server.device, ModbusTC):
            server.device.power_off()
        elif device.startswith("pump:") and isinstance(server.device, NE1000Bus):
            server.device.pumps[int(device.split(":")[1])].power_off()
    marker.write_text("off\n")


def main() -> int:
    device, marker = sys.argv[1], Path(sys.argv[2])
    start = emulate.start_emulated_lab

    def start_emulated_lab(*args, **kwargs):
        lab = start(*args, **kwargs)
        threading.Thread(
            target=_power_off_when_reagents_flow, args=(lab, device, marker), daemon=True
        ).start()
        return lab

    emulate.start_emulated_lab = (
        start_emulated_lab  # lab.run.rig_builder imports it from lab.run.emulate when it builds
    )
    from lab.cli import main as qdlab

    return qdlab(sys.argv[3:])


if __name__ == "__main__":
    sys.exit(main())

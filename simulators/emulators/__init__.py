"""Wire-level emulators: real instrument bytes on a pseudo-terminal, backed by the simulated world
(their backends are ``simulators.rig``'s device views, or ``ideal``'s world-free ones)."""

from simulators.emulators.faults import Faults
from simulators.emulators.ideal import IdealHeater, IdealPump
from simulators.emulators.modbus_tc import ModbusTC, modbus_crc
from simulators.emulators.ne1000 import FIRMWARE, NE1000Bus, NE1000Model
from simulators.emulators.pty_server import ByteDevice, PtyServer, check_link
from simulators.rig import world_lock  # the emulated lab reads the world beside the emulators' threads

__all__ = [
    "ByteDevice",
    "FIRMWARE",
    "Faults",
    "IdealHeater",
    "IdealPump",
    "ModbusTC",
    "NE1000Bus",
    "NE1000Model",
    "PtyServer",
    "check_link",
    "modbus_crc",
    "world_lock",
]

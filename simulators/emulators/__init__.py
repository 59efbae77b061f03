"""Wire-level emulators: real instrument bytes on a pseudo-terminal, backed by the simulated world."""

from simulators.emulators.faults import Faults
from simulators.emulators.ideal import IdealHeater, IdealPump
from simulators.emulators.modbus_tc import ModbusTC, modbus_crc
from simulators.emulators.ne1000 import FIRMWARE, NE1000Bus, NE1000Model
from simulators.emulators.pty_server import ByteDevice, PtyServer
from simulators.emulators.world_views import WorldHeaterView, WorldPumpView, WorldSpectrometerView, world_lock

__all__ = ["ByteDevice", "FIRMWARE", "Faults", "IdealHeater", "IdealPump", "ModbusTC", "NE1000Bus", "NE1000Model", "PtyServer",
           "WorldHeaterView", "WorldPumpView", "WorldSpectrometerView", "modbus_crc", "world_lock"]

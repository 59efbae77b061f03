"""``EurothermHeater``: a Modbus-RTU temperature controller (Eurotherm 2000/3200 class) as a
``HeaterBackend``, through minimalmodbus on an injected serial port.

Registers (REFERENCE.md section 5): 1 process value, 2 target set point, 3 output %, 35 set-point
rate limit; signed integers with one decimal. Factory serial settings 9600 baud 8N1, address 1.
No reply is retried ``retries`` times, then DeviceError; a reply that is not Modbus is a
ProtocolError; a refused write (exception reply) is a DeviceError naming the register.
"""

from __future__ import annotations

import termios
import threading
from collections.abc import Callable
from typing import Any

from pydantic import Field

from devices.drivers.transport import PortLost, SerialPorts, SerialTransport
from devices.registry import DriverSettings
from models.errors import ConfigurationError, DeviceError, ProtocolError

__all__ = [
    "EurothermHeater",
    "EurothermSettings",
    "EUROTHERM_BAUDRATE",
    "make_eurotherm",
    "PV_REGISTER",
    "SP_REGISTER",
    "OUTPUT_REGISTER",
    "SP_RATE_REGISTER",
]

EUROTHERM_BAUDRATE = 9600
PV_REGISTER, SP_REGISTER, OUTPUT_REGISTER, SP_RATE_REGISTER = 1, 2, 3, 35


class EurothermSettings(DriverSettings):
    """What a ``type = "eurotherm"`` heater's section of ``lab.toml`` gives its driver."""

    port: str | None = None
    address: int = Field(default=1, ge=1, le=247)


class EurothermHeater:
    """The controller at Modbus ``address`` on ``transport``; ``timeout_s`` bounds one reply."""

    def __init__(
        self,
        transport: SerialTransport,
        *,
        address: int = 1,
        timeout_s: float = 0.5,
        retries: int = 2,
        name: str = "heater",
    ):
        if not 1 <= address <= 247:
            raise ConfigurationError(f"Modbus address must be 1-247, got {address}")
        self.transport = transport
        self.address = address
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.name = name
        self._instrument: Any = None
        self._lock = threading.RLock()

    def _where(self) -> str:
        return f"{self.name} (Modbus address {self.address} on {self.transport.name})"

    def connect(self) -> None:
        import minimalmodbus

        with self._lock:
            self.transport.open()
            port = self.transport.port
            port.timeout = self.timeout_s  # minimalmodbus reads a whole reply with one read()
            instrument = minimalmodbus.Instrument(port, self.address, mode=minimalmodbus.MODE_RTU)
            instrument.precalculate_read_size = True
            self._instrument = instrument
            self.temperature_c()  # the controller answers, or connect fails here

    def _call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import minimalmodbus

        if self._instrument is None:
            raise DeviceError(f"{self._where()}: not connected; call connect() first")
        last: DeviceError | None = None
        for _ in range(self.retries + 1):
            with self._lock, self.transport.lock:
                try:
                    return function(*args, **kwargs)
                except minimalmodbus.NoResponseError:
                    last = DeviceError(
                        f"{self._where()}: no reply to {what} after {self.retries + 1} tries of {self.timeout_s:g} s; "
                        "check the controller's power, the RS-485/232 wiring, 9600 baud 8N1 and its Modbus address"
                    )
                except minimalmodbus.InvalidResponseError as exc:
                    last = ProtocolError(
                        f"{self._where()}: garbled reply to {what} ({exc}); check the wiring "
                        "and that no other master shares the line"
                    )
                except minimalmodbus.SlaveReportedException as exc:
                    raise DeviceError(
                        f"{self._where()}: the controller refused {what} ({exc}); check its "
                        "set-point limits and that it is in automatic mode"
                    ) from None
                except (OSError, ValueError, TypeError, termios.error) as exc:  # pyserial on a dead port
                    if isinstance(exc, minimalmodbus.ModbusException):
                        last = ProtocolError(f"{self._where()}: {what}: {exc}")
                        continue
                    raise PortLost(
                        f"{self._where()}: the port was lost ({exc}); the heater is out of control: "
                        "check power and cable, then restart"
                    ) from None
        raise last  # type: ignore[misc]

    def _read(self, register: int, what: str) -> float:
        return float(self._call(what, self._instrument.read_register, register, 1, 3, True))

    def set_setpoint_c(self, setpoint_c: float) -> None:
        self._call(
            f"set point {setpoint_c:g} degC",
            self._instrument.write_register,
            SP_REGISTER,
            round(float(setpoint_c), 1),
            1,
            6,
            True,
        )

    def setpoint_c(self) -> float:
        return self._read(SP_REGISTER, "the set point")

    def temperature_c(self) -> float:
        return self._read(PV_REGISTER, "the process value")

    def output_percent(self) -> float:
        return self._read(OUTPUT_REGISTER, "the output power")

    def set_ramp_rate_c_min(self, rate_c_min: float) -> None:
        """Set-point rate limit (degC/min; 0 = step changes)."""
        self._call(
            "the set-point rate limit",
            self._instrument.write_register,
            SP_RATE_REGISTER,
            round(float(rate_c_min), 1),
            1,
            6,
            True,
        )

    def close(self) -> None:
        with self._lock:
            if self._instrument is not None:
                self._instrument = None
                self.transport.close()


def make_eurotherm(*, settings: EurothermSettings, ports: SerialPorts | None = None, **_) -> EurothermHeater:
    """Registry factory: ``type = "eurotherm"`` heaters in ``lab.toml`` (port, address), on the rig's
    ``ports``."""
    if not settings.port:
        raise ConfigurationError(
            'heater.port: a eurotherm heater needs the serial port it is on (e.g. port = "/dev/ttyUSB1")'
        )
    return EurothermHeater(
        (ports or SerialPorts()).transport(settings.port, baudrate=EUROTHERM_BAUDRATE),
        address=settings.address,
    )

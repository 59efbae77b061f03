"""``lab.toml``: the reactor, pumps, heater and spectrometer of one rig, with its hard limits."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.validation import MAX_LIST_ITEMS, MAX_TEXT_CHARS, quantity

__all__ = [
    "LabConfig",
    "ReactorConfig",
    "PumpConfig",
    "HeaterConfig",
    "SpectrometerConfig",
    "EmulatorConfig",
    "WATCHDOG_DEFAULT_S",
    "WATCHDOG_FLOOR_S",
]

WATCHDOG_DEFAULT_S = 10.0
"""A hardware pump's safe-mode timeout unless its ``watchdog`` says otherwise (s): an NE-1000 whose
controller went quiet this long stops infusing (its driver's keep-alive polls every third of it)."""
WATCHDOG_FLOOR_S = 2.0
"""The shortest ``watchdog`` a lab file may give (s): below it a busy host or a retried reply (three
tries of 0.5 s) could let a healthy campaign's pump time out. The NE-1000's ceiling is 255 s."""

Microlitres = Annotated[float, quantity("uL"), Field(gt=0)]
FlowRate = Annotated[float, quantity("uL/min"), Field(ge=0)]
Celsius = Annotated[float, quantity("degC")]
Millimolar = Annotated[float, quantity("mM"), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT_CHARS)


class ReactorConfig(_Strict):
    volume: Microlitres
    transfer_volume: Microlitres
    path_length: Annotated[float, quantity("cm"), Field(gt=0)] = 0.1


class PumpConfig(_Strict):
    type: str
    reagent: str
    stock: Millimolar = 0.0
    syringe_volume: Microlitres
    min_rate: FlowRate
    max_rate: FlowRate
    port: str | None = None
    address: int = Field(default=0, ge=0, le=99)
    syringe_diameter: Annotated[float, quantity("mm"), Field(gt=0)] | None = None
    watchdog: Annotated[float, quantity("s")] = WATCHDOG_DEFAULT_S
    """Safe-mode timeout of a hardware pump (docs/hardware.md): on by default, never below the floor."""

    @field_validator("watchdog")
    @classmethod
    def _watchdog_on(cls, value: float) -> float:
        if not WATCHDOG_FLOOR_S <= value <= 255:
            raise ValueError(
                f"the pump watchdog must be {WATCHDOG_FLOOR_S:g} to 255 s (default "
                f"{WATCHDOG_DEFAULT_S:g} s), got {value:g} s: it stops the pump if qdlab goes quiet, "
                "and cannot be turned off"
            )
        return value

    @model_validator(mode="after")
    def _rates_ordered(self) -> "PumpConfig":
        if self.min_rate > self.max_rate:
            raise ValueError(f"min_rate {self.min_rate:g} uL/min is above max_rate {self.max_rate:g} uL/min")
        return self


class HeaterConfig(_Strict):
    type: str
    min_temperature: Celsius
    max_temperature: Celsius
    safe_temperature: Celsius
    tolerance: Annotated[float, quantity("delta_degC"), Field(gt=0)] = 2.0
    port: str | None = None
    address: int = Field(default=1, ge=1, le=247)

    @model_validator(mode="after")
    def _safe_inside(self) -> "HeaterConfig":
        if not self.min_temperature <= self.safe_temperature <= self.max_temperature:
            raise ValueError("safe_temperature must lie within [min_temperature, max_temperature]")
        return self


class SpectrometerConfig(_Strict):
    """``exposure = "auto"`` (default) chooses each channel's integration time from its signal within
    [``min_integration_time``, ``max_integration_time``], the brightest pixel near ``exposure_target``
    x full scale (``devices.spectrometer``, docs/adr/0008); ``integration_time`` is then the first
    probe. ``exposure = "fixed"`` uses ``integration_time`` for both channels."""

    type: str
    exposure: Literal["auto", "fixed"] = "auto"
    integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 50.0
    min_integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 1.0
    max_integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 30_000.0
    exposure_target: Annotated[float, Field(ge=0.1, le=0.9)] = 0.6
    plqy_reference: Annotated[float, Field(gt=0)] = 1.0
    serial: str | None = None

    @model_validator(mode="after")
    def _bounds_ordered(self) -> "SpectrometerConfig":
        if self.min_integration_time > self.max_integration_time:
            raise ValueError(
                f"min_integration_time {self.min_integration_time:g} ms is above "
                f"max_integration_time {self.max_integration_time:g} ms"
            )
        return self


class EmulatorConfig(_Strict):
    """An emulated lab: ``qdlab run`` serves the wire emulators itself (docs/adr/0003)."""

    speed: float = Field(default=100.0, gt=0)  # emulated seconds per wall second
    faults: list[str] = Field(
        default_factory=list, max_length=MAX_LIST_ITEMS
    )  # e.g. ["drop:0.02"], see simulators.emulators.faults


class LabConfig(_Strict):
    """A rig. ``pumps`` maps a pump name to its settings; each pump holds one reagent."""

    name: str = "lab"
    reactor: ReactorConfig
    pumps: dict[str, PumpConfig] = Field(max_length=MAX_LIST_ITEMS)
    heater: HeaterConfig
    spectrometer: SpectrometerConfig
    sim: dict[str, Any] = Field(default_factory=dict)
    emulator: EmulatorConfig | None = None

    @model_validator(mode="after")
    def _one_pump_per_reagent(self) -> "LabConfig":
        reagents = [p.reagent for p in self.pumps.values()]
        dupes = sorted({r for r in reagents if reagents.count(r) > 1})
        if dupes:
            raise ValueError(f"reagent(s) {', '.join(dupes)} held by more than one pump")
        return self

    def pump_for(self, reagent: str) -> str | None:
        return next((name for name, p in self.pumps.items() if p.reagent == reagent), None)

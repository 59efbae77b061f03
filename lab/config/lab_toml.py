"""``lab.toml``: the reactor, pumps, heater and spectrometer of one rig, with its hard limits.

A device's section holds the keys every device of its kind has (:class:`PumpConfig`,
:class:`HeaterConfig`, :class:`SpectrometerConfig`) and those its driver reads, declared by the settings
model registered with its ``type`` (``devices.registry``): the section validates as the two together
(a subclass of both, made once per type), so a bad key, value or type is refused before anything moves,
and adding a driver touches no file here. The stocks and hard limits of the rig are read from one place:
:attr:`LabConfig.stocks_mM`, :attr:`LabConfig.pump_limits`, :attr:`LabConfig.heater_limits`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

import devices.drivers  # noqa: F401  (real drivers register their types on import)
import lab.config.sim_drivers  # noqa: F401  (so do the simulator's)
from devices.limits import HeaterLimits, PumpLimits
from devices.registry import DriverSettings, Kind, settings_model, unknown_type_message
from models.validation import MAX_LIST_ITEMS, MAX_TEXT_CHARS, quantity

__all__ = [
    "LabConfig",
    "ReactorConfig",
    "DeviceConfig",
    "PumpConfig",
    "HeaterConfig",
    "SpectrometerConfig",
    "EmulatorConfig",
]

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
    rtd_tanks: Annotated[float, Field(ge=1, le=1000)] = 10.0
    """The coil's residence-time distribution as a number of tanks in series (variance 1/N; measure it
    with a tracer step). Dynamic-flow experiments undo the reactor with it (campaigns.transient)."""

    def geometry(self) -> Any:
        """This reactor as the simulator's ``ReactorGeometry`` (its one translation)."""
        from simulators import ReactorGeometry

        return ReactorGeometry(
            reactor_volume_ul=self.volume,
            transfer_volume_ul=self.transfer_volume,
            path_length_cm=self.path_length,
            n_tanks=self.rtd_tanks,
        )


_COMPOSITES: dict[tuple[type, type[DriverSettings]], Any] = {}


class DeviceConfig(_Strict):
    """A device's section: its ``type`` and the keys every device of its ``kind`` has. Validating (or
    constructing) one validates the section as the subclass that adds its type's driver settings
    (:meth:`for_type`); an unknown type is refused, naming the known ones."""

    kind: ClassVar[Kind]
    type: str

    @classmethod
    def _is_section(cls) -> bool:
        """A section of one kind (``PumpConfig``), not a driver's subclass of it."""
        return "kind" in cls.__dict__

    @classmethod
    def for_type(cls, type_name: str) -> type[DeviceConfig]:
        """The section's model for ``type_name``: this section's keys and its driver's, in that order."""
        driver = settings_model(cls.kind, type_name)
        if driver is None:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("unknown_type", unknown_type_message(cls.kind, type_name)),
                        loc=("type",),
                        input=type_name,
                    )
                ],
            )
        model = _COMPOSITES.get((cls, driver))
        if model is None:
            model = create_model(
                f"{cls.__name__}[{driver.__name__}]", __base__=(driver, cls), __module__=__name__
            )
            _COMPOSITES[(cls, driver)] = model
        return model

    @classmethod
    def model_for_data(cls, data: Any) -> type[BaseModel]:
        """The model ``data`` validates as (for the keys an error names as allowed)."""
        if cls._is_section() and isinstance(data, dict) and isinstance(data.get("type"), str):
            if settings_model(cls.kind, data["type"]) is not None:
                return cls.for_type(data["type"])
        return cls

    @model_validator(mode="wrap")
    @classmethod
    def _as_its_type(cls, data: Any, handler: Any) -> Any:
        if cls._is_section() and isinstance(data, dict) and isinstance(data.get("type"), str):
            return cls.for_type(data["type"]).model_validate(data)
        return handler(data)

    def __new__(cls, *args: Any, **data: Any) -> DeviceConfig:
        if cls._is_section() and isinstance(data.get("type"), str):  # PumpConfig(type="ne1000", port=...)
            cls = cls.for_type(data["type"])
        return super().__new__(cls)


class PumpConfig(DeviceConfig):
    """A pump's section: the reagent it holds, its stock and its hard limits."""

    kind: ClassVar[Kind] = "pump"
    reagent: str
    stock: Millimolar = 0.0
    syringe_volume: Microlitres
    min_rate: FlowRate
    max_rate: FlowRate

    @model_validator(mode="after")
    def _rates_ordered(self) -> "PumpConfig":
        if self.min_rate > self.max_rate:
            raise ValueError(f"min_rate {self.min_rate:g} uL/min is above max_rate {self.max_rate:g} uL/min")
        return self

    @property
    def limits(self) -> PumpLimits:
        """What the device layer lets this pump do (``devices.limits``)."""
        return PumpLimits(self.min_rate, self.max_rate, self.syringe_volume)


class HeaterConfig(DeviceConfig):
    kind: ClassVar[Kind] = "heater"
    min_temperature: Celsius
    max_temperature: Celsius
    safe_temperature: Celsius
    tolerance: Annotated[float, quantity("delta_degC"), Field(gt=0)] = 2.0

    @model_validator(mode="after")
    def _safe_inside(self) -> "HeaterConfig":
        if not self.min_temperature <= self.safe_temperature <= self.max_temperature:
            raise ValueError("safe_temperature must lie within [min_temperature, max_temperature]")
        return self

    @property
    def limits(self) -> HeaterLimits:
        """What the device layer lets the heater do (``devices.limits``)."""
        return HeaterLimits(self.min_temperature, self.max_temperature, self.safe_temperature, self.tolerance)


class SpectrometerConfig(DeviceConfig):
    """``exposure = "auto"`` (default) chooses each channel's integration time from its signal within
    [``min_integration_time``, ``max_integration_time``], the brightest pixel near ``exposure_target``
    x full scale (``devices.spectrometer``, docs/adr/0008); ``integration_time`` is then the first
    probe. ``exposure = "fixed"`` uses ``integration_time`` for both channels."""

    kind: ClassVar[Kind] = "spectrometer"
    exposure: Literal["auto", "fixed"] = "auto"
    integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 50.0
    min_integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 1.0
    max_integration_time: Annotated[float, quantity("ms"), Field(gt=0)] = 30_000.0
    exposure_target: Annotated[float, Field(ge=0.1, le=0.9)] = 0.6
    plqy_reference: Annotated[float, Field(gt=0)] = 1.0

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
    pumps: dict[str, SerializeAsAny[PumpConfig]] = Field(max_length=MAX_LIST_ITEMS)
    heater: SerializeAsAny[HeaterConfig]
    spectrometer: SerializeAsAny[SpectrometerConfig]
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

    @property
    def stocks_mM(self) -> dict[str, float]:
        """Each reagent's stock concentration (mM; 0 for the solvent), by reagent: the one place the rig,
        pre-flight, the simulated world and the benchmarks read it from."""
        return {p.reagent: p.stock for p in self.pumps.values()}

    @property
    def pump_limits(self) -> dict[str, PumpLimits]:
        """Each reagent's pump limits, by reagent: what pre-flight checks and the rig's pumps enforce."""
        return {p.reagent: p.limits for p in self.pumps.values()}

    @property
    def heater_limits(self) -> HeaterLimits:
        """The heater's limits: what pre-flight checks and the rig's heater enforces."""
        return self.heater.limits

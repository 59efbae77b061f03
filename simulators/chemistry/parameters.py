"""Calibration constants per material, read from ``simulators/chemistry/data/<material>.toml``."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from models.errors import ConfigurationError
from models.materials import MATERIALS, canonical_material

__all__ = ["MaterialParams", "StreamSpec", "load_params"]


@dataclass(frozen=True)
class StreamSpec:
    """One reagent stream: stock concentration (mM) and pump bounds (uL/min)."""

    name: str
    role: str  # "metal", "chalcogen" (the partner), or "solvent"
    stock_mM: float
    low: float
    high: float
    default: float


@dataclass(frozen=True)
class MaterialParams:
    name: str
    molar_mass_g_mol: float
    density_g_cm3: float
    streams: tuple[StreamSpec, ...]
    temperature_low_c: float
    temperature_high_c: float
    temperature_default_c: float
    kinetics: dict
    optics: dict
    clog: dict
    spectrometer: dict
    quality: dict
    sources: tuple[str, ...]

    @property
    def vm_m3_mol(self) -> float:
        """Molar volume of formula units in the crystal (m3/mol)."""
        return self.molar_mass_g_mol / self.density_g_cm3 * 1e-6

    def stream(self, role: str) -> StreamSpec:
        return next(s for s in self.streams if s.role == role)

    @property
    def default_stocks_mM(self) -> dict[str, float]:
        return {s.name: s.stock_mM for s in self.streams}

    def stocks_mM(self, given: Mapping[str, float] | None = None) -> dict[str, float]:
        """Each stream's stock (mM): ``given`` where it names one, the default elsewhere; a stream the
        material does not have is refused."""
        stocks = self.default_stocks_mM
        if given:
            unknown = set(given) - set(stocks)
            if unknown:
                raise ConfigurationError(
                    f"unknown stream(s) {sorted(unknown)} for {self.name}; streams are {sorted(stocks)}"
                )
            stocks.update({k: float(v) for k, v in given.items()})
        return stocks


_FILES = {name: f"{name.lower()}.toml" for name in MATERIALS}  # data/cdse.toml, ...


@functools.lru_cache(maxsize=None)
def load_params(material: str) -> MaterialParams:
    """The calibration of ``material`` (case-insensitive)."""
    name = canonical_material(material)
    fname = _FILES[name]
    text = resources.files("simulators.chemistry").joinpath("data", fname).read_text()
    try:
        raw = tomllib.loads(text)
        streams = tuple(
            StreamSpec(
                name=k,
                role=v["role"],
                stock_mM=float(v["stock_mM"]),
                low=float(v["low"]),
                high=float(v["high"]),
                default=float(v["default"]),
            )
            for k, v in raw["streams"].items()
        )
        t = raw["temperature"]
        return MaterialParams(
            name=name,
            molar_mass_g_mol=float(raw["material"]["molar_mass_g_mol"]),
            density_g_cm3=float(raw["material"]["density_g_cm3"]),
            streams=streams,
            temperature_low_c=float(t["low_c"]),
            temperature_high_c=float(t["high_c"]),
            temperature_default_c=float(t["default_c"]),
            kinetics=dict(raw["kinetics"]),
            optics=dict(raw["optics"]),
            clog=dict(raw["clog"]),
            spectrometer=dict(raw["spectrometer"]),
            quality=dict(raw["quality"]),
            sources=tuple(raw["material"].get("sources", ())),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"bad simulator calibration: {exc}", source=fname) from exc

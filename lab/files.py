"""Reading and writing the TOML files of a campaign: one clear error per bad file, nothing moved."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel

from campaigns.spec import CampaignSpec, parameter_unit
from lab.config import LabConfig
from models.objective import make_objective
from models.errors import ConfigurationError
from models.outcomes import check_outcome_names
from models.validation import validate_model

__all__ = ["load_toml", "load_campaign", "campaign_from_table", "load_lab", "dump_campaign", "dump_lab", "campaign_to_data", "lab_to_data",
           "EXAMPLES"]

EXAMPLES = {
    "campaigns": Path(__file__).resolve().parent.parent / "campaigns" / "examples",
    "lab": Path(__file__).resolve().parent / "examples",
}


def load_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigurationError("no such file", source=str(path))
    if path.is_dir():
        raise ConfigurationError("is a directory, expected a TOML file", source=str(path))
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"not valid TOML: {exc}", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read: {exc}", source=str(path)) from None


def campaign_from_table(table: dict[str, Any], source: str, *, outcomes: Sequence[str] | None = None,
                        check_outcomes: bool = True) -> CampaignSpec:
    """A campaign spec from its TOML table (a file's or one stored in Tiled), objective included.

    With ``check_outcomes``, every outcome the objective (terms, ``reached``) and the outcome
    constraints name must be in ``outcomes``: a user reactor model's declared outcomes, or (None) the
    figures of merit of ``models.outcomes``. Readers of a finished campaign pass ``check_outcomes=False``
    (it may have run with a reactor model of its own names).
    """
    spec = validate_model(CampaignSpec, table, source=source)
    try:
        make_objective(spec.objective)
        if check_outcomes:
            check_outcome_names(spec.objective, spec.outcome_constraints, known=outcomes)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc), source=source) from None
    return spec


def load_campaign(path: Path | str, *, outcomes: Sequence[str] | None = None,
                  check_outcomes: bool = True) -> CampaignSpec:
    """``campaign.toml`` -> a validated spec (see :func:`campaign_from_table` for ``outcomes``)."""
    return campaign_from_table(load_toml(path), str(path), outcomes=outcomes, check_outcomes=check_outcomes)


def load_lab(path: Path | str) -> LabConfig:
    return validate_model(LabConfig, load_toml(path), source=str(path))


def _units_of(model: type[BaseModel]) -> dict[str, str]:
    units = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            unit = getattr(getattr(meta, "func", None), "unit", None)
            if unit:
                units[name] = unit
    return units


def _with_units(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    units = _units_of(type(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            out[name] = _with_units(value)
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            out[name] = {k: _with_units(v) for k, v in value.items()}
        elif isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
            out[name] = [_with_units(v) for v in value]
        elif name in units:
            out[name] = f"{value!r} {units[name]}"
        else:
            out[name] = value
    return out


def lab_to_data(lab: LabConfig) -> dict[str, Any]:
    """The lab as TOML data with units written out (what ``lab.toml`` holds)."""
    return _with_units(lab)


def campaign_to_data(spec: CampaignSpec) -> dict[str, Any]:
    """The resolved campaign as TOML data with units written out (what ``campaign.toml`` holds)."""
    data = _with_units(spec)
    kind = spec.search.kind
    for p in data["search"]["parameters"]:
        unit = parameter_unit(p["name"], kind)
        if unit:
            p["low"], p["high"] = f"{p['low']!r} {unit}", f"{p['high']!r} {unit}"
    data["search"]["fixed"] = {
        k: (f"{v!r} {parameter_unit(k, kind)}" if parameter_unit(k, kind) else v)
        for k, v in spec.search.fixed.items()}
    return data


def dump_lab(lab: LabConfig, path: Path) -> None:
    path.write_text(tomli_w.dumps(lab_to_data(lab)))


def dump_campaign(spec: CampaignSpec, path: Path) -> None:
    path.write_text(tomli_w.dumps(campaign_to_data(spec)))

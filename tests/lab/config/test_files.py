"""Files written as run are files that load: every example lab and campaign, and labs and campaigns with
every optional field set, go through load -> dump -> load unchanged, and every quantity keeps its unit."""

import json
import tomllib
import types
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from campaigns.spec import CampaignSpec, parameter_unit
from lab.config.lab_toml import LabConfig
from lab.config.files import (
    EXAMPLES,
    campaign_from_table,
    campaign_to_data,
    dump_campaign,
    dump_lab,
    lab_to_data,
    load_campaign,
    load_lab,
)
from models.errors import ConfigurationError
from models.validation import Quantity, validate_model

LABS = sorted(EXAMPLES["lab"].glob("*.toml"))
CAMPAIGNS = sorted(EXAMPLES["campaigns"].glob("*.toml"))


def _quantity_in(annotation) -> Quantity | None:
    """The Quantity marker of an annotation however it is written (Annotated, Optional, a union)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return next((m for m in meta if isinstance(m, Quantity)), None) or _quantity_in(base)
    if origin in (typing.Union, types.UnionType):
        found = {_quantity_in(a) for a in typing.get_args(annotation)} - {None}
        return found.pop() if len(found) == 1 else None
    return None


def _field_quantity(info) -> Quantity | None:
    return next((m for m in info.metadata if isinstance(m, Quantity)), None) or _quantity_in(info.annotation)


def _unitless(model: BaseModel, data: dict, path: str = "") -> list[str]:
    """Keys of ``data`` (the dumped ``model``) where a quantity is not written as its value with its unit."""
    bad = []
    for name, info in type(model).model_fields.items():
        value, key = getattr(model, name), f"{path}{name}"
        if value is None:
            if name in data:
                bad.append(f"{key} (None written)")
            continue
        written = data[name]
        if isinstance(value, BaseModel):
            bad += _unitless(value, written, f"{key}.")
        elif isinstance(value, dict) and any(isinstance(v, BaseModel) for v in value.values()):
            for k, v in value.items():
                bad += _unitless(v, written[k], f"{key}.{k}.")
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            for i, v in enumerate(value):
                bad += _unitless(v, written[i], f"{key}[{i}].")
        elif (q := _field_quantity(info)) is not None and not q.dimensionless_ok:
            if not (
                isinstance(written, str) and written.endswith(f" {q.unit}") and q.parse(written) == value
            ):
                bad.append(f"{key} = {written!r}")
    return bad


def _search_unitless(spec: CampaignSpec, data: dict) -> list[str]:
    bad = []
    for p, written in zip(spec.search.parameters, data["search"]["parameters"], strict=True):
        unit = parameter_unit(p.name, spec.search.kind)
        for bound in ("low", "high"):
            w = written[bound]
            if unit and not (isinstance(w, str) and w == f"{getattr(p, bound)!r} {unit}"):
                bad.append(f"search.parameters.{p.name}.{bound} = {w!r}")
    for name, value in spec.search.fixed.items():
        unit, w = parameter_unit(name, spec.search.kind), data["search"]["fixed"][name]
        if unit and w != f"{value!r} {unit}":
            bad.append(f"search.fixed.{name} = {w!r}")
    return bad


def _round_trip_lab(lab: LabConfig, tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    dump_lab(lab, path)
    assert _unitless(lab, tomllib.loads(path.read_text())) == []
    assert load_lab(path) == lab


def _round_trip_campaign(spec: CampaignSpec, tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    dump_campaign(spec, path)
    data = tomllib.loads(path.read_text())
    assert _unitless(spec, data) == [] and _search_unitless(spec, data) == []
    assert load_campaign(path) == spec


@pytest.mark.parametrize("path", LABS, ids=[p.stem for p in LABS])
def test_every_example_lab_round_trips_with_its_units(path, tmp_path):
    _round_trip_lab(load_lab(path), tmp_path)


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[p.stem for p in CAMPAIGNS])
def test_every_example_campaign_round_trips_with_its_units(path, tmp_path):
    spec = load_campaign(path)
    _round_trip_campaign(spec.model_copy(update={"id": "0f1e2d3c"}), tmp_path)  # the session sets an id
    _round_trip_campaign(spec, tmp_path)


def test_the_emulated_rigs_syringe_diameter_keeps_its_unit(tmp_path):
    """The defect of issue 12: an optional quantity (``Annotated[...] | None``) was written bare."""
    lab = load_lab(EXAMPLES["lab"] / "emulated.toml")
    data = lab_to_data(lab)
    assert data["pumps"]["cd"]["syringe_diameter"] == "14.57 mm"
    assert data["pumps"]["solvent"]["syringe_diameter"] == "26.7 mm"
    _round_trip_lab(lab, tmp_path)


def test_the_run_directory_files_load_back(tmp_path):
    """What ``qdlab run`` writes into the campaign directory is what ``qdlab resume`` loads."""
    from lab.run.session import CampaignSession

    spec, lab = load_campaign(CAMPAIGNS[0]), load_lab(EXAMPLES["lab"] / "emulated.toml")
    session = CampaignSession(spec, lab, tmp_path / "run", campaign_source="c", lab_source="l")
    session.write_files()
    assert load_lab(tmp_path / "run" / "lab.toml") == lab
    assert load_campaign(tmp_path / "run" / "campaign.toml") == session.spec


def test_python_mode_dumps_keep_floats():
    """Only the file form carries units; code reading ``model_dump()`` gets the numbers."""
    lab = load_lab(EXAMPLES["lab"] / "emulated.toml")
    assert lab.model_dump()["pumps"]["cd"]["syringe_diameter"] == 14.57
    assert load_campaign(CAMPAIGNS[0]).protocol.model_dump()["heater_hold"] == 30.0


def test_a_bare_number_for_an_optional_quantity_is_still_refused(tmp_path):
    data = tomllib.loads((EXAMPLES["lab"] / "emulated.toml").read_text())
    data["pumps"]["cd"]["syringe_diameter"] = 14.57
    with pytest.raises(ConfigurationError, match=r"pumps.cd.syringe_diameter: 14.57 has no unit"):
        validate_model(LabConfig, data, source="lab.toml")


# -- every optional field set, values drawn ---------------------------------------------------------


def _floats(low, high):
    return st.floats(
        min_value=low, max_value=high, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


positive = _floats(1e-6, 1e7).filter(lambda x: x > 0)
non_negative = _floats(0.0, 1e7)


@st.composite
def _pumps(draw, reagent, address):
    low, high = sorted([draw(non_negative), draw(non_negative)])
    return {
        "type": "ne1000",
        "reagent": reagent,
        "stock": f"{draw(non_negative)!r} mM",
        "syringe_volume": f"{draw(positive)!r} uL",
        "min_rate": f"{low!r} uL/min",
        "max_rate": f"{high!r} uL/min",
        "port": "/dev/ttyUSB0",
        "address": address,
        "syringe_diameter": f"{draw(positive)!r} mm",
        "watchdog": f"{draw(_floats(2.0, 255.0))!r} s",
    }  # within the floor and the NE-1000's 255 s


@st.composite
def labs(draw):
    t = sorted(draw(_floats(-100.0, 500.0)) for _ in range(3))
    return {
        "name": "every-field",
        "sim": {"noise_scale": draw(_floats(0.0, 1.0))},
        "emulator": {"speed": draw(positive), "faults": ["drop:0.01"]},
        "reactor": {
            "volume": f"{draw(positive)!r} uL",
            "transfer_volume": f"{draw(positive)!r} uL",
            "path_length": f"{draw(positive)!r} cm",
        },
        "pumps": {"cd": draw(_pumps("cd", 0)), "se": draw(_pumps("se", 1))},
        "heater": {
            "type": "eurotherm",
            "min_temperature": f"{t[0]!r} degC",
            "max_temperature": f"{t[2]!r} degC",
            "safe_temperature": f"{t[1]!r} degC",
            "tolerance": f"{draw(positive)!r} delta_degC",
            "port": "/dev/ttyUSB1",
            "address": 7,
        },
        "spectrometer": {
            "type": "seabreeze",  # a registered type: its driver declares `serial`
            "integration_time": f"{draw(positive)!r} ms",
            "plqy_reference": draw(positive),
            "serial": "FLMS01234",
        },
    }


def _unset(model: BaseModel, path: str = "") -> list[str]:
    """Fields left at None anywhere in ``model``: a new optional field must be added to ``labs()``."""
    out = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            out.append(f"{path}{name}")
        elif isinstance(value, BaseModel):
            out += _unset(value, f"{path}{name}.")
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    out += _unset(v, f"{path}{name}.{k}.")
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labs())
def test_a_lab_with_every_optional_field_set_round_trips(tmp_path, data):
    lab = validate_model(LabConfig, data, source="lab.toml")
    assert _unset(lab) == []
    _round_trip_lab(lab, tmp_path)


@st.composite
def campaigns(draw):
    kind = draw(st.sampled_from(["chemical", "flows"]))
    t_low, t_high = sorted(draw(st.lists(_floats(20.0, 330.0), min_size=2, max_size=2, unique=True)))
    params = [{"name": "temperature", "low": f"{t_low!r} degC", "high": f"{t_high!r} degC"}]
    if kind == "chemical":
        r_low, r_high = sorted(draw(st.lists(_floats(1.0, 3600.0), min_size=2, max_size=2, unique=True)))
        params.append({"name": "residence_time", "low": f"{r_low!r} s", "high": f"{r_high!r} s", "log": True})
        fixed = {"conc_cd": f"{draw(positive)!r} mM", "ratio_se_cd": draw(positive)}
    else:
        f_low, f_high = sorted(draw(st.lists(_floats(0.5, 500.0), min_size=2, max_size=2, unique=True)))
        params.append({"name": "flow_cd", "low": f"{f_low!r} uL/min", "high": f"{f_high!r} uL/min"})
        fixed = {"flow_se": f"{draw(positive)!r} uL/min"}
    return {
        "name": "every-field",
        "id": "5a1b",
        "material": "CdSe",
        "description": "all set",
        "budget": draw(st.integers(1, 10_000)),
        "seed": draw(st.integers(0, 2**31)),
        "strategy": "sobol",
        "strategy_options": {"n_initial": 3},
        "search": {"kind": kind, "parameters": params, "fixed": fixed},
        "objective": {"name": "plqy", "goal": "maximize"},
        "constraints": [{"coefficients": {"temperature": 1.0}, "op": "<=", "rhs": 330.0}],
        "outcome_constraints": [{"outcome": "pl_peak_nm", "op": ">=", "value": 500.0}],
        # within the stated limits (campaigns/spec.py: a day at most, polls of 0.1 s or more)
        "protocol": {
            "residence_times": draw(_floats(0.5, 20.0)),
            "heater_hold": f"{draw(_floats(0.0, 86_400.0))!r} s",
            "heater_timeout": f"{draw(_floats(1e-6, 86_400.0))!r} s",
            "poll_interval": f"{draw(_floats(0.01, 1000.0))!r} min",
            "flush_residence_times": draw(_floats(0.0, 20.0)),
            "clog_recovery": f"{draw(_floats(0.0, 23.9))!r} h",
            "refill": draw(st.sampled_from(["wait", "auto"])),
        },
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(campaigns())
def test_a_campaign_with_every_optional_field_set_round_trips(tmp_path, data):
    spec = campaign_from_table(data, "campaign.toml")
    assert _unset(spec) == []
    _round_trip_campaign(spec, tmp_path)
    # what bench ships to its workers (JSON, not TOML) reads back the same too
    assert campaign_from_table(json.loads(json.dumps(campaign_to_data(spec))), "c") == spec

"""``qdlab export``: a campaign's table for a spreadsheet, one row per experiment run, units in the names.

Every run in the log that closed (completed or failed) is a row, in log order: its index and kind
(``experiment``, or in a dynamic campaign ``trajectory`` / ``confirmation``), whether it completed, the
searched parameters, the rig set points, the figures of merit, ``failure``, the reactor time and the
volume of every reagent that run used (``lab.store.records.resource_use``), and the decision that chose it
(strategy, acquisition and its value). A column's unit is in its name, ``temperature [degC]``; a
dimensionless one has none. CSV (the standard library's) or Parquet (pyarrow, when installed).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from campaigns.spec import parameter_unit
from lab.store.records import ExperimentRecord, resource_use
from lab.store.sources import CampaignData
from models.errors import ConfigurationError
from models.outcomes import figure_names, unit_of

__all__ = ["export_rows", "write_csv", "write_parquet", "EXPORT_NAME"]

EXPORT_NAME = "experiments.csv"
"""What ``qdlab report`` writes beside report.html (and ``qdlab export DIR --csv`` by default)."""


def _named(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def _kind(record: ExperimentRecord, dynamic: bool) -> str:
    if record.trajectory is not None:
        return "trajectory"
    return "confirmation" if dynamic else "experiment"


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def export_rows(data: CampaignData) -> list[dict[str, Any]]:
    """The table's rows (column name -> value; None where a run has no value)."""
    kind = data.spec.search.kind
    dynamic = data.spec.protocol.mode == "dynamic"
    reagent_of = {name: str(p.get("reagent", name)) for name, p in dict(data.lab.get("pumps", {})).items()}
    usage = {u.uid: u for u in resource_use(data.runs)}
    rows = []
    for record in data.runs:
        if record.exit_status is None:  # still open (running, or cut by a crash): not a row yet
            continue
        row: dict[str, Any] = {
            "index": record.index,
            "run": _kind(record, dynamic),
            "completed": record.completed,
        }
        for p in data.spec.search.parameters:
            row[_named(p.name, parameter_unit(p.name, kind))] = _number(record.parameters.get(p.name))
        sp = record.setpoints
        row["setpoint temperature [degC]"] = sp.get("temperature_c")
        row["setpoint residence_time [s]"] = sp.get("residence_time_s")
        row["setpoint total_flow [uL/min]"] = sp.get("total_flow_ul_min")
        for reagent, q in sorted((sp.get("flows_ul_min") or {}).items()):
            row[f"setpoint flow_{reagent} [uL/min]"] = q
        for name in figure_names():
            row[_named(name, unit_of(name))] = _number(record.outcomes.get(name))
        row["objective"] = _number(record.outcomes.get("objective"))
        row["failure"] = record.outcomes.get("failure") or ""
        used = usage.get(record.uid)
        row["reactor_time [s]"] = None if used is None else used.reactor_s
        for pump, ul in sorted((used.reagents_ul if used else {}).items()):
            row[f"used {reagent_of.get(pump, pump)} [uL]"] = ul
        decision = record.decision or {}
        row["strategy"] = decision.get("strategy", data.spec.strategy)
        row["acquisition"] = decision.get("acquisition", "")
        row["acquisition_value"] = _number(decision.get("acquisition_value"))
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def write_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    columns = _columns(rows)
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return Path(path)


def write_parquet(rows: list[dict[str, Any]], path: Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigurationError(
            "Parquet needs pyarrow (pip install pyarrow); --csv needs nothing more", key="--parquet"
        ) from None
    columns = _columns(rows)
    table = pa.table({c: [row.get(c) for row in rows] for c in columns})
    pq.write_table(table, str(path))
    return Path(path)

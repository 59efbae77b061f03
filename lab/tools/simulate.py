"""``qdlab simulate``: the simulated reactor at given conditions, as JSON (one object per condition)."""

from __future__ import annotations

import csv
from pathlib import Path

from lab.view.console import emit_json, err, out, outcome_table
from models.errors import ConfigurationError
from models.numbers import json_ready

__all__ = ["run_simulate", "parse_assignments"]


def parse_assignments(material: str, assignments: list[str], *, source: str = "--set") -> dict[str, float]:
    """``["temperature=250 degC", "flow_cd=40"]`` -> {name: value in the listed unit}."""
    from models.units import parse_quantity  # pint (and the dask it probes for): not for --describe
    from simulators import describe

    table = {d["name"]: d for d in describe(material)}
    values: dict[str, float] = {}
    for text in assignments:
        name, sep, raw = text.partition("=")
        name = name.strip()
        if not sep:
            raise ConfigurationError(f"expected NAME=VALUE, got {text!r}", source=source)
        if name not in table:
            raise ConfigurationError(
                f"unknown condition {name!r} for {material}; settable: {', '.join(table)}",
                source=source,
                key=name,
            )
        values[name] = parse_quantity(
            raw.strip(), table[name]["unit"], source=source, key=name, dimensionless_ok=True
        )
    return values


def _check_range(material: str, values: dict[str, float], source: str) -> None:
    from simulators import describe

    for d in describe(material):
        v = values.get(d["name"])
        if v is not None and not (d["low"] <= v <= d["high"]) and not (d["kind"] == "flow" and v == 0):
            raise ConfigurationError(
                f"{v:g} {d['unit']} is outside [{d['low']:g}, {d['high']:g}] {d['unit']}",
                source=source,
                key=d["name"],
            )


def _rows_from_csv(material: str, path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        raise ConfigurationError("no such file", source=str(path))
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = []
        for number, row in enumerate(reader, start=2):
            assignments = [f"{k}={v}" for k, v in row.items() if k and v not in (None, "")]
            rows.append(parse_assignments(material, assignments, source=f"{path}:{number}"))
    return rows


def _canonical_material(material: str) -> str:
    from models.materials import MATERIALS

    for name in MATERIALS:
        if name.lower() == material.lower():
            return name
    raise ConfigurationError(
        f"unknown material {material!r}; known: {', '.join(MATERIALS)}", source="--material"
    )


def run_simulate(
    *,
    material: str,
    describe: bool,
    assignments: list[str],
    input_csv: Path | None,
    noisy: bool,
    seed: int,
    json_out: bool,
) -> None:
    import simulators

    material = _canonical_material(material)
    if describe:
        table = simulators.describe(material)
        if json_out:
            emit_json({"material": material, "conditions": table})
        else:
            for d in table:
                out.print(
                    f"{d['name']:<16} {d['kind']:<12} [{d['low']:g}, {d['high']:g}] {d['unit']} "
                    f"(default {d['default']:g})"
                )
        return
    rows = _rows_from_csv(material, input_csv) if input_csv else [parse_assignments(material, assignments)]
    for i, row in enumerate(rows):
        _check_range(material, row, f"{input_csv}:{i + 2}" if input_csv else "--set")
    if noisy:
        from lab.tools.measure import measure_once

        results = [measure_once(material, row, seed=seed + i) for i, row in enumerate(rows)]
    elif len(rows) > 1:
        many = simulators.evaluate_many(material, rows)
        results = [{k: json_ready(v[i]) for k, v in many.items()} for i in range(len(rows))]
    else:
        results = [simulators.evaluate_true(material, rows[0])]
    for result in results:
        result = {k: json_ready(v) for k, v in result.items()}
        if json_out:
            emit_json(result)
        else:
            out.print(outcome_table(f"{material}", result))


def run_benchmark(*, material: str, n: int, seed: int, json_out: bool, repeats: int = 5) -> None:
    """Steady-state evaluations per second of ``evaluate_many`` on one core (BLAS threads limited to
    one), at ``n`` scrambled-Sobol conditions over the material's default bounds (best of ``repeats``,
    after a warm-up call that also compiles or loads the kernel)."""
    import time

    from scipy.stats import qmc
    from threadpoolctl import threadpool_limits

    import simulators

    material = _canonical_material(material)
    table = simulators.describe(material)
    unit = qmc.Sobol(len(table), scramble=True, seed=seed).random(n)
    conditions = {d["name"]: d["low"] + unit[:, i] * (d["high"] - d["low"]) for i, d in enumerate(table)}
    times = []
    with threadpool_limits(1):
        simulators.evaluate_many(material, {k: v[:8] for k, v in conditions.items()})  # compile / warm caches
        for _ in range(repeats):
            t0 = time.perf_counter()
            simulators.evaluate_many(material, conditions)
            times.append(time.perf_counter() - t0)
    best = min(times)
    result = {"material": material, "conditions": n, "best_s": best, "evaluations_per_s": n / best}
    if json_out:
        emit_json(result)
    console = err if json_out else out
    console.print(
        f"{material}: {n} steady states in {best:.3f} s = {n / best:,.0f} evaluations/s "
        f"(one core, best of {repeats})"
    )

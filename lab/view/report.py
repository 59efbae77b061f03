"""``qdlab report``: one self-contained HTML page per campaign, plus its plots as PNG files.

The page needs no network and no script: styles are inline and every plot is a base64 PNG in an
``<img>``. It shows the campaign and lab settings; the best experiment's conditions, set points (heater,
each pump's flow, residence time) and outcomes; whether and where the target was first reached;
convergence; the history of each figure of merit the objective uses, with its target band; each
parameter by experiment; the measured spectra; reactor time and reagent use (lab.store.records.resource_use);
the Pareto front (multi-objective campaigns); the model's view (a GP fitted here to the logged
experiments, since the optimisers expose no posterior); and a table of every experiment. An experiment
is marked failed in the table and in every plot by one rule, models.objectives.failure_reason.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from campaigns import scoring
from campaigns.spec import parameter_unit
from lab.view import plots
from lab.view.console import duration, figure_label, volume_ml
from lab.view.plots import FigureTrack, ParameterAxis
from lab.store.export import EXPORT_NAME, export_rows, write_csv
from lab.store.records import ExperimentRecord, Usage, in_log_order, resource_use
from lab.store.sources import CampaignData, open_campaign, spectrometer_wavelengths
from models.objectives import MultiObjective, failure_reason, incumbent, incumbent_trace, pareto_positions

__all__ = ["write_report", "run_report", "Report", "REPORT_NAME", "PLOTS_DIR"]

REPORT_NAME = "report.html"
PLOTS_DIR = "plots"


@dataclass
class Report:
    """What :func:`write_report` wrote and found."""

    html_path: Path
    png_paths: dict[str, Path]
    summary: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    """The matplotlib Figures drawn, by plot name (what the PNG files hold)."""


def _axes(data: CampaignData) -> list[ParameterAxis]:
    kind = data.spec.search.kind
    out = []
    for p in data.spec.search.parameters:
        try:
            unit = parameter_unit(p.name, kind)
        except ValueError:
            unit = ""
        out.append(ParameterAxis(p.name, p.low, p.high, unit, p.log))
    return out


def _objectives(objective: Any) -> list[Any]:
    return list(objective.objectives) if isinstance(objective, MultiObjective) else [objective]


def _best(records: list[ExperimentRecord], objective: Any, constraints: Any) -> ExperimentRecord | None:
    """The incumbent, as replay and the run summary pick it (:func:`models.objectives.incumbent`)."""
    i = incumbent(objective, [r.outcome_row() for r in records], constraints)
    return None if i is None else records[i]


def _tracks(objective: Any) -> list[FigureTrack]:
    """The figures of merit the objective uses (and its ``reached`` criteria name), with their target
    bands: the ``reached`` interval, else a term's ``within`` band or ``target`` value."""
    names = list(objective.outcomes) + [k for k in objective.reached_ranges if k not in objective.outcomes]
    terms = [t for o in _objectives(objective) for t in getattr(o, "terms", ())]
    out = []
    for name in names:
        band = objective.reached_ranges.get(name)
        target = None
        for t in terms:
            if t.outcome == name and band is None and t.within is not None:
                band = tuple(t.within)
            if t.outcome == name and t.target is not None:
                target = t.target
        label, unit = figure_label(name)
        out.append(FigureTrack(name, f"{label} ({unit})" if unit else label, band, target))
    return out


def _reagents(lab: dict[str, Any]) -> dict[str, str]:
    """Pump device name -> the reagent it holds (from the lab table as run)."""
    pumps = lab.get("pumps") or {}
    return {name: str(p.get("reagent", name)) for name, p in pumps.items() if isinstance(p, dict)}


def _setpoint_rows(record: ExperimentRecord, reagents: dict[str, str]) -> dict[str, str]:
    """The best experiment's set points beside what the rig read back at its measurement."""
    sp, reading = record.setpoints, record.primary
    rows: dict[str, str] = {}
    measured = reading.get("heater_temperature")
    if sp.get("temperature_c") is not None:
        rows["temperature"] = f"{_fmt(sp['temperature_c'])} degC" + (
            f" (read {_fmt(measured)})" if isinstance(measured, (int, float)) else ""
        )
    if sp.get("residence_time_s") is not None:
        tau = float(sp["residence_time_s"])
        rows["residence time"] = f"{_fmt(tau)} s" + (f" ({duration(tau)})" if tau >= 60 else "")
    if sp.get("total_flow_ul_min") is not None:
        rows["total flow"] = f"{_fmt(sp['total_flow_ul_min'])} uL/min"
    by_reagent = {r: p for p, r in reagents.items()}
    for reagent, flow in (sp.get("flows_ul_min") or {}).items():
        pump = by_reagent.get(reagent, reagent)
        read = reading.get(f"{pump}_flow")
        rows[f"pump {pump}" if pump == reagent else f"pump {pump} ({reagent})"] = f"{_fmt(flow)} uL/min" + (
            f" (read {_fmt(read)})" if isinstance(read, (int, float)) else ""
        )
    for reagent, conc in (sp.get("concentrations_mM") or {}).items():
        rows[f"concentration {reagent}"] = f"{_fmt(conc)} mM"
    return rows


def _usage_by_uid(usage: list[Usage]) -> dict[str, Usage]:
    return {u.uid: u for u in usage}


def _report_gp(X: np.ndarray, y: np.ndarray) -> Any:
    """The report's own GP (Matern 5/2 + noise, on the unit cube; the optimisers expose no posterior),
    fitted to ``X`` (n x d unit-box coordinates) and ``y``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
        length_scale=[0.3] * X.shape[1], length_scale_bounds=(1e-2, 1e2), nu=2.5
    ) + WhiteKernel(1e-2, (1e-6, 1.0))
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(X, y)
    return gp


def _fit_curves(
    records: list[ExperimentRecord],
    axes: list[ParameterAxis],
    objective: Any,
    incumbent: ExperimentRecord | None,
) -> dict[str, Any]:
    """GP (:func:`_report_gp`) of the objective, sliced through the incumbent."""
    rows = [(r, objective.value(r.outcome_row())) for r in records]
    rows = [(r, v) for r, v in rows if v is not None and all(a.name in r.parameters for a in axes)]
    if incumbent is None or len(rows) < 3:
        return {}
    X = np.array([[a.to_unit(r.parameters[a.name]) for a in axes] for r, _ in rows], dtype=float)
    y = np.array([v for _, v in rows], dtype=float)
    gp = _report_gp(X, y)
    centre = np.array([a.to_unit(incumbent.parameters[a.name]) for a in axes], dtype=float)
    curves = {}
    for k, axis in enumerate(axes):
        grid = axis.grid()
        Xq = np.tile(centre, (len(grid), 1))
        Xq[:, k] = axis.to_unit(grid)
        mean, sd = gp.predict(Xq, return_std=True)
        curves[axis.name] = {
            "x": grid,
            "mean": mean,
            "sd": sd,
            "obs_x": [r.parameters[axis.name] for r, _ in rows],
            "obs_y": y.tolist(),
            "incumbent": incumbent.parameters[axis.name],
        }
    return curves


MAP_POINTS = 41
"""Grid points along each axis of a steady-state map."""


def _steady_state_maps(
    records: list[ExperimentRecord], axes: list[ParameterAxis], outcome: str, best: ExperimentRecord | None
) -> dict[tuple[str, str], dict[str, Any]]:
    """A dynamic campaign's steady-state map of ``outcome`` on each pair of neighbouring parameters:
    the mean of a GP (:func:`_report_gp`) fitted to everything the optimiser learnt from (each
    trajectory's thinned samples, each confirmation), on the unit box, sliced through ``best`` (the
    incumbent: a confirmation; the middle of the box before there is one). Returns
    ``{(x, y): {"u", "v", "mean"}}``: unit-box grids and the mean on them (rows along ``y``); empty for
    a campaign without trajectories or with fewer than 3 rows."""
    if len(axes) < 2 or not any(r.trajectory is not None for r in records):
        return {}
    rows = [
        row
        for r in records
        if r.completed
        for row in r.observation_rows()
        if not row.get("failure")
        and isinstance(row.get(outcome), (int, float))
        and math.isfinite(row[outcome])
        and all(isinstance(row.get(a.name), (int, float)) for a in axes)
    ]
    if len(rows) < 3:
        return {}
    X = np.column_stack([a.to_unit(np.array([row[a.name] for row in rows], dtype=float)) for a in axes])
    gp = _report_gp(X, np.array([row[outcome] for row in rows], dtype=float))
    centre = np.full(len(axes), 0.5)
    if best is not None and all(a.name in best.parameters for a in axes):
        centre = np.array([a.to_unit(np.array(best.parameters[a.name], dtype=float)) for a in axes])
    grid = np.linspace(0.0, 1.0, MAP_POINTS)
    maps = {}
    for k in range(len(axes) - 1):
        uu, vv = np.meshgrid(grid, grid)
        Xq = np.tile(centre, (uu.size, 1))
        Xq[:, k], Xq[:, k + 1] = uu.ravel(), vv.ravel()
        maps[axes[k].name, axes[k + 1].name] = {
            "u": grid,
            "v": grid,
            "mean": gp.predict(Xq).reshape(uu.shape),
        }
    return maps


def _png(fig: Any, path: Path) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    raw = buf.getvalue()
    path.write_bytes(raw)
    return base64.b64encode(raw).decode("ascii")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else "–"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _kv_table(rows: dict[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows.items()
    )
    return f'<table class="kv">{body}</table>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;
color:#222;line-height:1.4}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#666;font-size:.9rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem 2rem}
table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.15rem .5rem;border-bottom:1px solid #eee;text-align:right}
table.kv th{text-align:left;font-weight:600}table.kv td{text-align:left}
table.runs th{position:sticky;top:0;background:#f7f7f7}.scroll{overflow-x:auto}table.runs{font-size:.78rem}
tr.failed td{background:#fde8e8;color:#a11}tr.best td{background:#e8f6e8;font-weight:600}
tr.incomplete td{background:#f3f3f3;color:#777}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem}
p.target{font-size:1.05rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#a11;color:#fff;font-size:.75rem}
"""


def _experiment_rows(
    data: CampaignData,
    objective: Any,
    axes: list[ParameterAxis],
    best: ExperimentRecord | None,
    usage: dict[str, Usage],
) -> tuple[list[str], list[list[str]], list[str]]:
    outcome_names: list[str] = []
    for r in data.runs:
        for k in r.outcomes:
            if k not in outcome_names and k not in ("failure", "objective"):
                outcome_names.append(k)
    header = [
        "#",
        *[a.label for a in axes],
        *outcome_names,
        "objective",
        "reactor time",
        "total",
        "dispensed (uL)",
        "total (mL)",
        "status",
    ]
    rows, classes = [], []
    for r in data.runs:
        row_out = r.outcome_row()
        value = objective.value(row_out) if r.completed else None
        reason = failure_reason(objective, row_out)
        if not r.completed:
            status, cls = f"incomplete ({r.exit_status or 'no stop document'})", "incomplete"
        elif reason:
            status, cls = f"failed: {reason}", "failed"
        else:
            status, cls = "ok", "best" if best is not None and r.uid == best.uid else ""
        u = usage.get(r.uid)
        spent = [
            duration(u.reactor_s) if u and u.reactor_s is not None else "–",
            duration(u.cumulative_reactor_s) if u else "–",
            _fmt(u.reagent_total_ul, 3) if u and u.reactor_s is not None else "–",
            _fmt(sum(u.cumulative_reagents_ul.values()) / 1000.0, 3) if u else "–",
        ]
        rows.append(
            [
                str(r.index),
                *[_fmt(r.parameters.get(a.name)) for a in axes],
                *[_fmt(r.outcomes.get(k)) for k in outcome_names],
                _fmt(value),
                *spent,
                status,
            ]
        )
        classes.append(cls)
    return header, rows, classes


@dataclass
class _Facts:
    """What the report says about a campaign, derived once from its data (:func:`_facts`)."""

    spec: Any
    objective: Any
    objectives: list[Any]
    first: Any
    """The first objective: convergence, the model's view, the best's objective value."""
    records: list[ExperimentRecord]
    axes: list[ParameterAxis]
    best: ExperimentRecord | None
    failed: list[ExperimentRecord]
    failed_indices: set[int]
    first_on_target: int | None
    usage: list[Usage]
    usage_of: dict[str, Usage]
    reagents: dict[str, str]

    @property
    def best_index(self) -> int | None:
        return None if self.best is None else self.best.index


def _facts(data: CampaignData) -> _Facts:
    spec = data.spec
    objective = spec.parsed_objective
    objectives = _objectives(objective)
    records = data.records
    reasons = {r.index: failure_reason(objective, r.outcome_row()) for r in records}
    failed = [r for r in records if reasons[r.index]]
    usage = resource_use(data.runs)
    return _Facts(
        spec=spec,
        objective=objective,
        objectives=objectives,
        first=objectives[0],
        records=records,
        axes=_axes(data),
        best=_best(records, objective, spec.outcome_constraints),
        failed=failed,
        failed_indices={r.index for r in failed},
        first_on_target=scoring.reached_at(objective, [(r.index, r.outcome_row()) for r in records]),
        usage=usage,
        usage_of=_usage_by_uid(usage),
        reagents=_reagents(data.lab),
    )


def _pareto_figure(f: _Facts) -> list[tuple[str, str, Any]]:
    """The Pareto front of a multi-objective campaign with a successful experiment; else nothing."""
    if not isinstance(f.objective, MultiObjective):
        return []
    rows = [r.outcome_row() for r in f.records]
    front = set(pareto_positions(f.objective, rows, f.spec.outcome_constraints))
    ok = [(k, r, f.objective.value(rows[k])) for k, r in enumerate(f.records)]
    ok = [(k, r, v) for k, r, v in ok if v is not None]
    if not ok:
        return []
    fig = plots.pareto(
        np.array([v for _, _, v in ok]),
        np.array([k in front for k, _, _ in ok]),
        [o.name for o in f.objectives],
        [r.index for _, r, _ in ok],
    )
    return [("pareto", "Pareto front of the first two objectives (experiment numbers marked)", fig)]


def _history_figures(f: _Facts) -> list[tuple[str, str, Any]]:
    """Convergence of the first objective and the history of each figure of merit."""
    first, records = f.first, f.records
    convergence = plots.convergence(
        records,
        [first.value(r.outcome_row()) for r in records],
        first.sign,
        first.name,
        failed=f.failed_indices,
    )
    history = plots.figure_history(
        records, _tracks(f.objective), f.best_index, f.failed_indices, f.first_on_target
    )
    return [
        (
            "convergence",
            f"{first.name} of each experiment and the best so far (crosses: failed)",
            convergence,
        ),
        (
            "figures",
            "Each figure of merit the objective uses, by experiment, with its target "
            "band (star: best; crosses: failed)",
            history,
        ),
    ]


def _run_figures(data: CampaignData, f: _Facts) -> list[tuple[str, str, Any]]:
    """Conditions, spectra, resources and the model's view."""
    records, best_index = f.records, f.best_index
    figures = [
        (
            "parameters",
            "Conditions of each experiment (crosses: failed, star: best)",
            plots.parameters_vs_experiment(records, f.axes, best_index, f.failed_indices),
        ),
        (
            "spectra",
            "Absorbance and photoluminescence of every experiment",
            plots.spectra(records, spectrometer_wavelengths(data.documents), best_index, f.failed_indices),
        ),
    ]
    measured = [u for u in f.usage if u.reactor_s is not None]
    pumps = sorted({p for u in measured for p in u.cumulative_reagents_ul})
    spent = {f.reagents.get(p, p): [u.cumulative_reagents_ul.get(p, 0.0) for u in measured] for p in pumps}
    figures.append(
        (
            "resources",
            "Reactor time and reagent use, cumulative over every run in the log "
            "(flushes and calibration included)",
            plots.resources([u.index for u in measured], [u.cumulative_reactor_s for u in measured], spent),
        )
    )
    figures.append(
        (
            "hours",
            f"Best {f.first.name} so far (the incumbent) against cumulative reactor time, "
            "calibration included",
            _best_vs_hours(data, f),
        )
    )
    outcome = next(iter(f.objective.outcomes), "pl_peak_nm")
    figures.append(
        (
            "trajectories",
            "Dynamic flow: each trajectory through the search space, the assigned samples the optimiser "
            f"learnt from (colour: measured {outcome}) and the steady-state confirmations, over the "
            f"steady-state map of {outcome} that a GP fitted here to those samples and confirmations "
            "predicts (sliced through the best confirmation)",
            plots.trajectories(
                records, f.axes, outcome, _steady_state_maps(records, f.axes, outcome, f.best)
            ),
        )
    )
    curves = _fit_curves(records, f.axes, f.first, f.best)
    figures.append(
        (
            "model",
            "A Gaussian process fitted to the logged experiments, sliced along each parameter "
            "through the best experiment (dashed); dots are the experiments",
            plots.model_view(curves, f.axes, f.first.name),
        )
    )
    return figures


def _best_vs_hours(data: CampaignData, f: _Facts) -> Any:
    """The incumbent (:func:`models.objectives.incumbent_trace`, the first objective's value of it)
    after each completed experiment in log order, against the rig's cumulative reactor time then
    (:func:`lab.store.records.resource_use`)."""
    ordered = [r for r in in_log_order(data.runs) if f.usage_of.get(r.uid) is not None]
    rows = [r.outcome_row() for r in ordered]
    trace = incumbent_trace(f.objective, rows, f.spec.outcome_constraints)
    hours = [f.usage_of[r.uid].cumulative_reactor_s / 3600.0 for r in ordered]
    best = [None if k is None else f.first.value(rows[k]) for k in trace]
    return plots.best_vs_hours(hours, best, f.first.name)


def _figures(data: CampaignData, f: _Facts) -> list[tuple[str, str, Any]]:
    """Every plot, in the page's order, as ``(key, caption, Figure or None)`` (drawn in this order: the
    Pareto front first)."""
    pareto = _pareto_figure(f)
    history = _history_figures(f)
    return history + pareto + _run_figures(data, f)


def _draw(
    figures: list[tuple[str, str, Any]], plot_dir: Path
) -> tuple[dict[str, Path], dict[str, Any], list]:
    """Each figure to ``plot_dir/KEY.png`` and to an inline ``<figure>``: ``(png_paths, drawn, blocks)``."""
    png_paths: dict[str, Path] = {}
    drawn: dict[str, Any] = {}
    blocks = []
    for key, caption, fig in figures:
        if fig is None:
            continue
        path = plot_dir / f"{key}.png"
        encoded = _png(fig, path)
        png_paths[key] = path
        drawn[key] = fig
        blocks.append(
            f'<figure id="plot-{key}"><img alt="{html.escape(key)} plot" '
            f'src="data:image/png;base64,{encoded}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
    return png_paths, drawn, blocks


def _settings(data: CampaignData, f: _Facts) -> dict[str, Any]:
    """The campaign's settings table."""
    spec = f.spec
    settings = {
        "id": spec.id,
        "material": spec.material,
        "strategy": spec.strategy,
        "seed": spec.seed,
        "budget": spec.budget,
        "experiments completed": len(f.records),
        "failed": len(f.failed),
        "incomplete runs": sum(1 for r in data.runs if not r.completed),
    }
    for a, p in zip(f.axes, spec.search.parameters):
        settings[f"search: {a.name}"] = (
            f"{_fmt(p.low)} – {_fmt(p.high)} {a.unit}{' (log)' if p.log else ''}".strip()
        )
    for k, v in spec.search.fixed.items():
        settings[f"fixed: {k}"] = v
    settings["objective"] = spec.objective
    if spec.strategy_options:
        settings["strategy options"] = spec.strategy_options
    settings.update({f"protocol: {k}": v for k, v in spec.protocol.model_dump().items()})
    return settings


def _target_text(f: _Facts) -> str:
    """Whether and where the target was first reached, and what it cost (plain text)."""
    if not f.objective.reached_ranges:
        return "The campaign defines no target (no reached criteria)."
    if f.first_on_target is None:
        return "Target not reached."
    text = f"Target reached at experiment {f.first_on_target}"
    at = f.usage_of.get(next(r.uid for r in f.records if r.index == f.first_on_target))
    if at is not None:
        text += (
            f", after {duration(at.cumulative_reactor_s)} of reactor time and "
            f"{volume_ml(sum(at.cumulative_reagents_ul.values()))} of reagents"
        )
    return text + "."


def _spent_html(total: Usage | None, reagents: dict[str, str]) -> str:
    """Reactor time and reagents dispensed over the whole log (HTML)."""
    if total is None:
        return "Reactor time and reagent use: not recorded."
    volumes = ", ".join(
        f"{html.escape(reagents.get(p, p))} {volume_ml(v)}" for p, v in total.cumulative_reagents_ul.items()
    )
    return (
        f"Reactor time {html.escape(duration(total.cumulative_reactor_s))}"
        + (f"; dispensed {volumes}" if volumes else "")
        + "."
    )


def _best_html(f: _Facts) -> str:
    """The best experiment's conditions, set points and outcomes (HTML)."""
    best = f.best
    if best is None:
        return "<p>No successful experiment yet.</p>"
    return (
        f'<div class="grid"><div><h3>Conditions (experiment {best.index})</h3>'
        f"{_kv_table({a.label: best.parameters.get(a.name) for a in f.axes})}</div>"
        f"<div><h3>Set points and pumps</h3>{_kv_table(_setpoint_rows(best, f.reagents))}</div>"
        f"<div><h3>Outcomes</h3>{_kv_table({**best.outcomes, 'objective': f.first.value(best.outcome_row())})}"
        "</div></div>"
    )


def _runs_table(data: CampaignData, f: _Facts) -> str:
    """Every experiment, one row each (HTML)."""
    header, rows, classes = _experiment_rows(data, f.objective, f.axes, f.best, f.usage_of)
    return (
        '<table class="runs"><thead><tr>'
        + "".join(f"<th>{html.escape(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
        + "".join(
            f'<tr class="{c}">' + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row, c in zip(rows, classes)
        )
        + "</tbody></table>"
    )


def _page(data: CampaignData, f: _Facts, blocks: list[str]) -> str:
    """The whole self-contained HTML page."""
    spec = f.spec
    target_text = _target_text(f)
    spent_text = _spent_html(f.usage[-1] if f.usage else None, f.reagents)
    best_html = _best_html(f)
    settings = _settings(data, f)
    table = _runs_table(data, f)
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    failed_badge = f' <span class="badge">{len(f.failed)} failed</span>' if f.failed else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>qdlab report: {html.escape(spec.name)}</title><style>{_CSS}</style></head>
<body>
<h1>{html.escape(spec.name)}</h1>
<p class="meta">{html.escape(spec.description)}<br>Read from {html.escape(data.origin)}; written {now} by qdlab report.</p>
<h2>Best so far{failed_badge}</h2>
<p class="target" id="target">{html.escape(target_text)}</p>
<p id="resources">{spent_text}</p>
{best_html}
<h2>Plots</h2>
{"".join(blocks)}
<h2>Settings</h2>
<div class="grid"><div><h3>Campaign</h3>{_kv_table(settings)}</div>
<div><h3>Lab{(" " + html.escape(str(data.lab.get("name")))) if data.lab.get("name") else ""}</h3>{_kv_table(_flatten(data.lab))}</div></div>
<h2>All experiments</h2>
<p id="export">One row per run, units in the column names: <a href="{EXPORT_NAME}">{EXPORT_NAME}</a>
(<code>qdlab export DIR --csv</code> or <code>--parquet</code> writes it again).</p>
<div class="scroll">{table}</div>
</body></html>
"""


def _summary(data: CampaignData, f: _Facts, html_path: Path, png_paths: dict[str, Path]) -> dict[str, Any]:
    """What ``qdlab report`` prints (and ``--json`` holds)."""
    spec, best, first = f.spec, f.best, f.first
    total = f.usage[-1] if f.usage else None
    return {
        "campaign": spec.identity(),
        "lab": data.lab.get("name"),
        "experiments": len(f.records),
        "failed": len(f.failed),
        "failed_indices": sorted(f.failed_indices),
        "has_target": bool(f.objective.reached_ranges),
        "reached_at": f.first_on_target,
        "reactor_s": None if total is None else total.cumulative_reactor_s,
        "reagents_ul": {}
        if total is None
        else {f.reagents.get(p, p): v for p, v in total.cumulative_reagents_ul.items()},
        "best": None
        if best is None
        else {
            "index": best.index,
            "conditions": best.parameters,
            "outcomes": best.outcomes,
            "objective": first.value(best.outcome_row()),
            "setpoints": best.setpoints,
        },
        "report": str(html_path),
        "plots": {k: str(p) for k, p in png_paths.items()},
    }


def write_report(data: CampaignData, out_dir: Path) -> Report:
    """Write ``out_dir/report.html`` and ``out_dir/plots/*.png``; return what was written and a summary."""
    out_dir = Path(out_dir)
    plot_dir = out_dir / PLOTS_DIR
    plot_dir.mkdir(parents=True, exist_ok=True)
    facts = _facts(data)
    png_paths, drawn, blocks = _draw(_figures(data, facts), plot_dir)
    write_csv(export_rows(data), out_dir / EXPORT_NAME)  # the table for a spreadsheet, linked from the page
    html_path = out_dir / REPORT_NAME
    html_path.write_text(_page(data, facts, blocks), encoding="utf-8")
    return Report(html_path, png_paths, _summary(data, facts, html_path, png_paths), drawn)


def run_report(
    directory: Path | None,
    *,
    tiled: str | None = None,
    campaign_id: str | None = None,
    json_out: bool = False,
) -> Report:
    """``qdlab report``: read the campaign, write the report, print the summary on stdout (with ``--json``:
    the summary as JSON on stdout, the human lines on stderr)."""
    from lab.view.console import emit_json, err, out, outcome_table

    console = err if json_out else out
    data = open_campaign(None if tiled else directory, tiled=tiled, campaign_id=campaign_id)
    out_dir = directory if directory is not None else Path("reports") / str(data.spec.id)
    report = write_report(data, out_dir)
    s = report.summary
    c = s["campaign"]
    console.print(
        f"[bold]{c['name']}[/] ({c['material']}, {c['strategy']}, seed {c['seed']}) on lab "
        f"{s['lab'] or '?'}: {s['experiments']} of {c['budget']} experiments, {s['failed']} failed"
    )
    if s["has_target"]:
        console.print(
            f"target reached at experiment {s['reached_at']}"
            if s["reached_at"] is not None
            else "target not reached"
        )
    if s["reactor_s"] is not None:
        volumes = ", ".join(f"{k} {volume_ml(v)}" for k, v in s["reagents_ul"].items())
        spent = f"reactor time {duration(s['reactor_s'])}"
        console.print(spent + (f"; dispensed {volumes}" if volumes else ""))
    if s["best"] is None:
        console.print("no successful experiment yet")
    else:
        best = s["best"]
        console.print(outcome_table(f"best: experiment {best['index']}", best["conditions"]))
        console.print(outcome_table("its outcomes", {**best["outcomes"], "objective": best["objective"]}))
    console.print(f"report: {report.html_path} (plots in {report.html_path.parent / PLOTS_DIR})")
    if json_out:
        emit_json(s)
    return report

"""The figures of a campaign report, as matplotlib Figures (no pyplot: no display, no global state).

Each function takes plain data (experiments as :class:`lab.store.records.ExperimentRecord`, axes in user units)
and returns a :class:`matplotlib.figure.Figure`, or None when the campaign has nothing to show for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from lab.store.records import ExperimentRecord

__all__ = [
    "convergence",
    "parameters_vs_experiment",
    "spectra",
    "pareto",
    "model_view",
    "figure_history",
    "resources",
    "trajectories",
    "ParameterAxis",
    "FigureTrack",
]

BEST = "#d62728"
POINT = "#1f77b4"
FAILED = "#7f7f7f"


class ParameterAxis:
    """One search parameter: name, bounds and unit (user units), log scale or not."""

    def __init__(self, name: str, low: float, high: float, unit: str = "", log: bool = False):
        self.name, self.low, self.high, self.unit, self.log = name, float(low), float(high), unit, bool(log)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map user values onto [0, 1] (log-spaced for a log parameter)."""
        x = np.asarray(x, dtype=float)
        if self.log:
            return (np.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    def grid(self, n: int = 120) -> np.ndarray:
        return np.geomspace(self.low, self.high, n) if self.log else np.linspace(self.low, self.high, n)


def _plain_log(axis: Any) -> None:
    """Log scale with plain numbers (30, 100, 300) rather than 3 x 10^1."""
    axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_formatter(NullFormatter())


def _marker(failed: Collection[int] | None) -> Callable[[ExperimentRecord], bool]:
    """Failed or not, as the report's table says (``failed``: experiment indices, from
    :func:`models.objectives.failure_reason`); without it, the record's own failure mark."""
    if failed is None:
        return lambda r: bool(r.outcomes.get("failure"))
    marked = set(failed)
    return lambda r: r.index in marked


def convergence(
    records: Sequence[ExperimentRecord],
    values: Sequence[float | None],
    sign: float,
    label: str,
    failed: Collection[int] | None = None,
) -> Figure | None:
    """Objective of each experiment and the best so far, against the experiment index.

    ``values``: the objective of each record (None when it has none); ``sign`` +1 when higher is better;
    ``failed``: indices of the failed experiments (crosses), default those without a value.
    """
    if not records:
        return None
    if failed is not None:
        is_failed = _marker(failed)
        values = [None if is_failed(r) else v for r, v in zip(records, values)]
    fig = Figure(figsize=(7.5, 3.8), layout="constrained")
    ax = fig.add_subplot()
    idx = [r.index for r in records]
    ok = [(i, v) for i, v in zip(idx, values) if v is not None]
    if ok:
        ax.plot([i for i, _ in ok], [v for _, v in ok], "o", color=POINT, label="experiment")
        best, steps = None, []
        for i, v in zip(idx, values):
            if v is not None and (best is None or sign * v > sign * best):
                best = v
            steps.append(best)
        xs = [i for i, b in zip(idx, steps) if b is not None]
        ax.step(xs, [b for b in steps if b is not None], where="post", color=BEST, lw=2, label="best so far")
    bad = [i for i, v in zip(idx, values) if v is None]
    if bad:
        floor = min((v for _, v in ok), default=0.0)
        ax.plot(bad, [floor] * len(bad), "x", color=FAILED, ms=8, label="failed")
    ax.set_xlabel("experiment")
    ax.set_ylabel(label)
    ax.set_title("Convergence")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def parameters_vs_experiment(
    records: Sequence[ExperimentRecord],
    axes: Sequence[ParameterAxis],
    best_index: int | None,
    failed: Collection[int] | None = None,
) -> Figure | None:
    """One panel per parameter: its value at each experiment (failures as crosses, the best in red)."""
    if not records or not axes:
        return None
    cols = 2 if len(axes) > 1 else 1
    rows = math.ceil(len(axes) / cols)
    fig = Figure(figsize=(7.5, 2.4 * rows + 0.6), layout="constrained")
    fig.suptitle("Parameters by experiment")
    is_failed = _marker(failed)
    for k, axis in enumerate(axes):
        ax = fig.add_subplot(rows, cols, k + 1)
        good = [r for r in records if not is_failed(r)]
        bad = [r for r in records if is_failed(r)]
        ax.plot([r.index for r in good], [r.parameters.get(axis.name) for r in good], "o", color=POINT, ms=4)
        if bad:
            ax.plot(
                [r.index for r in bad],
                [r.parameters.get(axis.name) for r in bad],
                "x",
                color=FAILED,
                ms=6,
                label="failed",
            )
        best = [r for r in records if r.index == best_index]
        if best:
            ax.plot([best[0].index], [best[0].parameters.get(axis.name)], "*", color=BEST, ms=12)
        if axis.log:
            ax.set_yscale("log")
            ax.set_ylim(axis.low / 1.1, axis.high * 1.1)
            _plain_log(ax.yaxis)
        else:
            pad = 0.05 * (axis.high - axis.low)
            ax.set_ylim(axis.low - pad, axis.high + pad)
        ax.set_ylabel(axis.label, fontsize=8)
        ax.set_xlabel("experiment", fontsize=8)
        ax.grid(alpha=0.3)
    return fig


def spectra(
    records: Sequence[ExperimentRecord],
    wavelengths: dict[str, Sequence[float]],
    best_index: int | None,
    failed: Collection[int] | None = None,
) -> Figure | None:
    """Absorbance and PL spectra of every measured experiment, the best highlighted.

    ``wavelengths``: ``{"abs": nm, "pl": nm}``; spectra are the ``spectrometer_absorbance`` and
    ``spectrometer_pl`` arrays of each experiment's primary event.
    """
    panels = [("abs", "spectrometer_absorbance", "absorbance"), ("pl", "spectrometer_pl", "PL (counts)")]
    measured = [r for r in records if any(r.primary.get(key) for _, key, _ in panels)]
    if not measured or not wavelengths:
        return None
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    fig.suptitle("Measured spectra (best in red)")
    is_failed = _marker(failed)
    for k, (kind, key, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        wl = np.asarray(wavelengths.get(kind) or [], dtype=float)
        best = None
        for r in measured:
            y = np.asarray([np.nan if v is None else v for v in (r.primary.get(key) or [])], dtype=float)
            if len(y) != len(wl) or not len(y):
                continue
            if r.index == best_index:
                best = (r.index, y)
                continue
            ax.plot(wl, y, color=FAILED if is_failed(r) else POINT, lw=0.6, alpha=0.35)
        if best is not None:
            ax.plot(wl, best[1], color=BEST, lw=1.8, label=f"best (experiment {best[0]})")
            ax.legend(fontsize=8, loc="best")
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    return fig


def pareto(
    values: np.ndarray, on_front: np.ndarray, labels: Sequence[str], indices: Sequence[int]
) -> Figure | None:
    """Objective values of the successful experiments of a multi-objective campaign, Pareto front joined.

    ``values``: n x m, of which the first two objectives are plotted; ``on_front``: n booleans, the
    experiments on the Pareto front (:func:`models.objectives.pareto_positions`: feasible, non-dominated).
    """
    if len(values) < 1 or values.shape[1] < 2:
        return None
    mask = np.asarray(on_front, dtype=bool)
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(values[~mask, 0], values[~mask, 1], "o", color=POINT, alpha=0.6, label="dominated or infeasible")
    front = values[mask]
    order = np.argsort(front[:, 0])
    ax.plot(front[order, 0], front[order, 1], "o-", color=BEST, label="Pareto front")
    for (x, y), i in zip(values[mask], np.asarray(indices)[mask]):
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("Pareto front")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def model_view(curves: dict[str, Any], axes: Sequence[ParameterAxis], label: str) -> Figure | None:
    """Predicted objective along each parameter through the incumbent, mean and 95% band.

    ``curves[name]``: ``{"x", "mean", "sd", "obs_x", "obs_y", "incumbent"}`` (user units).
    """
    if not curves:
        return None
    cols = 2 if len(axes) > 1 else 1
    rows = math.ceil(len(axes) / cols)
    fig = Figure(figsize=(7.5, 2.5 * rows + 0.6), layout="constrained")
    fig.suptitle(f"Model's view: predicted {label} through the best experiment (mean, 95% band)")
    for k, axis in enumerate(axes):
        c = curves.get(axis.name)
        if c is None:
            continue
        ax = fig.add_subplot(rows, cols, k + 1)
        x, mean, sd = np.asarray(c["x"]), np.asarray(c["mean"]), np.asarray(c["sd"])
        ax.fill_between(x, mean - 1.96 * sd, mean + 1.96 * sd, color=POINT, alpha=0.2, lw=0)
        ax.plot(x, mean, color=POINT, lw=1.5)
        ax.plot(c["obs_x"], c["obs_y"], ".", color=FAILED, ms=5)
        ax.axvline(c["incumbent"], color=BEST, lw=1, ls="--")
        if axis.log:
            ax.set_xscale("log")
            _plain_log(ax.xaxis)
        ax.set_xlabel(axis.label, fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    return fig


class FigureTrack:
    """One figure of merit to follow through a campaign: ``name`` (outcome key), ``label`` (with unit),
    ``band`` ([lo, hi] of the target, or None) and ``target`` (a single target value, or None)."""

    def __init__(
        self, name: str, label: str, band: tuple[float, float] | None = None, target: float | None = None
    ):
        self.name, self.label, self.band, self.target = name, label, band, target


def figure_history(
    records: Sequence[ExperimentRecord],
    tracks: Sequence[FigureTrack],
    best_index: int | None,
    failed: Collection[int] | None = None,
    reached_at: int | None = None,
) -> Figure | None:
    """One panel per figure of merit: its measured value at each experiment, the target band shaded,
    failed experiments as crosses at the bottom, the best starred and the first on target marked."""
    if not records or not tracks:
        return None
    is_failed = _marker(failed)
    rows = len(tracks)
    fig = Figure(figsize=(7.5, 1.9 * rows + 0.7), layout="constrained")
    fig.suptitle("Figures of merit by experiment (shaded: target band)")
    for k, track in enumerate(tracks):
        ax = fig.add_subplot(rows, 1, k + 1)
        points = [(r.index, r.outcomes.get(track.name)) for r in records if not is_failed(r)]
        points = [(i, float(v)) for i, v in points if isinstance(v, (int, float)) and math.isfinite(v)]
        if track.band is not None:
            lo, hi = track.band
            ax.axhspan(lo, hi, color="#2ca02c", alpha=0.15, lw=0, label="target band")
        if track.target is not None:
            ax.axhline(track.target, color="#2ca02c", lw=1, ls="--", label="target")
        if points:
            ax.plot([i for i, _ in points], [v for _, v in points], "o-", color=POINT, ms=4, lw=0.8)
        bad = [r.index for r in records if is_failed(r)]
        if bad:
            floor = ax.get_ylim()[0]
            ax.plot(bad, [floor] * len(bad), "x", color=FAILED, ms=7, label="failed", clip_on=False)
        best = [v for i, v in points if i == best_index]
        if best:
            ax.plot([best_index], best, "*", color=BEST, ms=13, label=f"best (#{best_index})")
        if reached_at is not None:
            ax.axvline(reached_at, color="#2ca02c", lw=1, ls=":")
        ax.set_ylabel(track.label, fontsize=8)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc="best")
    ax.set_xlabel(
        "experiment" + (f" (dotted: target first reached at {reached_at})" if reached_at is not None else "")
    )
    return fig


def resources(
    indices: Sequence[int], reactor_s: Sequence[float], reagents_ul: dict[str, Sequence[float]]
) -> Figure | None:
    """Cumulative reactor time (h) and each reagent's cumulative use (mL) against the experiment index
    (``reactor_s`` and ``reagents_ul[name]``: cumulative values, one per experiment)."""
    if not indices:
        return None
    fig = Figure(figsize=(7.5, 3.2), layout="constrained")
    fig.suptitle("Reactor time and reagent use (cumulative)")
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(indices, np.asarray(reactor_s, dtype=float) / 3600.0, "o-", color=POINT, ms=3)
    ax.set_xlabel("experiment")
    ax.set_ylabel("reactor time (h)")
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(1, 2, 2)
    for name, values in reagents_ul.items():
        ax.plot(indices, np.asarray(values, dtype=float) / 1000.0, "o-", ms=3, label=name)
    ax.set_xlabel("experiment")
    ax.set_ylabel("dispensed (mL)")
    ax.grid(alpha=0.3)
    if reagents_ul:
        ax.legend(fontsize=8)
    return fig


def best_vs_hours(hours: Sequence[float], best: Sequence[float | None], label: str) -> Figure | None:
    """The incumbent's objective against cumulative reactor hours: ``hours[k]`` the rig's time when
    the k-th completed experiment (in log order) was measured, ``best[k]`` the incumbent's value after
    it (None before any feasible experiment). None when no experiment has both."""
    points = [(h, b) for h, b in zip(hours, best) if b is not None]
    if not points:
        return None
    fig = Figure(figsize=(7.5, 3.4), layout="constrained")
    ax = fig.add_subplot()
    ax.step([h for h, _ in points], [b for _, b in points], where="post", color=BEST, lw=2)
    ax.plot([h for h, _ in points], [b for _, b in points], "o", color=BEST, ms=3)
    ax.set_xlabel("reactor time (h, cumulative)")
    ax.set_ylabel(f"best {label}")
    ax.set_title("Best so far against reactor time")
    ax.grid(alpha=0.3)
    return fig


def trajectories(
    records: Sequence[ExperimentRecord],
    axes: Sequence[ParameterAxis],
    outcome: str,
    maps: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> Figure | None:
    """A dynamic campaign's runs on each pair of neighbouring parameters (unit-box coordinates as the
    optimiser sees them): each trajectory's path as a line, its assigned samples (those learnt from)
    coloured by ``outcome``, the confirmations as stars, over ``maps[(x, y)]`` (``{"u", "v", "mean"}``:
    a steady-state map of ``outcome`` on unit-box grids, in the samples' colours) where given. None when
    the campaign ran no trajectory."""
    paths = [r for r in records if r.trajectory is not None]
    if not paths or len(axes) < 2:
        return None
    pairs = [(axes[i], axes[i + 1]) for i in range(len(axes) - 1)]
    fig = Figure(figsize=(4.2 * len(pairs), 4.0), layout="constrained")
    samples = [row for r in paths for row in r.observation_rows()]
    values = [row.get(outcome) for row in samples]
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    scatter = None
    for k, (ax_x, ax_y) in enumerate(pairs):
        ax = fig.add_subplot(1, len(pairs), k + 1)
        m = (maps or {}).get((ax_x.name, ax_y.name))
        if m is not None:
            lo, hi = (
                (min(finite), max(finite)) if finite else (float(np.min(m["mean"])), float(np.max(m["mean"])))
            )
            ax.contourf(
                m["u"],
                m["v"],
                np.clip(m["mean"], lo, hi),
                levels=np.linspace(lo, hi, 13) if hi > lo else 12,
                cmap="viridis",
                alpha=0.45,
                zorder=0,
            )
        for r in paths:
            way = r.trajectory["waypoints"] if r.trajectory else []
            ax.plot(
                ax_x.to_unit(np.array([w[ax_x.name] for w in way])),
                ax_y.to_unit(np.array([w[ax_y.name] for w in way])),
                "-",
                color=FAILED,
                lw=1,
                alpha=0.6,
            )
        if finite:
            keep = [i for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v)]
            scatter = ax.scatter(
                ax_x.to_unit(np.array([samples[i][ax_x.name] for i in keep])),
                ax_y.to_unit(np.array([samples[i][ax_y.name] for i in keep])),
                c=[values[i] for i in keep],
                s=14,
                cmap="viridis",
                vmin=min(finite),
                vmax=max(finite),
            )
        steady = [r for r in records if r.trajectory is None and r.completed]
        if steady:
            ax.plot(
                ax_x.to_unit(np.array([r.parameters[ax_x.name] for r in steady])),
                ax_y.to_unit(np.array([r.parameters[ax_y.name] for r in steady])),
                "*",
                color=BEST,
                ms=12,
                label="confirmation",
            )
            ax.legend(loc="best", fontsize=8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"{ax_x.label}, share of range" + (" (log)" if ax_x.log else ""))
        ax.set_ylabel(f"{ax_y.label}, share of range" + (" (log)" if ax_y.log else ""))
        ax.grid(alpha=0.3)
    if scatter is not None:
        fig.colorbar(scatter, ax=fig.axes, label=outcome, shrink=0.8)
    fig.suptitle(
        "Trajectories (lines), the samples learnt from (dots) and the confirmations (stars)"
        + (" over the model's steady-state map" if maps else "")
    )
    return fig

"""The benchmark figure: best true objective so far against experiment and against reactor hours, and
experiments to target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_bench"]


def hours_grid(runs: list[dict[str, Any]], points: int = 200):
    """The median and quartiles over ``runs`` of the incumbent's true value against reactor hours from
    the first set point: ``(hours, median, q25, q75)`` on a grid from 0 to the longest campaign (a run's
    value at h is its incumbent after the last experiment measured by then, after its campaign ended
    the value it ended with). A run with no incumbent yet at h counts as worse than any value, so the
    curves are medians over every run and never fall; a quantile that lands on such a run is NaN (not
    drawn). None when no run has the hours."""
    import numpy as np

    runs = [r for r in runs if r.get("reactor_hours_trace")]
    if not runs:
        return None
    end = max(r["reactor_hours_trace"][-1] for r in runs)
    grid = np.linspace(0.0, end, points)
    arr = np.full((len(runs), points), -np.inf)
    for k, r in enumerate(runs):
        hours = np.asarray(r["reactor_hours_trace"], dtype=float)
        values = np.array([-np.inf if v is None else v for v in r["best_true_trace"]], dtype=float)
        done = np.searchsorted(hours, grid, side="right")  # experiments measured by each grid hour
        arr[k] = np.where(done > 0, values[np.maximum(done - 1, 0)], -np.inf)
    ordered = np.sort(arr, axis=0)
    median, q25, q75 = (_order_quantile(ordered, q) for q in (0.5, 0.25, 0.75))
    return grid, median, q25, q75


def _order_quantile(ordered, q: float):
    """The ``q`` quantile of each column of ``ordered`` (sorted along axis 0) by order statistics, the
    two middle ones averaged where the rank falls between them (numpy's ``averaged_inverted_cdf``): an
    unmeasured run (-inf) is a rank, not a number, so a quantile that depends on one is NaN."""
    import math

    import numpy as np

    n = ordered.shape[0]
    h = q * n
    if math.isclose(h, round(h)) and 0 < round(h) < n:
        with np.errstate(invalid="ignore"):
            value = 0.5 * (ordered[round(h) - 1] + ordered[round(h)])
    else:
        value = ordered[min(n - 1, max(0, math.ceil(h) - 1))]
    return np.where(np.isfinite(value), value, np.nan)


def plot_bench(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lab.bench.campaign import run_key

    budget = result["budget"]
    fig, (ax1, ax3, ax2) = plt.subplots(1, 3, figsize=(16, 4.2))
    strategies = list(result["strategies"])
    for strategy in strategies:
        traces = [r["best_true_trace"] for r in result["runs"] if run_key(r) == strategy]
        arr = np.array(
            [[np.nan if v is None else v for v in t] + [np.nan] * (budget - len(t)) for t in traces],
            dtype=float,
        )
        x = np.arange(1, budget + 1)
        median = np.nanmedian(arr, axis=0)
        lo, hi = np.nanpercentile(arr, 25, axis=0), np.nanpercentile(arr, 75, axis=0)
        ax1.plot(x, median, label=strategy)
        ax1.fill_between(x, lo, hi, alpha=0.2)
    ax1.set_xlabel("experiment")
    ax1.set_ylabel("true objective of the incumbent")
    ax1.set_title(f"{result['campaign']}: median and quartiles over {result['repeats']} repeats")
    ax1.legend()
    for strategy in strategies:
        by_hours = hours_grid([r for r in result["runs"] if run_key(r) == strategy])
        if by_hours is not None:
            hours, median, lo, hi = by_hours
            ax3.plot(hours, median, label=strategy)
            ax3.fill_between(hours, lo, hi, alpha=0.2)
    ax3.set_xlabel("reactor hours from the first set point")
    ax3.set_ylabel("true objective of the incumbent")
    ax3.set_title("against reactor time")
    if ax3.lines:
        ax3.legend()
    data = [
        [budget + 1 if e is None else e for e in result["strategies"][s]["experiments_to_target"]]
        for s in strategies
    ]
    ax2.boxplot(data, tick_labels=strategies)
    ax2.tick_params(axis="x", labelsize=8)
    ax2.axhline(budget + 1, color="grey", ls=":", lw=1)
    ax2.set_ylabel(f"experiments to target (budget + 1 = {budget + 1}: not reached)")
    ax2.set_title("experiments to target")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_suite(result: dict[str, Any], path: Path) -> None:
    """One panel per problem: the median (over repeats) true value of the incumbent against experiments,
    per strategy, with the target as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = result["problems"]
    cols = min(4, len(problems)) or 1
    rows = -(-len(problems) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    colours = {
        s: f"C{i}" for i, s in enumerate(result["strategies"])
    }  # one colour per strategy in every panel
    for ax, (name, p) in zip(axes.flat, problems.items()):
        for strategy, figures in p["strategies"].items():
            trace = figures["median_best_true_trace"]
            ax.plot(
                range(1, len(trace) + 1),
                [float("nan") if v is None else v for v in trace],
                label=strategy,
                color=colours[strategy],
                alpha=0.85,
            )
        if p.get("target") is not None:
            ax.axhline(p["target"], color="grey", ls=":", lw=1)
        kind = "hypervolume" if p["kind"] == "campaign" and p.get("target") is not None else "true value"
        ax.set_title(f"{name} ({p['split']}, d={p['dimension']})", fontsize=9)
        ax.set_xlabel("experiment", fontsize=8)
        ax.set_ylabel(f"median incumbent {kind}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(problems) :]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, label=s) for s, c in colours.items()]
    fig.legend(handles=handles, loc="lower center", ncol=max(1, len(handles)), fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)

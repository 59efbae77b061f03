"""The benchmark figure: best true objective so far against experiment, and experiments to target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_bench"]


def plot_bench(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    budget = result["budget"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    strategies = list(result["strategies"])
    for strategy in strategies:
        traces = [r["best_true_trace"] for r in result["runs"] if r["strategy"] == strategy]
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
    data = [
        [budget + 1 if e is None else e for e in result["strategies"][s]["experiments_to_target"]]
        for s in strategies
    ]
    ax2.boxplot(data, tick_labels=strategies)
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

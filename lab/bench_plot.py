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
        arr = np.array([[np.nan if v is None else v for v in t] + [np.nan] * (budget - len(t)) for t in traces],
                       dtype=float)
        x = np.arange(1, budget + 1)
        median = np.nanmedian(arr, axis=0)
        lo, hi = np.nanpercentile(arr, 25, axis=0), np.nanpercentile(arr, 75, axis=0)
        ax1.plot(x, median, label=strategy)
        ax1.fill_between(x, lo, hi, alpha=0.2)
    ax1.set_xlabel("experiment")
    ax1.set_ylabel("true objective of the incumbent")
    ax1.set_title(f"{result['campaign']}: median and quartiles over {result['repeats']} repeats")
    ax1.legend()
    data = [[budget + 1 if e is None else e for e in result["strategies"][s]["experiments_to_target"]]
            for s in strategies]
    ax2.boxplot(data, tick_labels=strategies)
    ax2.axhline(budget + 1, color="grey", ls=":", lw=1)
    ax2.set_ylabel(f"experiments to target (budget + 1 = {budget + 1}: not reached)")
    ax2.set_title("experiments to target")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

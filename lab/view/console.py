"""The terminal: human tables on stdout (``out``), progress and one-line errors on stderr (``err``), and
machine output (``--json``) on stdout instead of the tables.

The campaign's progress line (:class:`CampaignLine`) is built for the width it is given: it always shows
the count, the ETA, the best experiment's figures of merit and whether the target has been reached, and
drops or shortens the rest (name, bar, the experiment running now) to fit; it never wraps.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

__all__ = [
    "err",
    "out",
    "emit_json",
    "campaign_progress",
    "outcome_table",
    "fmt",
    "duration",
    "volume_ml",
    "LineState",
    "CampaignLine",
    "progress_text",
    "figure_label",
]

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False) + "\n")
    sys.stdout.flush()


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def duration(seconds: float | None) -> str:
    """A short duration: ``45s``, ``4m10s``, ``2h05m`` (``-`` when unknown)."""
    if seconds is None:
        return "-"
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def volume_ml(ul: float) -> str:
    """A volume given in uL, written in mL to three significant figures: ``3.28 mL``."""
    return f"{ul / 1000.0:.3g} mL"


_LABELS = {
    "pl_peak_nm": ("PL", "nm"),
    "pl_fwhm_nm": ("FWHM", "nm"),
    "abs_peak_nm": ("abs", "nm"),
    "diameter_nm": ("d", "nm"),
    "plqy": ("PLQY", ""),
    "yield": ("yield", ""),
}


def figure_label(name: str) -> tuple[str, str]:
    """Short label and unit of a figure of merit (``pl_peak_nm`` -> ``("PL", "nm")``)."""
    if name in _LABELS:
        return _LABELS[name]
    for suffix in ("_nm", "_s", "_ul"):
        if name.endswith(suffix):
            return name.removesuffix(suffix), suffix[1:].replace("ul", "uL")
    return name, ""


@dataclass
class LineState:
    """What the progress line says. ``best``: the incumbent's figures of merit (name -> value);
    ``reached_at``: index of the first experiment on target (None: not yet); ``has_target``: whether the
    campaign defines one (``reached`` criteria); ``running``: index and conditions text of the experiment
    running now; ``last_failure``: why the last experiment failed (None when it did not); ``status``: a
    word in place of the ETA (``qdlab watch``: "finished", "stopped", "starting", "waiting")."""

    name: str
    budget: int
    done: int = 0
    failed: int = 0
    eta_s: float | None = None
    best_index: int | None = None
    best: dict[str, Any] = field(default_factory=dict)
    has_target: bool = False
    reached_at: int | None = None
    running_index: int | None = None
    running_text: str = ""
    last_index: int | None = None
    last_failure: str | None = None
    status: str = ""


def _brief(value: Any) -> str:
    """A figure in few characters: 521.5, 35.0, 0.73."""
    if not isinstance(value, float):
        return fmt(value)
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2g}" if abs(value) < 1 else f"{value:.3g}"


def _best_variants(s: LineState) -> list[str]:
    if s.best_index is None:
        return ["best: none yet", "best -"]
    full, medium, short = [], [], []
    for k, v in s.best.items():
        label, unit = figure_label(k)
        full.append(f"{label} {fmt(v)}{(' ' + unit) if unit and v is not None else ''}")
        medium.append(f"{label} {_brief(v)}")
        short.append(_brief(v))
    return [
        f"best #{s.best_index}: " + ", ".join(full),
        f"best #{s.best_index} " + " ".join(medium),
        f"best#{s.best_index} " + "/".join(short),
    ]


def _target_variants(s: LineState) -> list[str]:
    if not s.has_target:
        return [""]
    if s.reached_at is not None:
        return [f"target reached at #{s.reached_at}", f"target ✓ #{s.reached_at}", f"✓#{s.reached_at}"]
    return ["target not reached", "target ✗", "✗"]


def _count_variants(s: LineState) -> list[str]:
    base = f"{s.done}/{s.budget}"
    return [f"{base}, {s.failed} failed", base] if s.failed else [base]


def _eta_variants(s: LineState) -> list[str]:
    if s.status:
        return [s.status]
    if s.done >= s.budget:
        return ["done"]
    return [f"ETA {duration(s.eta_s)}", duration(s.eta_s)]


_BAR_MIN, _BAR_MAX = 6, 24


def progress_text(s: LineState, width: int) -> Text:
    """The progress line for a terminal ``width`` cells wide: one line, never longer than ``width``."""
    from rich.cells import cell_len

    pieces: dict[str, list[str]] = {
        "name": [s.name, s.name[:12] + "…" if len(s.name) > 13 else s.name, ""],
        "count": _count_variants(s),
        "eta": _eta_variants(s),
        "best": _best_variants(s),
        "target": _target_variants(s),
        "now": [f"now #{s.running_index}: {s.running_text}" if s.running_index is not None else "", ""],
        "last": [f"last #{s.last_index}: {s.last_failure}" if s.last_failure else "", ""],
    }
    choice = dict.fromkeys(pieces, 0)
    order = ("name", "count", "eta", "best", "target", "now", "last")
    # what gives way first when the line is too long: detail, then the name, then shorter wording
    steps = ("now", "last", "count", "name", "best", "target", "name", "eta", "best", "target")

    def text_of(key: str) -> str:
        return pieces[key][min(choice[key], len(pieces[key]) - 1)]

    def length() -> int:
        parts = [cell_len(text_of(k)) for k in order if text_of(k)]
        return sum(parts) + 2 * (len(parts) - 1)

    for step in steps:
        if length() <= width:
            break
        choice[step] += 1
    bar = min(_BAR_MAX, width - length() - 1)  # the bar takes what is left, when enough is
    bar = bar if bar >= _BAR_MIN else 0
    styles = {
        "name": "bold",
        "best": "green",
        "target": "bold green" if s.reached_at is not None else "yellow",
        "last": "red",
        "now": "dim",
    }
    parts: list[Text] = [Text(text_of(k), style=styles.get(k, "")) for k in order if text_of(k)]
    if bar:
        filled = round(bar * min(1.0, s.done / max(1, s.budget)))
        at = 1 if text_of("name") else 0
        parts.insert(at, Text.assemble(("━" * filled, "magenta"), ("━" * (bar - filled), "grey39")))
    line = Text(no_wrap=True, overflow="ellipsis")
    for k, part in enumerate(parts):
        if k:
            line.append(" " if bar and k == 1 else "  ")
        line.append_text(part)
    line.truncate(width, overflow="ellipsis")
    return line


class CampaignLine:
    """A live progress line for ``qdlab run``/``resume``: rich renders it at the console's width.

    Update its :attr:`state` (count, best, target, running experiment); the ETA is the wall time per
    experiment completed in this session times the experiments left.
    """

    def __init__(self, name: str, budget: int):
        self.state = LineState(name=name, budget=budget)
        self._t0 = time.monotonic()
        self._done0: int | None = None

    def set_done(self, done: int) -> None:
        if self._done0 is None:
            self._done0 = done
            self._t0 = time.monotonic()
        self.state.done = done

    def eta_s(self) -> float | None:
        ran = self.state.done - (self._done0 if self._done0 is not None else self.state.done)
        if ran <= 0 or self.state.done >= self.state.budget:
            return None
        return (time.monotonic() - self._t0) / ran * (self.state.budget - self.state.done)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.state.eta_s = self.eta_s()
        yield progress_text(self.state, options.max_width)


def target_status(label: str, experiments_to_target: int | None) -> str:
    """A benchmark run's line under the progress bar: ``label: target at experiment N`` (or not reached)."""
    e = experiments_to_target
    return f"{label}: " + ("target not reached" if e is None else f"target at experiment {e}")


def campaign_progress() -> Progress:
    """A progress bar on stderr for batches (``qdlab bench``): count, bar, ETA, a short status."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=12),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
        transient=False,
    )


def outcome_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(key, fmt(value))
    return table

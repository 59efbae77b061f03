"""Syringe refills while a campaign runs: the prompt, ``qdlab refill``, and the files between them.

When an experiment finds a syringe that cannot see it through, the plan stops the pumps and waits on
the rig's ``RefillStation`` (the heater holds its set point). The session's ``RefillDesk`` then
writes ``DIR/refill-wanted.json`` (which pumps, what they need and hold), prints one line with the
exact command, and watches for ``DIR/refill-request.json``, which ``qdlab refill DIR`` writes once the
operator has refilled. The request names pumps (default: those waited for) and optionally the volume
each now holds (default: the full syringe); the desk hands it to the station and the run goes on.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

from lab.view.console import volume_ml
from lab.config.lab_toml import LabConfig
from lab.store.storage import LAB_NAME, campaign_dir_problem
from models.errors import ConfigurationError, DeviceError

__all__ = ["RefillDesk", "WANTED_NAME", "REQUEST_NAME", "request_refill", "refill_mode", "estimate_lines"]

WANTED_NAME = "refill-wanted.json"
REQUEST_NAME = "refill-request.json"


def refill_mode(setting: str | None, lab: LabConfig, *, source: str) -> str:
    """'auto' or 'wait' for ``[protocol] refill`` on ``lab``: auto by default on a simulated lab only,
    and never auto on real hardware (no one would have refilled anything)."""
    simulated = all(p.type == "sim" for p in lab.pumps.values())
    if setting == "auto" and not simulated and lab.emulator is None:
        raise ConfigurationError(
            'refill = "auto" would pretend a real syringe was refilled; use "wait" (the default) on hardware',
            source=source,
            key="protocol.refill",
        )
    return setting or ("auto" if simulated else "wait")


def _write_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _litres(ul: float) -> str:
    return volume_ml(ul) if abs(ul) >= 100 else f"{ul:.3g} uL"


class RefillDesk:
    """The lab's side of a ``RefillStation`` for the campaign in ``directory``.

    ``notify(line)`` shows one line to the operator (the terminal). Attach with ``attach(station)``;
    ``close()`` stops watching and removes the files.
    """

    def __init__(
        self, directory: Path, lab: LabConfig, notify: Callable[[str], None], *, poll_s: float = 0.2
    ):
        self.directory = Path(directory)
        self.lab = lab
        self.notify = notify
        self.poll_s = poll_s
        self.station = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.clear_files()

    def attach(self, station) -> None:
        self.station = station
        station.on_request = self.on_request
        station.on_refilled = self.on_refilled

    def clear_files(self) -> None:
        for name in (WANTED_NAME, REQUEST_NAME):
            (self.directory / name).unlink(missing_ok=True)

    def on_request(self, request: dict[str, tuple[float, float]]) -> None:
        """A plan waits: record what for, tell the operator, watch for ``qdlab refill``."""
        pumps = {
            name: {
                "reagent": self.lab.pumps[name].reagent,
                "need_ul": need,
                "remaining_ul": left,
                "syringe_ul": self.lab.pumps[name].syringe_volume,
            }
            for name, (need, left) in request.items()
        }
        _write_atomic(
            self.directory / WANTED_NAME,
            {"pumps": pumps, "syringes_ul": {n: p.syringe_volume for n, p in self.lab.pumps.items()}},
        )
        what = "; ".join(
            f"syringe of pump {n} ({p['reagent']}, {_litres(p['syringe_ul'])}) holds "
            f"{_litres(max(p['remaining_ul'], 0.0))}, the next experiment needs {_litres(p['need_ul'])}"
            for n, p in pumps.items()
        )
        command = f"qdlab refill {self.directory} " + " ".join(f"--pump {n}" for n in sorted(pumps))
        self.notify(f"refill needed: {what}. Pumps stopped, heater holding. Refill, then run: {command}")
        self._stop.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._watch, name="refill-desk", daemon=True)
            self._thread.start()

    def on_refilled(self, done: dict[str, float]) -> None:
        (self.directory / WANTED_NAME).unlink(missing_ok=True)
        self.notify(
            "refilled " + ", ".join(f"{n} ({_litres(v)})" for n, v in sorted(done.items())) + "; continuing"
        )

    def _watch(self) -> None:
        path = self.directory / REQUEST_NAME
        while not self._stop.wait(self.poll_s):
            if self.station is None or not self.station.pending:
                return
            if path.exists():
                self.take(path)

    def take(self, path: Path) -> None:
        """Hand the request in ``path`` to the station (then remove it); a bad one is reported, not fatal."""
        try:
            request = json.loads(path.read_text())
            path.unlink(missing_ok=True)
            names = request.get("pumps")
            volume = request.get("volume_ul")
            self.station.refill(
                list(self.lab.pumps) if names == "all" else names, None if volume is None else float(volume)
            )
        except (OSError, ValueError, TypeError, AttributeError, DeviceError) as exc:
            path.unlink(missing_ok=True)
            self.notify(f"refill request not taken: {exc}")
        pending = self.station.pending if self.station is not None else []
        if pending:
            self.notify(
                f"still waiting for: qdlab refill {self.directory} "
                + " ".join(f"--pump {n}" for n in pending)
            )

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.clear_files()


def request_refill(directory: Path, *, pumps: list[str] | None, every: bool, volume_ul: float | None) -> str:
    """``qdlab refill``: ask the campaign waiting in ``directory`` to continue; returns what was asked.

    ConfigurationError when nothing waits, a pump is unknown, or the volume does not fit a syringe.
    """
    directory = Path(directory)
    wanted_path = directory / WANTED_NAME
    problem = campaign_dir_problem(directory, needs=(LAB_NAME,))
    if problem:
        raise ConfigurationError(problem, source="qdlab refill")
    if not wanted_path.is_file():
        raise ConfigurationError(f"no campaign in {directory} is waiting for a refill", source="qdlab refill")
    if pumps and every:
        raise ConfigurationError("give --pump NAME or --all, not both", source="qdlab refill")
    try:  # what the running campaign wrote: its pumps and their syringes (uL)
        wanted = json.loads(wanted_path.read_text())
        waiting, syringes = (
            list(wanted["pumps"]),
            {str(k): float(v) for k, v in wanted["syringes_ul"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"cannot read {wanted_path}: {exc}", source="qdlab refill") from None
    names = list(syringes) if every else (pumps or waiting)
    unknown = [n for n in names if n not in syringes]
    if unknown:
        raise ConfigurationError(
            f"no pump {', '.join(unknown)} in this lab; pumps: {', '.join(syringes)}", source="--pump"
        )
    if volume_ul is not None:
        too_small = [n for n in names if volume_ul > syringes[n] * (1 + 1e-9)]
        if volume_ul <= 0 or too_small:
            raise ConfigurationError(
                f"{_litres(volume_ul)} does not fit the syringe of {', '.join(too_small) or 'any pump'}",
                source="--volume",
            )
    _write_atomic(directory / REQUEST_NAME, {"pumps": "all" if every else names, "volume_ul": volume_ul})
    return (
        f"asked the campaign in {directory} to continue with {', '.join(names)} refilled to "
        f"{_litres(volume_ul) if volume_ul is not None else 'full syringes'}"
    )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"


def estimate_lines(estimate, *, refill: str) -> list[str]:
    """The pre-flight estimate as a few lines for the terminal (``campaigns.preflight.CampaignEstimate``)."""
    if not estimate.experiments:
        return ["pre-flight: no experiment left to run"]
    lines = [
        f"pre-flight, {estimate.experiments} experiments: reactor time {_hours(estimate.expected_s)} expected, "
        f"{_hours(estimate.worst_s)} worst case, plus {_hours(estimate.clog_recovery_s)} per clog"
    ]
    for r in estimate.reagents:
        refills = (
            f"refills: {r.refills_expected} expected, {r.refills_worst} worst case"
            if r.refills_worst
            else "no refill"
        )
        lines.append(
            f"  {r.reagent:<8} {_litres(r.expected_ul):>9} expected, {_litres(r.worst_ul):>9} worst of a "
            f"{_litres(r.syringe_ul)} syringe (pump {r.pump}); {refills}"
        )
    if any(r.refills_worst for r in estimate.reagents):
        lines.append(
            "  a syringe that runs low stops the pumps before an experiment and "
            + (
                'is refilled at once (refill = "auto", a dry run)'
                if refill == "auto"
                else "waits for: qdlab refill DIR --pump NAME"
            )
        )
    lines.append(
        "  (expected: points spread like a Sobol sample; an optimiser that settles in a corner of the "
        "space uses up to the worst case)"
    )
    return lines

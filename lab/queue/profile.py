"""The RE worker's startup module (``start-re-manager --startup-module lab.queue.profile``).

``qdlab serve`` sets the environment it reads: ``QDLAB_LAB`` (the lab.toml of this reactor),
``QDLAB_MATERIAL`` (the simulated world's material, for a simulated lab), ``QDLAB_SEED`` (the simulated
world's seed), and optionally ``QDLAB_TILED`` (a Tiled server every campaign's documents also go to)
and ``QDLAB_REALTIME=1`` (a simulated world at wall-clock speed).

The queue server takes every generator function in this namespace for a plan and the permissions file
(``qdlab serve`` writes it, :mod:`lab.queue.server`) allows exactly these four: ``calibrate``,
``experiment``, ``settle`` and ``make_safe`` (:class:`lab.queue.reactor.QueueReactor`). ``RE`` is the
RunEngine the server runs them on (it must be defined here).
"""

from __future__ import annotations

import os

from bluesky import RunEngine

from lab.config.files import load_lab
from lab.queue.reactor import QueueReactor

RE = RunEngine({}, context_managers=[])  # the server pauses and aborts; no SIGINT handler in the worker
_reactor = QueueReactor(
    load_lab(os.environ["QDLAB_LAB"]),
    material=os.environ.get("QDLAB_MATERIAL", "CdSe"),
    seed=int(os.environ.get("QDLAB_SEED", "0")),
    lab_source=os.environ["QDLAB_LAB"],
    tiled=os.environ.get("QDLAB_TILED") or None,
    realtime=os.environ.get("QDLAB_REALTIME") == "1",
)


def calibrate(directory: str):
    """Flush the flow cell with solvent, then record the dark and blank references (campaign ``directory``)."""
    yield from _reactor.calibrate(directory)


def experiment(directory: str, parameters: dict, md: dict):
    """One experiment of campaign ``directory`` at ``parameters``; ``md``: its start document's metadata."""
    yield from _reactor.experiment(directory, parameters, md)


def settle(directory: str, temperature_c: float):
    """Bring the heater to ``temperature_c`` (degC) and hold it there, by campaign ``directory``'s protocol."""
    yield from _reactor.settle(directory, temperature_c)


def make_safe():
    """Stop every pump and send the heater to its safe set point."""
    yield from _reactor.make_safe()

"""Proposals: made now (serially) or ahead, in a daemon thread, while an experiment waits for steady state.

``[protocol] overlap = true``: once experiment i's flows are set, the proposal for the next experiment is
computed with i's parameters as a pending point and the rows ingested so far (i not among them); the
loop waits for it (if it is not ready yet) only after i has closed, and ingests i after it. A proposal is a
pure function of (seed, rows, pending, n), so each start document records how its proposal was made
(``proposed_with``) and replay re-derives it (docs/adr/0015-time-aware-loop.md).

A stop never waits for a proposal being computed: its thread is a daemon and its result is discarded.
Proposals are made one at a time in the process (``PROPOSALS``): the BoTorch strategies seed torch's
global generator (``torch.random.fork_rng``), which two threads must not do at once, and a discarded
proposal may still be running when a resumed session (or a replay in the same process) makes its next.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROPOSALS", "Proposal", "Background", "propose_now"]

PROPOSALS = threading.Lock()
"""Held while an optimiser proposes: one proposal at a time in the process."""


@dataclass(frozen=True)
class Proposal:
    """One proposal and how it was made."""

    parameters: dict[str, Any]
    decision: dict[str, Any]
    latency_s: float
    """Wall seconds the optimiser took (``proposal_latency_s``)."""
    observed: int
    """Rows the optimiser had ingested, in log order."""
    pending: list[int] = field(default_factory=list)
    """Indices of the experiments given as pending points (running while it was computed)."""
    finished: float = 0.0
    """``time.perf_counter()`` when it was ready."""


def propose_now(
    optimizer: Any,
    *,
    observed: int,
    pending: tuple[int, Mapping[str, Any]] | None = None,
    cost: Any = None,
) -> Proposal:
    """One proposal from ``optimizer`` (which has ingested ``observed`` rows), with experiment
    ``pending = (index, parameters)`` pending if given and the candidates' ``cost`` (``[protocol]
    cost_aware``) if given; ``suggest(1)`` exactly when neither is."""
    with PROPOSALS:
        started = time.perf_counter()
        kwargs: dict[str, Any] = {} if cost is None else {"cost": cost}
        if pending is None:
            (parameters,) = optimizer.suggest(1, **kwargs)
        else:
            (parameters,) = optimizer.suggest(1, pending=[dict(pending[1])], **kwargs)
        latency_s = time.perf_counter() - started
        decision = optimizer.last_decision() if hasattr(optimizer, "last_decision") else {}
    return Proposal(
        parameters,
        decision,
        latency_s,
        observed,
        [] if pending is None else [pending[0]],
        time.perf_counter(),
    )


class Background:
    """The proposal for experiment ``index``, computed by ``compute`` in a daemon thread from now on."""

    def __init__(self, index: int, compute: Callable[[], Proposal]):
        self.index = index
        self.future: concurrent.futures.Future[Proposal] = concurrent.futures.Future()
        self.wait_began: float | None = None
        """``time.perf_counter()`` when the loop began waiting for it (None: it was ready)."""
        threading.Thread(target=self._work, args=(compute,), name=f"proposal-{index}", daemon=True).start()

    def _work(self, compute: Callable[[], Proposal]) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            self.future.set_result(compute())
        except BaseException as exc:  # noqa: BLE001 - raised where the loop takes the proposal
            self.future.set_exception(exc)

    def waits(self) -> list[Callable[[], Awaitable[Any]]]:
        """What the plan waits on before learning (``bps.wait_for``): nothing when it is ready."""
        if self.future.done():
            return []
        self.wait_began = time.perf_counter()
        return [lambda: asyncio.wrap_future(self.future)]

    def join(self) -> bool:
        """Wait until it is computed (at once after the plan's wait); False if it was cancelled unrun."""
        concurrent.futures.wait([self.future])
        return not self.future.cancelled()

    def rig_waited_s(self, proposal: Proposal) -> float:
        """Wall seconds between the end of the experiment it overlapped and the proposal being ready."""
        return 0.0 if self.wait_began is None else max(0.0, proposal.finished - self.wait_began)

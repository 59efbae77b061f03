"""A reactor's queue server as the agent sees it, through bluesky-queueserver-api (REManagerAPI, 0MQ)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from models.errors import ConfigurationError, QdlabError

__all__ = ["QueueAddress", "Queue", "QueueError", "parse_queue"]

WAIT_S = 600.0
"""The longest the agent waits for a server to open its environment or finish a short plan (s)."""


class QueueError(QdlabError):
    """A queue server refused a request, or a plan it ran failed before its run began."""


@dataclass(frozen=True)
class QueueAddress:
    """A reactor's name and its server's control and info sockets."""

    name: str
    control: str
    info: str


def parse_queue(text: str) -> QueueAddress:
    """``NAME=tcp://HOST:PORT,tcp://HOST:PORT`` (control, then info) -> a :class:`QueueAddress`."""
    name, sep, addresses = text.partition("=")
    parts = addresses.split(",")
    if not sep or not name.strip() or len(parts) != 2 or not all(p.startswith("tcp://") for p in parts):
        raise ConfigurationError(
            f"{text!r} is not NAME=tcp://HOST:CONTROL_PORT,tcp://HOST:INFO_PORT", source="--queue"
        )
    return QueueAddress(name.strip(), parts[0].strip(), parts[1].strip())


class Queue:
    """One reactor's RE manager: its environment opened, qdlab's plans added and started one at a time."""

    def __init__(self, address: QueueAddress, *, timeout_s: float = 10.0):
        from bluesky_queueserver_api.zmq import REManagerAPI

        self.address = address
        self.name = address.name
        self.api: Any = REManagerAPI(
            zmq_control_addr=address.control, zmq_info_addr=address.info, timeout_recv=timeout_s
        )

    def status(self) -> dict[str, Any]:
        try:
            return self.api.status(reload=True)  # never a cached answer: every decision looks now
        except Exception as exc:  # noqa: BLE001 - a timeout or a refusal: one line naming the server
            raise QueueError(f"queue {self.name} ({self.address.control}): no answer ({exc})") from exc

    def open(self) -> None:
        """Open the worker's environment (the rig is built there) unless it is open; wait until idle."""
        status = self.status()
        if not status.get("worker_environment_exists"):
            self._request(self.api.environment_open)
        self.api.wait_for_idle(timeout=WAIT_S)
        if not self.status().get("worker_environment_exists"):
            raise QueueError(
                f"queue {self.name}: its environment did not open (the rig could not be built); "
                "its server's log says why"
            )

    def idle(self) -> bool:
        """Nothing queued, nothing running."""
        status = self.status()
        return status.get("manager_state") == "idle" and not status.get("items_in_queue")

    def submit(self, name: str, **kwargs: Any) -> None:
        """Add plan ``name`` with ``kwargs`` at the back of the queue and start the queue."""
        from bluesky_queueserver_api import BPlan

        self._request(self.api.item_add, BPlan(name, **kwargs))
        if self.status().get("manager_state") == "idle":
            self._request(self.api.queue_start)

    def execute(self, name: str, **kwargs: Any) -> None:
        """Run plan ``name`` now (not through the queue) and wait until it is done."""
        from bluesky_queueserver_api import BPlan

        uid = self._request(self.api.item_execute, BPlan(name, **kwargs))["item"]["item_uid"]
        if not wait_until(lambda: uid in self._history_uids(), timeout_s=WAIT_S):  # in history: it has ended
            raise QueueError(f"queue {self.name}: {name} did not end within {WAIT_S:.0f} s")
        self.api.wait_for_idle(timeout=WAIT_S)

    def _history_uids(self) -> set[str]:
        return {item.get("item_uid") for item in self._request(self.api.history_get).get("items") or []}

    def last_failure(self) -> str | None:
        """Why the last item the server ran did not complete (its history's message), or None."""
        items = self._request(self.api.history_get).get("items") or []
        result = items[-1].get("result", {}) if items else {}
        if not items or result.get("exit_status") == "completed":
            return None
        message = str(result.get("msg") or result.get("exit_status") or "unknown")
        lines = [line for line in str(result.get("traceback") or "").splitlines() if line.strip()]
        return " ".join((lines[-1] if lines else message).split())

    def abort(self) -> None:
        """Nothing more started, what runs paused at once and aborted (its run's stop document: ``abort``);
        returns once the manager is idle. The manager may be between two items, or the plan may be
        pausing, when this looks: it looks again until the manager is idle."""
        status = self.status()
        if status.get("items_in_queue"):
            self._request(self.api.queue_clear)
        deadline = time.monotonic() + WAIT_S
        while (status := self.status()).get("manager_state") != "idle":
            if time.monotonic() > deadline:
                raise QueueError(
                    f"queue {self.name}: still {status.get('manager_state')} after {WAIT_S:.0f} s"
                )
            try:
                if status.get("re_state") == "running":
                    self.api.re_pause("immediate")
                elif status.get("re_state") == "paused":
                    self.api.re_abort()
            except Exception:  # noqa: BLE001 - it moved on meanwhile (refused in that state): look again
                pass
            time.sleep(0.1)

    def _request(self, call, *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as exc:  # noqa: BLE001 - RequestFailedError, a timeout: one line naming the server
            raise QueueError(f"queue {self.name}: {call.__name__} refused: {exc}") from exc

    def close(self) -> None:
        self.api.close()


def wait_until(condition, *, timeout_s: float, poll_s: float = 0.1) -> bool:
    """Poll ``condition()`` until it is true (True) or ``timeout_s`` wall seconds pass (False)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True

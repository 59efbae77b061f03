"""``qdlab serve``: one reactor behind bluesky-queueserver's RE manager (``start-re-manager``).

The manager runs :mod:`lab.queue.profile` in its worker, on the lab given here; its permissions file
(written into the server's folder, ``user_group_permissions.yaml``) allows qdlab's plans and nothing
else, to the ``primary`` group the API's clients use by default; the list of plans and devices
(``existing_plans_and_devices.yaml``) is written there when the environment opens.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from models.errors import ConfigurationError

__all__ = ["ServeOptions", "PLANS", "permissions_yaml", "manager_command", "serve"]

PLANS = ("calibrate", "experiment", "settle", "make_safe")
"""The plans of :mod:`lab.queue.profile`, the only ones a queue of qdlab's accepts."""


def permissions_yaml() -> str:
    """The user-group permissions: the root group filters private names, ``primary`` may run ``PLANS``
    (and no function); devices are reached through the plans only."""
    plans = "".join(f'      - "{name}"\n' for name in PLANS)
    return (
        "user_groups:\n"
        "  root:\n"
        "    allowed_plans:\n      - null\n"
        '    forbidden_plans:\n      - ":^_"\n'
        "    allowed_devices:\n      - null\n"
        '    forbidden_devices:\n      - ":^_:?.*"\n'
        "    allowed_functions:\n      - null\n"
        '    forbidden_functions:\n      - ":^_"\n'
        "  primary:\n"
        f"    allowed_plans:\n{plans}"
        "    forbidden_plans:\n      - null\n"
        '    allowed_devices:\n      - ":?.*:depth=5"\n'
        "    forbidden_devices:\n      - null\n"
        "    allowed_functions:\n      - null\n"
        '    forbidden_functions:\n      - ":.*"\n'
    )


@dataclass(frozen=True)
class ServeOptions:
    """One reactor's server: its lab file, the simulated world's material and seed, where it keeps its
    files, and the addresses of Redis and of its two 0MQ sockets (``tcp://127.0.0.1:PORT``)."""

    lab: Path
    material: str
    seed: int
    folder: Path
    redis_addr: str
    zmq_control_addr: str
    zmq_info_addr: str
    redis_prefix: str = "qdlab"
    tiled: str | None = None
    realtime: bool = False


def manager_command(options: ServeOptions) -> tuple[list[str], dict[str, str]]:
    """``start-re-manager``'s command line and environment for ``options`` (the folder's files written)."""
    manager = shutil.which("start-re-manager", path=str(Path(sys.executable).parent)) or shutil.which(
        "start-re-manager"
    )
    if manager is None:
        raise ConfigurationError(
            "bluesky-queueserver is not installed: pip install -c constraints.txt 'qdlab[queue]'",
            source="qdlab serve",
        )
    folder = options.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user_group_permissions.yaml").write_text(permissions_yaml())
    argv = [
        manager,
        "--startup-module", "lab.queue.profile",
        "--existing-plans-devices", str(folder / "existing_plans_and_devices.yaml"),
        "--update-existing-plans-devices", "ENVIRONMENT_OPEN",
        "--user-group-permissions", str(folder / "user_group_permissions.yaml"),
        "--redis-addr", options.redis_addr,
        "--redis-name-prefix", options.redis_prefix,
        "--zmq-control-addr", options.zmq_control_addr,
        "--zmq-info-addr", options.zmq_info_addr,
        "--zmq-publish-console", "ON",
        "--use-ipython-kernel", "OFF",
    ]  # fmt: skip
    env = {
        **os.environ,
        "QDLAB_LAB": str(options.lab.resolve()),
        "QDLAB_MATERIAL": options.material,
        "QDLAB_SEED": str(options.seed),
        "QDLAB_TILED": options.tiled or "",
        "QDLAB_REALTIME": "1" if options.realtime else "0",
    }
    return argv, env


def serve(options: ServeOptions) -> None:
    """Become the RE manager (``exec``: its process id is this one's, so stopping it stops the server)."""
    argv, env = manager_command(options)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)

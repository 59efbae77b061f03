"""Where ``qdlab run`` puts a new campaign (``--out DIR``, default ``runs/NAME``), checked before anything moves.

Every path problem is one line naming it (exit status 2): ``DIR`` is a file, a symbolic link, not writable
(permission or a read-only file system), a name too long for the file system, or a directory holding
anything that is not a qdlab campaign. ``--force`` replaces only a qdlab campaign
(:func:`lab.store.storage.is_campaign_dir`) and never deletes one: under the campaign's own lock (a running
campaign is refused), once the rest of the command has been checked, the old directory is renamed, whole,
to ``DIR.replaced-<UTC time>`` beside it. A symbolic link at ``DIR`` is refused rather than followed:
replacing through it would move the link's target, somewhere the user did not name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from lab.store.storage import is_campaign_dir, lock_campaign
from models.errors import ConfigurationError, LogError

__all__ = ["OutDir", "check_out_dir", "REPLACED_SUFFIX"]

REPLACED_SUFFIX = ".replaced-"
"""A replaced campaign ``DIR`` is moved to ``DIR.replaced-<UTC time, %Y%m%dT%H%M%SZ>``."""
_NAME_MAX = 255  # bytes in one path component where the file system does not say (ext4, XFS, APFS)
_PATH_MAX = 4096  # bytes in a whole path where the file system does not say (Linux)
_INSIDE_MAX = 64  # room left in a path for what qdlab writes inside DIR (documents.jsonl, plots/NAME.png)
_LISTED = 3  # entries named in a refusal
_SOURCE = "--out"


@dataclass
class OutDir:
    """A checked ``--out``: ``replaces`` when it holds a campaign that ``--force`` moves aside, whose lock
    is held from the check until :meth:`replace` (or :meth:`release`)."""

    path: Path
    replaces: bool = False
    _lock: IO | None = None

    def replace(self) -> Path | None:
        """Move the campaign at ``path`` aside (when ``replaces``); returns where it went."""
        if not self.replaces:
            return None
        aside = _aside(self.path)
        try:
            os.rename(self.path, aside)  # beside it: one file system, atomic, nothing copied or deleted
        except OSError as exc:
            raise ConfigurationError(
                f"cannot move the campaign in {self.path} aside to {aside}: {exc.strerror or exc}",
                source=_SOURCE,
            ) from None
        finally:
            self.release()
        return aside

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases its lock
            self._lock = None


def check_out_dir(directory: Path, *, force: bool) -> OutDir:
    """Check that a new campaign can be written at ``directory`` (nothing is created or moved): a
    ConfigurationError in one line, else the :class:`OutDir` to write (and, with ``force``, to replace)."""
    directory = Path(directory)
    _check_lengths(directory)  # first: a name too long makes every look at the path an error
    ancestor = _existing_ancestor(directory)
    if directory.is_symlink():
        raise ConfigurationError(
            f"{directory} is a symbolic link (to {os.readlink(directory)}); qdlab does not "
            "follow it: give the directory itself, or another --out",
            source=_SOURCE,
        )
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(
            f"{directory} is a file, not a directory; choose another --out", source=_SOURCE
        )
    if not directory.is_dir():
        _check_writable(directory, ancestor)
        return OutDir(directory)
    try:
        entries = sorted(os.listdir(directory))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot list {directory}: {exc.strerror}; choose another --out", source=_SOURCE
        ) from None
    if not entries:
        _check_writable(directory, directory)
        return OutDir(directory)
    _check_replaceable(directory, entries, force=force)
    return OutDir(directory, replaces=True, _lock=_lock_to_replace(directory))


def _check_replaceable(directory: Path, entries: list[str], *, force: bool) -> None:
    """A directory that is not empty may be replaced only if it is a campaign, with --force, named by its
    own name and in a parent qdlab can write."""
    if not is_campaign_dir(directory):
        raise ConfigurationError(
            f"{directory} holds {_count(entries)} that {'is' if len(entries) == 1 else 'are'} "
            f"not a qdlab campaign ({_listing(directory, entries)}); choose another --out",
            source=_SOURCE,
        )
    if not force:
        raise ConfigurationError(
            f"{directory} holds a campaign; continue it with qdlab resume {directory}, choose "
            f"another --out, or add --force to move it aside to "
            f"{directory.name}{REPLACED_SUFFIX}<time>",
            source=_SOURCE,
        )
    if directory.name in ("", ".."):
        raise ConfigurationError(
            f"{directory} holds a campaign; to replace it, name it by its own name, not {str(directory)!r}",
            source=_SOURCE,
        )
    _check_writable(directory, directory.parent)  # renaming needs the parent


def _lock_to_replace(directory: Path):
    """The lock of the campaign to replace; a campaign another process runs is refused."""
    try:
        return lock_campaign(directory)
    except LogError:
        raise ConfigurationError(
            f"{directory} is a campaign another qdlab process is running; --force never "
            "replaces a running campaign: stop it first, or choose another --out",
            source=_SOURCE,
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot take the lock of the campaign in {directory}: {exc.strerror}; choose another --out",
            source=_SOURCE,
        ) from None


def _existing_ancestor(directory: Path) -> Path:
    """The nearest of ``directory`` and its parents that exists; a parent that is a file (or a link to
    nothing) is refused."""
    for path in (directory, *directory.parents):
        if path.is_symlink() and not path.exists():
            raise ConfigurationError(
                f"{path} is a symbolic link to nothing ({os.readlink(path)}); choose another --out",
                source=_SOURCE,
            )
        if path.exists():
            if path != directory and not path.is_dir():
                raise ConfigurationError(
                    f"{path} is a file, not a directory; choose another --out", source=_SOURCE
                )
            return path
    return Path(".")


def _limit(where: Path, name: str, default: int) -> int:
    try:
        return int(os.pathconf(where if where.is_dir() else where.parent, name))
    except (OSError, ValueError):
        return default


def _check_lengths(directory: Path) -> None:
    ancestor = next((p for p in directory.parents if os.path.lexists(p)), Path("."))
    name_max = _limit(ancestor, "PC_NAME_MAX", _NAME_MAX)
    for part in directory.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            shown = part if len(part) <= 40 else f"{part[:20]}...{part[-10:]}"
            raise ConfigurationError(
                f"the name {shown!r} is {size} bytes; this file system takes at most "
                f"{name_max} in one name: choose a shorter --out (or campaign name)",
                source=_SOURCE,
            )
    path_max = _limit(ancestor, "PC_PATH_MAX", _PATH_MAX)
    size = len(os.fsencode(str(directory.absolute())))
    if size + _INSIDE_MAX > path_max:
        raise ConfigurationError(
            f"the path is {size} bytes; this file system takes at most {path_max} and qdlab "
            f"needs {_INSIDE_MAX} more for its files: choose a shorter --out",
            source=_SOURCE,
        )


def _check_writable(directory: Path, where: Path) -> None:
    """``where`` (``directory`` or the ancestor it is created in) must take new entries."""
    if os.access(where, os.W_OK | os.X_OK):
        return
    try:
        read_only = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    why = "is on a read-only file system" if read_only else "is not writable (permission denied)"
    target = "it" if where == directory else str(where)
    raise ConfigurationError(
        f"cannot write {directory}: {target} {why}; choose another --out", source=_SOURCE
    )


def _count(entries: list[str]) -> str:
    return f"{len(entries)} file" if len(entries) == 1 else f"{len(entries)} files"


def _listing(directory: Path, entries: list[str]) -> str:
    shown = [name + ("/" if (directory / name).is_dir() else "") for name in entries[:_LISTED]]
    more = len(entries) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _aside(directory: Path) -> Path:
    """A name beside ``directory`` that nothing holds: ``NAME.replaced-<UTC time>[-N]``, shortened to fit."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name_max = _limit(directory.parent, "PC_NAME_MAX", _NAME_MAX)
    for n in range(1, 1000):
        suffix = f"{REPLACED_SUFFIX}{stamp}" + (f"-{n}" if n > 1 else "")
        base = os.fsencode(directory.name)[: name_max - len(suffix)].decode(errors="ignore")
        aside = directory.with_name(base + suffix)
        if not os.path.lexists(aside):
            return aside
    raise ConfigurationError(f"cannot find a free name beside {directory} to move it to", source=_SOURCE)

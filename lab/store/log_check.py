"""The document log checked as one campaign's record: the one reader behind resume, replay, report and watch.

A log is only the truth if it holds one campaign's runs, each in bluesky's order. :class:`LogCheck`
takes the documents one line at a time (so ``qdlab watch`` can check a growing log) and refuses, with
the file, the line and what is wrong (a :class:`LogError`: one line, exit status 2):

- a document of another campaign (a start whose ``campaign_id`` is not this campaign's: another log
  appended to this one);
- documents out of order: a descriptor or stop before its run's start, an event before its descriptor,
  anything of a run after its stop, a start, descriptor or stop seen twice;
- an experiment index that is not a whole number >= 0.

A gap (an experiment below the highest completed one with no completed run: its lines lost from the
middle) is refused by :func:`check_gaps` for readers; ``qdlab resume`` re-runs the missing index
instead (lab.run.session), never renumbering what follows. A run with no stop, followed by later runs, is
no error: that is what a crash leaves, and the run is simply not data (DESIGN.md, Data).
"""

from __future__ import annotations

from pathlib import Path

from lab.store.records import ExperimentRecord, experiments_from_documents, missing_indices
from lab.store.storage import LOG_NAME, read_lines
from models.errors import LogError

__all__ = ["LogCheck", "read_log", "check_gaps"]


class LogCheck:
    """Checks documents fed in log order; ``source`` names the log in messages.

    ``campaign_id``: the campaign's id (campaign.toml's); when None, the first start document that
    carries one sets it.
    """

    def __init__(self, source: str, *, campaign_id: str | None = None):
        self.source = source
        self.campaign_id = campaign_id
        self._id_line: int | None = None  # where the campaign id came from (None: campaign.toml)
        self._runs: dict[str, int] = {}  # run uid -> line of its start
        self._stopped: dict[str, int] = {}  # run uid -> line of its stop
        self._descriptors: dict[str, tuple[str, int]] = {}  # descriptor uid -> (run uid, line)
        self.first_start_line: dict[int, int] = {}
        """Experiment index -> line of its first start document."""

    def _refuse(self, line: int, what: str) -> None:
        raise LogError(f"{self.source}: line {line}: {what}")

    def feed(self, line: int, name: str, doc: dict) -> None:
        """Check one document (``line``: its line number in the log, from 1); raises LogError."""
        uid = doc.get("uid")
        if name == "start":
            self._start(line, doc, uid)
        elif name == "descriptor":
            run = doc.get("run_start")
            self._in_open_run(line, run, "a descriptor")
            if uid in self._descriptors:
                self._refuse(
                    line,
                    f"a second descriptor {uid} (first at line {self._descriptors[uid][1]}): "
                    "documents were duplicated",
                )
            self._descriptors[uid] = (run, line)
        elif name == "event":
            descriptor = doc.get("descriptor")
            if descriptor not in self._descriptors:
                self._refuse(
                    line,
                    f"an event before its descriptor ({descriptor}): the log is out of order, "
                    "and this event would be lost",
                )
            self._in_open_run(line, self._descriptors[descriptor][0], "an event")
        elif name == "stop":
            run = doc.get("run_start")
            if run in self._stopped:
                self._refuse(
                    line,
                    f"a second stop document for run {run} (first at line {self._stopped[run]}): "
                    "documents were duplicated",
                )
            self._in_open_run(line, run, "a stop document")
            self._stopped[run] = line

    def _start(self, line: int, doc: dict, uid: object) -> None:
        campaign = doc.get("campaign_id")
        if campaign is not None:
            if self.campaign_id is None:
                self.campaign_id, self._id_line = campaign, line
            elif campaign != self.campaign_id:
                where = f"line {self._id_line}" if self._id_line else "campaign.toml"
                self._refuse(
                    line,
                    f"a run of another campaign (campaign id {campaign}; this campaign's is "
                    f"{self.campaign_id}, from {where}): another log was appended to this one",
                )
        if uid in self._runs:
            self._refuse(
                line,
                f"a second start document for run {uid} (first at line {self._runs[uid]}): "
                "documents were duplicated",
            )
        if "experiment_index" in doc:
            index = doc["experiment_index"]
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                self._refuse(line, f"experiment_index must be a whole number >= 0, got {index!r}")
            self.first_start_line.setdefault(index, line)
        self._runs[uid] = line

    def _in_open_run(self, line: int, run: object, what: str) -> None:
        if run not in self._runs:
            self._refuse(
                line,
                f"{what} before its run's start (run {run}): the log is out of order or "
                "holds documents of another log",
            )
        if run in self._stopped:
            self._refuse(
                line, f"{what} after its run's stop (line {self._stopped[run]}): the log is out of order"
            )


def check_gaps(check: LogCheck, runs: list[ExperimentRecord], *, directory: Path | str | None = None) -> None:
    """Refuse a log whose experiments have a gap (:func:`lab.store.records.missing_indices`), naming the line
    after the hole; ``qdlab resume`` re-runs the missing experiments."""
    missing = missing_indices(runs)
    if not missing:
        return
    first = missing[0]
    line = min(n for i, n in check.first_start_line.items() if i > first)
    names = ", ".join(map(str, missing))
    fix = f"; qdlab resume {directory} re-runs {'it' if len(missing) == 1 else 'them'}" if directory else ""
    raise LogError(
        f"{check.source}: line {line}: experiment{'s' if len(missing) > 1 else ''} {names} "
        f"missing before this line (lines lost from the middle of the log){fix}"
    )


def read_log(
    directory: Path | str, *, campaign_id: str | None = None, gaps: bool = False
) -> list[tuple[str, dict]]:
    """The documents of ``directory``'s log, checked (:class:`LogCheck`); with ``gaps`` a gap is allowed
    (resume re-runs it), else refused (:func:`check_gaps`)."""
    directory = Path(directory)
    path = directory / LOG_NAME
    check = LogCheck(str(path), campaign_id=campaign_id)
    docs = []
    for line, doc_name, doc in read_lines(path):
        check.feed(line, doc_name, doc)
        docs.append((doc_name, doc))
    if not gaps:
        check_gaps(check, experiments_from_documents(docs), directory=directory)
    return docs

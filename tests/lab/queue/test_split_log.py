"""What the agent proposes from: the log's runs split into those observed and those pending."""

from lab.queue.agent import split_log
from lab.store.records import ExperimentRecord


def _run(index: int, status: str | None, outcomes: bool = True) -> ExperimentRecord:
    return ExperimentRecord(
        index=index,
        uid=f"u{index}-{status}",
        parameters={"x": float(index)},
        setpoints={},
        decision={},
        outcomes={"pl_peak_nm": 520.0} if outcomes else {},
        exit_status=status,
    )


def test_nothing_running_observes_every_completed_run_in_log_order():
    runs = [_run(0, "success"), _run(2, "success"), _run(1, "success")]
    observed, pending = split_log(runs, running=set())
    assert [r.index for r in observed] == [0, 2, 1] and pending == []


def test_runs_from_the_first_running_one_on_are_pending():
    runs = [_run(0, "success"), _run(1, None), _run(2, "success"), _run(3, None)]
    observed, pending = split_log(runs, running={"u1-None", "u3-None"})
    assert [r.index for r in observed] == [0]
    assert [r.index for r in pending] == [1, 2, 3]  # 2 finished out of turn: pending, not yet observed


def test_an_aborted_run_and_one_a_crash_left_open_are_not_data():
    runs = [_run(0, "success"), _run(1, "abort", outcomes=False), _run(1, None), _run(2, None)]
    observed, pending = split_log(runs, running={"u2-None"})
    assert [r.index for r in observed] == [0] and [r.index for r in pending] == [2]

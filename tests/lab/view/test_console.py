"""The campaign's progress line: count, ETA, best figures of merit and target at any terminal width."""

import io

import pytest
from rich.console import Console

from lab.view.console import CampaignLine, LineState, progress_text


def _state(**changes):
    state = LineState(
        name="cdse-green",
        budget=30,
        done=7,
        failed=1,
        eta_s=250.0,
        best_index=4,
        best={"pl_peak_nm": 521.54, "pl_fwhm_nm": 35.01, "plqy": 0.7264},
        has_target=True,
        reached_at=None,
        running_index=8,
        running_text="290.9 degC, 57.57 s, 5.553 mM, 0.682",
        last_index=7,
        last_failure="clog",
    )
    for key, value in changes.items():
        setattr(state, key, value)
    return state


def _render(renderable, width):
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("reached", [None, 4])
def test_the_line_fits_and_keeps_count_eta_best_and_target(width, reached):
    text = _render(progress_text(_state(reached_at=reached), width), width)
    lines = text.splitlines()
    assert len(lines) == 1 and len(lines[0]) <= width  # nothing wraps
    line = lines[0]
    assert "7/30" in line
    assert "4m10s" in line  # the ETA
    assert (
        "#4" in line and "521.5" in line and "35.0" in line and ("0.73" in line or "0.7264" in line)
    )  # best
    if reached is None:
        assert "✗" in line or "not reached" in line
    else:
        assert "✓ #4" in line or "reached at #4" in line


def test_at_80_columns_labels_and_name_are_kept():
    line = _render(progress_text(_state(), 80), 80).splitlines()[0]
    assert line.startswith("cdse-green") and "ETA 4m10s" in line
    assert "PL 521.5" in line and "FWHM 35.0" in line and "PLQY 0.73" in line and "target ✗" in line


def test_a_wide_terminal_also_gets_units_failures_and_the_running_experiment():
    line = _render(progress_text(_state(), 200), 200).splitlines()[0]
    assert "PL 521.5 nm" in line and "7/30, 1 failed" in line and "target not reached" in line
    assert "now #8: 290.9 degC" in line and "last #7: clog" in line


def test_before_any_result_and_when_done():
    start = _render(progress_text(_state(done=0, best_index=None, best={}, eta_s=None, failed=0), 80), 80)
    assert "0/30" in start and "ETA -" in start and "none yet" in start
    done = _render(progress_text(_state(done=30, reached_at=12), 80), 80)
    assert "30/30" in done and "done" in done and "#12" in done


def test_a_campaign_without_a_target_says_nothing_about_one():
    line = _render(progress_text(_state(has_target=False), 120), 120)
    assert "target" not in line and "✗" not in line


def test_the_live_line_renders_at_the_console_width():
    line = CampaignLine("cdse-green", 30)
    line.set_done(0)
    line.state.has_target = True
    for width in (60, 80, 120):
        text = _render(line, width)
        assert len(text.splitlines()) == 1 and len(text.splitlines()[0]) <= width and "0/30" in text


def test_run_prints_its_summary_on_stdout_and_only_json_with_json(fast_campaign_file, tmp_path, capsys):
    import json

    from lab.cli import main

    assert main(["run", str(fast_campaign_file), "--sim", "--out", str(tmp_path / "a"), "--budget", "2"]) == 0
    shown = capsys.readouterr()
    assert "2 experiments in" in shown.out and "best: experiment" in shown.out and "reactor time" in shown.out
    assert "target" in shown.out and "2/2" in shown.err  # the progress line stays on stderr
    assert (
        main(
            ["run", str(fast_campaign_file), "--sim", "--out", str(tmp_path / "b"), "--budget", "2", "--json"]
        )
        == 0
    )
    shown = capsys.readouterr()
    result = json.loads(shown.out)  # nothing but the JSON object
    assert (
        result["experiments"] == 2
        and result["reactor_s"] > 0
        and set(result["reagents_ul"]) == {"cd", "se", "solvent"}
    )
    assert "2 experiments in" in shown.err


def test_a_benchmark_runs_status_line_says_where_the_target_was_reached():
    from lab.view.console import target_status

    assert target_status("botorch #2", 7) == "botorch #2: target at experiment 7"
    assert target_status("snar sobol #0", None) == "snar sobol #0: target not reached"

"""qdlab report: a self-contained page with its plots, and the same plots as PNG files."""

import json
import re
import shutil

import pytest

from browser import find_chromium, inspect_page  # tests/lab/view/browser.py: test tooling, not qdlab
from lab.cli import main
from lab.view.report import write_report
from lab.store.sources import open_directory

PLOTS = {"convergence", "figures", "parameters", "spectra", "resources", "hours", "model"}


@pytest.fixture(scope="module")
def report_dir(small_campaign, tmp_path_factory):
    copy = tmp_path_factory.mktemp("report") / "cdse"
    shutil.copytree(small_campaign, copy)
    return copy


@pytest.fixture(scope="module")
def summary(report_dir):
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["report", str(report_dir), "--json"]) == 0
    return json.loads(buf.getvalue())


def test_report_is_self_contained_with_every_plot(report_dir, summary):
    page = (report_dir / "report.html").read_text()
    images = re.findall(r'<img alt="(\w+) plot" src="data:image/png;base64,', page)
    assert set(images) == PLOTS
    # offline: nothing fetched from anywhere
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page
    for name in PLOTS:
        png = report_dir / "plots" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert summary["experiments"] == 4 and summary["campaign"]["budget"] == 4
    assert summary["report"] == str(report_dir / "report.html")


def test_report_marks_best_and_failures(report_dir, summary):
    page = (report_dir / "report.html").read_text()
    best = summary["best"]
    assert best is not None and f"Conditions (experiment {best['index']})" in page
    rows = re.findall(r'<tr class="(\w*)"><td>(\d+)</td>', page)
    assert [int(i) for _, i in rows] == [0, 1, 2, 3]
    assert ("best", str(best["index"])) in rows
    assert sum(1 for c, _ in rows if c == "failed") == summary["failed"]


def test_report_of_a_missing_directory_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such campaign directory" in capsys.readouterr().err


def test_multi_objective_report_has_a_pareto_front(small_campaign, tmp_path):
    data = open_directory(small_campaign)
    objectives = [{"name": "plqy", "goal": "maximize"}, {"name": "pl_fwhm_nm", "goal": "minimize"}]
    data.spec = data.spec.model_copy(update={"objective": {"objectives": objectives}})
    report = write_report(data, tmp_path)
    assert "pareto" in report.png_paths and 'alt="pareto plot"' in report.html_path.read_text()


CHROMIUM = find_chromium()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed and could not be (make browser runs apt-get install chromium as root)",
)
def test_report_renders_in_headless_chromium_without_console_errors(report_dir, summary):
    check = inspect_page(report_dir / "report.html", full_page=False)
    assert check["console"] == [] and check["exceptions"] == []
    assert check["title"] == "qdlab report: cdse-green"
    loaded = {
        img["alt"].removesuffix(" plot") for img in check["images"] if img["complete"] and img["width"] > 100
    }
    assert loaded == PLOTS
    assert check["screenshot"][:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_browser_check_sees_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>bad</title></head><body>'
        '<img alt="gone" src="missing.png"><script>console.error("boom")</script></body></html>'
    )
    check = inspect_page(page, full_page=False)
    assert any("boom" in m for m in check["console"])
    assert any("missing.png" in m or "ERR_FILE_NOT_FOUND" in m for m in check["console"])


def _failed_marks(fig):
    return [
        sorted(int(x) for x in line.get_xdata())
        for ax in fig.axes
        for line in ax.get_lines()
        if line.get_label() == "failed"
    ]


def test_an_experiment_without_a_needed_figure_is_failed_in_the_table_and_in_every_plot(
    small_campaign, tmp_path
):
    # the optimiser learns nothing from an experiment whose objective cannot be computed (a PL peak not
    # found, no failure mark): the table called it "ok" while the convergence plot crossed it out
    data = open_directory(small_campaign)
    data.runs[1].outcomes["pl_peak_nm"] = None
    assert not data.runs[1].outcomes.get("failure")
    report = write_report(data, tmp_path)
    page = report.html_path.read_text()
    rows = re.findall(r'<tr class="(\w*)"><td>(\d+)</td>.*?<td>([^<]*)</td></tr>', page)
    status = {int(i): (cls, text) for cls, i, text in rows}
    assert status[1] == ("failed", "failed: no pl_peak_nm")
    assert all(status[i][1] == "ok" for i in (0, 2, 3))
    assert report.summary["failed"] == 1 and report.summary["failed_indices"] == [1]
    for name in ("convergence", "parameters", "figures"):
        marks = _failed_marks(report.figures[name])
        assert marks and all(m == [1] for m in marks), name


def test_report_shows_the_best_set_points_pump_flows_and_where_the_target_was_reached(report_dir, summary):
    from lab.tools.replay import replay

    page = (report_dir / "report.html").read_text()
    best = open_directory(report_dir).records[summary["best"]["index"]]
    assert "Set points and pumps" in page
    for reagent, flow in best.setpoints["flows_ul_min"].items():
        assert f"<th>pump {reagent}</th><td>{flow:.4g} uL/min (read " in page  # pump named as its reagent
    assert f"{best.setpoints['temperature_c']:.4g} degC" in page
    assert f"{best.setpoints['residence_time_s']:.4g} s" in page
    replayed = replay(report_dir)
    assert replayed["has_target"] and summary["reached_at"] == replayed["reached_at"]
    if summary["reached_at"] is None:
        assert "Target not reached." in page
    else:
        assert f"Target reached at experiment {summary['reached_at']}, after " in page
        assert replayed["experiments"][summary["reached_at"]]["reached"]
        assert not any(e["reached"] for e in replayed["experiments"][: summary["reached_at"]])


def test_figure_history_draws_each_figure_of_merit_with_its_target_band(small_campaign, tmp_path):
    data = open_directory(small_campaign)
    report = write_report(data, tmp_path)
    fig = report.figures["figures"]
    bands = {"PL (nm)": (520.0, 530.0), "FWHM (nm)": (0.0, 35.0), "PLQY": (0.3, 1.0)}
    assert [ax.get_ylabel() for ax in fig.axes] == list(bands)
    for ax in fig.axes:
        (band,) = [p for p in ax.patches if p.get_label() == "target band"]
        lo, hi = bands[ax.get_ylabel()]
        corners = band.get_transform().transform(band.get_path().vertices)  # display -> data coordinates
        data_y = ax.transData.inverted().transform(corners)[:, 1]
        assert min(data_y) == pytest.approx(lo) and max(data_y) == pytest.approx(hi)
        (points,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert list(points.get_xdata()) == [r.index for r in data.records]


def test_report_counts_reactor_time_and_reagents_from_the_log(report_dir, summary):
    from lab.store.records import resource_use

    use = resource_use(open_directory(report_dir).runs)
    assert summary["reactor_s"] == pytest.approx(use[-1].cumulative_reactor_s) and summary["reactor_s"] > 0
    assert summary["reagents_ul"] == pytest.approx(use[-1].cumulative_reagents_ul)
    page = (report_dir / "report.html").read_text()
    assert "Reactor time " in page and "dispensed cd " in page
    assert "<th>reactor time</th>" in page and "<th>dispensed (uL)</th>" in page


def test_report_and_replay_print_their_tables_on_stdout(report_dir, capsys):
    assert main(["report", str(report_dir)]) == 0
    shown = capsys.readouterr()
    assert "experiments" in shown.out and "report:" in shown.out and "best: experiment" in shown.out
    assert "target" in shown.out and "reactor time" in shown.out
    assert main(["replay", str(report_dir)]) == 0
    shown = capsys.readouterr()
    assert "PL nm" in shown.out and "decisions: all re-derived identically" in shown.out  # `| less` sees it
    assert main(["replay", str(report_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["campaign"]["name"] == "cdse-green"  # stdout: JSON only
    assert main(["report", str(report_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["experiments"] == 4


def test_report_plots_the_best_objective_against_cumulative_reactor_hours(small_campaign, tmp_path):
    from lab.store.records import resource_use
    from models.objectives import incumbent_trace

    data = open_directory(small_campaign)
    report = write_report(data, tmp_path)
    assert report.png_paths["hours"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = report.figures["hours"].axes
    (points,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    use = {u.uid: u for u in resource_use(data.runs)}
    records = data.records
    rows = [r.outcome_row() for r in records]
    objective = data.spec.parsed_objective
    expected = [
        (use[r.uid].cumulative_reactor_s / 3600.0, objective.value(rows[k]))
        for r, k in zip(records, incumbent_trace(objective, rows, data.spec.outcome_constraints))
        if k is not None
    ]
    assert list(points.get_xdata()) == pytest.approx([h for h, _ in expected])
    assert list(points.get_ydata()) == pytest.approx([v for _, v in expected])
    hours = list(points.get_xdata())
    assert hours == sorted(hours) and hours[-1] > 0
    assert ax.get_xlabel().startswith("reactor time (h")

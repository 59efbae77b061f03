"""qdlab report: a self-contained page with its plots, and the same plots as PNG files."""

import json
import re
import shutil

import pytest

from lab.browser import find_chromium, inspect_page
from lab.cli import main
from lab.plots import pareto_mask
from lab.report import write_report
from lab.sources import open_directory

PLOTS = {"convergence", "figures", "parameters", "spectra", "resources", "model"}


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


def test_pareto_mask():
    import numpy as np

    pts = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 0.5], [2.0, 1.0]])
    assert pareto_mask(pts).tolist() == [False, False, False, True]


def test_multi_objective_report_has_a_pareto_front(small_campaign, tmp_path):
    data = open_directory(small_campaign)
    objectives = [{"name": "plqy", "goal": "maximize"}, {"name": "pl_fwhm_nm", "goal": "minimize"}]
    data.spec = data.spec.model_copy(update={"objective": {"objectives": objectives}})
    report = write_report(data, tmp_path)
    assert "pareto" in report.png_paths and 'alt="pareto plot"' in report.html_path.read_text()


CHROMIUM = find_chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed and could not be (make browser runs "
                                              "apt-get install chromium as root)")
def test_report_renders_in_headless_chromium_without_console_errors(report_dir, summary):
    check = inspect_page(report_dir / "report.html", full_page=False)
    assert check["console"] == [] and check["exceptions"] == []
    assert check["title"] == "qdlab report: cdse-green"
    loaded = {img["alt"].removesuffix(" plot") for img in check["images"] if img["complete"] and img["width"] > 100}
    assert loaded == PLOTS
    assert check["screenshot"][:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_browser_check_sees_console_errors(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><link rel="icon" href="data:,"><title>bad</title></head><body>'
                    '<img alt="gone" src="missing.png"><script>console.error("boom")</script></body></html>')
    check = inspect_page(page, full_page=False)
    assert any("boom" in m for m in check["console"])
    assert any("missing.png" in m or "ERR_FILE_NOT_FOUND" in m for m in check["console"])

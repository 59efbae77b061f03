"""``qdlab export``: one row per run, units in the column names, the same values as the log's records."""

import csv

import pytest

from lab.store.records import experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents


def _main(argv):
    from lab.cli import main

    return main([str(a) for a in argv])


def test_csv_has_a_row_per_run_with_units_in_the_names(small_campaign, tmp_path, capsys):
    out = tmp_path / "table.csv"
    assert _main(["export", small_campaign, "--csv", "--out", out]) == 0
    assert "4 runs" in capsys.readouterr().out
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    records = experiments_from_documents(read_documents(small_campaign / LOG_NAME))
    assert [int(r["index"]) for r in rows] == [r.index for r in records]
    for name in ("temperature [degC]", "residence_time [s]", "pl_peak_nm [nm]", "plqy", "reactor_time [s]"):
        assert name in rows[0], sorted(rows[0])
    assert any(k.startswith("used ") and k.endswith(" [uL]") for k in rows[0])
    for row, record in zip(rows, records):
        assert float(row["temperature [degC]"]) == pytest.approx(record.parameters["temperature"])
        assert float(row["pl_peak_nm [nm]"]) == pytest.approx(record.outcomes["pl_peak_nm"])
        assert row["run"] == "experiment" and row["completed"] == "True"
        assert float(row["reactor_time [s]"]) > 0


def test_parquet_holds_the_same_table(small_campaign, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "table.parquet"
    assert _main(["export", small_campaign, "--parquet", "--out", out]) == 0
    table = pq.read_table(str(out))
    assert table.num_rows == 4 and "pl_fwhm_nm [nm]" in table.column_names


@pytest.mark.parametrize("flags", [[], ["--csv", "--parquet"]])
def test_one_format_is_asked_for_or_it_is_refused_in_one_line(small_campaign, tmp_path, capsys, flags):
    assert _main(["export", small_campaign, *flags, "--out", tmp_path / "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["qdlab: export: give one of --csv or --parquet"]
    assert not (tmp_path / "x").exists()


def test_the_report_writes_the_table_and_links_it(small_campaign, tmp_path):
    import shutil

    copy = tmp_path / "c"
    shutil.copytree(small_campaign, copy)
    assert _main(["report", copy]) == 0
    assert (copy / "experiments.csv").read_text().startswith("index,run,completed,")
    assert 'href="experiments.csv"' in (copy / "report.html").read_text()

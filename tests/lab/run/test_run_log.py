"""Library log records of a campaign go to DIR/qdlab.log, not to the terminal (its one-line errors)."""

import logging

from lab.run.runtime import library_logs_to


def test_bluesky_tracebacks_go_to_the_file_and_not_to_stderr(tmp_path, capfd):
    path = tmp_path / "qdlab.log"
    logger = logging.getLogger("bluesky.RE")
    before = (logging.getLogger("bluesky").propagate, logging.getLogger("bluesky").level)
    with library_logs_to(path):
        try:
            raise RuntimeError("pump chain went silent")
        except RuntimeError:
            logger.exception("Run aborted")
        logging.getLogger("ophyd.objects").info("status done")
    assert "Traceback" not in capfd.readouterr().err
    text = path.read_text()
    assert "Run aborted" in text and "pump chain went silent" in text and "status done" in text
    assert (logging.getLogger("bluesky").propagate, logging.getLogger("bluesky").level) == before
    logger.warning("after the campaign")  # the handler is gone again
    assert "after the campaign" not in path.read_text()


def test_a_simulated_campaign_writes_its_log_file(tmp_path, fast_campaign_file, capsys):
    from lab.cli import main

    out = tmp_path / "c"
    assert main(["run", str(fast_campaign_file), "--sim", "--out", str(out), "--budget", "1"]) == 0
    assert (out / "qdlab.log").is_file()

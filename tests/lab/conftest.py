"""Shared fixtures for the lab tests: one small, fast simulated campaign (Sobol, 4 experiments), and the
helpers the lab and fault tests share to run one and read it back."""

import io
import json
import socket
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"


def tampered_copy(out: Path, copy: Path, edit) -> Path:
    """``out``'s campaign files and log copied to ``copy``, the first log entry that ``edit`` changes
    (it edits the parsed entry in place and returns True) written back edited."""
    from lab.store.storage import LOG_NAME

    copy.mkdir()
    for name in ("campaign.toml", "lab.toml"):
        (copy / name).write_bytes((out / name).read_bytes())
    lines = (out / LOG_NAME).read_text().splitlines()
    for i, line in enumerate(lines):
        entry = json.loads(line)
        if edit(entry):
            lines[i] = json.dumps(entry)
            break
    (copy / LOG_NAME).write_text("\n".join(lines) + "\n")
    return copy


def write_fast_campaign(path: Path, old: str = "", new: str = "") -> Path:
    """The CdSe example with the Sobol strategy (no model fitting: a few seconds per campaign), optionally
    with one edit (the first ``old`` replaced by ``new``)."""
    text = EXAMPLE.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    assert old in text
    path.write_text(text.replace(old, new, 1) if old else text)
    return path


def run_sim(campaign: Path, out: Path, budget: int, *extra) -> int:
    """The exit status of ``qdlab run CAMPAIGN --sim --out OUT --budget BUDGET [EXTRA...]``, in process."""
    from lab.cli import main

    args = ["run", campaign, "--sim", "--out", out, "--budget", budget, *extra]
    return main([str(a) for a in args])


def main_json(argv: list[str]) -> tuple[int, object]:
    """The exit status of ``qdlab ARGV`` (a ``--json`` command) and the JSON it printed."""
    from lab.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(argv)
    return code, json.loads(buf.getvalue())


def read_campaign_id(out: Path) -> str:
    """The id a campaign directory's ``campaign.toml`` records."""
    return next(
        line.split('"')[1]
        for line in (out / "campaign.toml").read_text().splitlines()
        if line.startswith("id =")
    )


def free_port() -> int:
    """A local TCP port nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def fast_campaign_file(tmp_path_factory) -> Path:
    return write_fast_campaign(tmp_path_factory.mktemp("campaign") / "cdse-sobol.toml")


def finished_campaign(tmp_path_factory, name: str, campaign: Path, budget: int, *extra) -> Path:
    """A campaign directory ``run_sim`` finished (exit 0), in a fresh temporary folder called ``name``."""
    out = tmp_path_factory.mktemp(name) / "cdse"
    assert run_sim(campaign, out, budget, *extra) == 0
    return out


@pytest.fixture(scope="session")
def small_campaign(tmp_path_factory, fast_campaign_file) -> Path:
    """A finished 4-experiment simulated campaign directory (do not modify: copy it)."""
    return finished_campaign(tmp_path_factory, "small", fast_campaign_file, 4, "--seed", "1")

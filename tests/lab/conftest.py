"""Shared fixtures for the lab tests: one small, fast simulated campaign (Sobol, 4 experiments)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"


def write_fast_campaign(path: Path) -> Path:
    """The CdSe example with the Sobol strategy (no model fitting: a few seconds per campaign)."""
    text = EXAMPLE.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def fast_campaign_file(tmp_path_factory) -> Path:
    return write_fast_campaign(tmp_path_factory.mktemp("campaign") / "cdse-sobol.toml")


@pytest.fixture(scope="session")
def small_campaign(tmp_path_factory, fast_campaign_file) -> Path:
    """A finished 4-experiment simulated campaign directory (do not modify: copy it)."""
    from lab.cli import main

    out = tmp_path_factory.mktemp("small") / "cdse"
    assert (
        main(["run", str(fast_campaign_file), "--sim", "--out", str(out), "--budget", "4", "--seed", "1"])
        == 0
    )
    return out

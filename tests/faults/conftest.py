"""Shared fixtures for the fault tests: the fast simulated campaign file (Sobol) each module runs."""

from pathlib import Path

import pytest

from tests.lab.conftest import write_fast_campaign


@pytest.fixture(scope="module")
def campaign_file(tmp_path_factory) -> Path:
    return write_fast_campaign(tmp_path_factory.mktemp("campaign") / "cdse-sobol.toml")

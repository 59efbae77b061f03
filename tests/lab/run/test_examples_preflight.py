"""Every campaign qdlab ships passes the pre-flight on the simulated lab `qdlab run --sim` gives it:
a shipped example that the corner check refuses is a dry run a user cannot start (cspbbr3-green's
10 s corner once needed 750 uL/min of Pb and 1388 uL/min of solvent from pumps capped at 500 and 1000)."""

import pytest

from lab.cli.app import sim_lab_path
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.session import CampaignSession

CAMPAIGNS = sorted(EXAMPLES["campaigns"].glob("*.toml"))


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_a_shipped_campaign_passes_preflight_on_its_simulated_lab(path, tmp_path):
    spec = load_campaign(path)
    lab_path = sim_lab_path(spec.material)
    session = CampaignSession(
        spec, load_lab(lab_path), tmp_path / "run", campaign_source=str(path), lab_source=str(lab_path)
    )
    session.preflight(fresh=True)  # what qdlab run --sim checks first: raises ConfigurationError if refused


def test_every_shipped_campaign_is_checked():
    assert {p.stem for p in CAMPAIGNS} >= {"cdse-green", "cspbbr3-green", "inp-red", "pbs-swir"}

"""Every campaign qdlab ships passes the pre-flight on the simulated lab `qdlab run --sim` gives it:
a shipped example that the corner check refuses is a dry run a user cannot start (cspbbr3-green's
10 s corner once needed 750 uL/min of Pb and 1388 uL/min of solvent from pumps capped at 500 and 1000)."""

import pytest

from campaigns.preflight import preflight
from lab.cli.app import sim_lab_path
from lab.config.files import EXAMPLES, load_campaign, load_lab

CAMPAIGNS = sorted(EXAMPLES["campaigns"].glob("*.toml"))


@pytest.mark.parametrize("path", CAMPAIGNS, ids=lambda p: p.stem)
def test_a_shipped_campaign_passes_preflight_on_its_simulated_lab(path):
    spec = load_campaign(path)
    lab = load_lab(sim_lab_path(spec.material))
    preflight(  # raises ConfigurationError naming the first point the lab cannot make
        spec,
        reactor_volume_ul=lab.reactor.volume,
        stocks_mM=lab.stocks_mM,
        pump_limits=lab.pump_limits,
        heater_limits=lab.heater_limits,
        source=str(path),
        transfer_volume_ul=lab.reactor.transfer_volume,
        pump_names={p.reagent: name for name, p in lab.pumps.items()},
    )


def test_every_shipped_campaign_is_checked():
    assert {p.stem for p in CAMPAIGNS} >= {"cdse-green", "cspbbr3-green", "inp-red", "pbs-swir"}

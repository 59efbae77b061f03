"""Failed experiments are learnt: on cdse-clog, BoTorch runs into the clogging corner less than random."""

from pathlib import Path

import pytest

from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.session import CampaignSession

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 14
SEEDS = (1, 2, 3)


def second_half_failures(tmp_path, strategy: str, seed: int) -> tuple[int, list]:
    spec = load_campaign(ROOT / "campaigns/examples/cdse-clog.toml").model_copy(
        update={"strategy": strategy, "seed": seed, "budget": BUDGET}
    )
    lab = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
    session = CampaignSession(
        spec,
        lab,
        tmp_path / f"{strategy}-{seed}",
        campaign_source="cdse-clog",
        lab_source="sim-cdse",
        run_engine_kwargs={"context_managers": []},
    )
    records = session.run().records
    failures = [r.outcomes.get("failure") for r in records]
    assert len(failures) == BUDGET  # clogs are data: they count towards the budget
    return sum(1 for f in failures[BUDGET // 2 :] if f), failures


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured 2026-12-01: BoTorch 5 clogs against random's 3 in the second halves of seeds 1-3. The "
        "property held only while dim red samples beside the clog corner measured no PL peak and counted as "
        "failures (an instrument artefact, fixed by auto-exposure: docs/adr/0008); the feasibility threshold "
        "tuned on it is left for the held-out optimiser benchmark (issue 14)"
    ),
)
def test_botorch_proposes_fewer_clogging_conditions_than_random_in_its_second_half(tmp_path):
    botorch = [second_half_failures(tmp_path, "botorch", s) for s in SEEDS]
    random = [second_half_failures(tmp_path, "random", s) for s in SEEDS]
    assert any("clog" in f for _, f in random), "the campaign must reach the clogging corner"
    assert sum(n for n, _ in botorch) < sum(n for n, _ in random), (botorch, random)

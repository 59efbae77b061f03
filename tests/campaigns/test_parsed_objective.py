"""The campaign's objective is parsed once, when the spec is loaded, and that one object is reused."""

from pathlib import Path

import pytest

from campaigns.strategy import optimizer_for
from lab.config.files import load_campaign
from models.errors import ConfigurationError
from models.objectives import MultiObjective, Objective, make_objective

EXAMPLES = Path(__file__).resolve().parents[2] / "campaigns" / "examples"


def test_the_spec_parses_its_objective_once_and_everyone_shares_it(monkeypatch):
    spec = load_campaign(EXAMPLES / "cdse-green.toml")
    parsed = spec.parsed_objective
    assert isinstance(parsed, Objective) and parsed.spec == spec.objective

    def refuse(self, *a, **k):
        raise AssertionError("the objective was parsed again")

    monkeypatch.setattr(Objective, "__init__", refuse)
    assert spec.parsed_objective is parsed
    assert optimizer_for(spec, strategy="sobol").objective is parsed


def test_a_copy_with_another_objective_is_parsed_anew_and_equality_ignores_the_memo():
    spec = load_campaign(EXAMPLES / "cdse-green.toml")
    again = load_campaign(EXAMPLES / "cdse-green.toml")
    spec.parsed_objective  # noqa: B018 - one parsed, the other not
    assert spec == again
    objectives = [{"name": "plqy", "goal": "maximize"}, {"name": "pl_fwhm_nm", "goal": "minimize"}]
    multi = spec.model_copy(update={"objective": {"objectives": objectives}})
    assert isinstance(multi.parsed_objective, MultiObjective)
    assert isinstance(spec.parsed_objective, Objective)


def test_a_bad_objective_is_refused_when_the_spec_is_loaded(tmp_path):
    text = (
        (EXAMPLES / "cdse-green.toml").read_text().replace('goal = "maximize"\nterms', 'goal = "up"\nterms')
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match="composite objective"):
        load_campaign(path)


def test_split_terms_reuse_the_parsed_terms():
    composite = make_objective(load_campaign(EXAMPLES / "cdse-green.toml").objective)
    parts = composite.split()
    assert [p.terms[0] for p in parts] == list(composite.terms)
    assert all(p.terms[0] is t for p, t in zip(parts, composite.terms))
    row = {"pl_peak_nm": 540.0, "pl_fwhm_nm": 40.0, "plqy": 0.2}
    assert sum(p.value(row) for p in parts) == pytest.approx(composite.value(row))
    assert [p.name for p in parts] == [t.outcome for t in composite.terms]
    assert all(p.outcomes == (t.outcome,) and p.reached_ranges == {} for p, t in zip(parts, composite.terms))

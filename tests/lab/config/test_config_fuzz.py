"""Property-based fuzzing of the config loaders: any input is accepted or refused with one
ConfigurationError naming the file; nothing else escapes."""

import copy
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.spec import CampaignSpec
from lab.config.lab_toml import LabConfig
from lab.config.files import load_campaign, load_lab, load_toml
from models.errors import ConfigurationError
from models.objectives import make_objective
from models.validation import validate_model

ROOT = Path(__file__).resolve().parents[3]
CAMPAIGN = tomllib.loads((ROOT / "campaigns/examples/cdse-green.toml").read_text())
LAB = tomllib.loads((ROOT / "lab/examples/sim-cdse.toml").read_text())

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["250 degC", "20 uL/min", "5 mM", "-3 s", "1e9 uL", "abc", "10 parsec", "", "nan degC"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _mutate(base, data):
    doc = copy.deepcopy(base)
    paths = list(_paths(doc))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for p in path[:-1]:
                parent = parent[p]
            action = data.draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = data.draw(values)
            elif action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, dict):
                parent[data.draw(st.text(min_size=1, max_size=8))] = data.draw(values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation replaced the container: fine, the document is still fuzzed
    return doc


def _accepted_or_clear(model, doc, source):
    try:
        validated = validate_model(model, doc, source=source)
        if isinstance(validated, CampaignSpec):
            make_objective(validated.objective)
    except ConfigurationError as exc:
        text = str(exc)
        assert "\n" not in text
        assert text.startswith(source) or text.startswith("objective")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_campaign_is_accepted_or_one_clear_error(data):
    _accepted_or_clear(CampaignSpec, _mutate(CAMPAIGN, data), "c.toml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_lab_is_accepted_or_one_clear_error(data):
    _accepted_or_clear(LabConfig, _mutate(LAB, data), "lab.toml")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_toml_files(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "x.toml"
    path.write_bytes(raw)
    for loader in (load_toml, load_campaign, load_lab):
        try:
            loader(path)
        except ConfigurationError as exc:
            assert str(exc).startswith(str(path))

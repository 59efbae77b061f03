"""models.numbers: the one coercion of numbers, with its two contracts."""

import math

import numpy as np
import pytest

from models.numbers import as_float, finite_or_none


@pytest.mark.parametrize(
    "x, as_f, finite",
    [
        (1, 1.0, 1.0),
        ("2.5", 2.5, 2.5),
        (np.float32(0.5), 0.5, 0.5),
        (math.inf, math.inf, None),
        (None, math.nan, None),
        (True, math.nan, None),
        ("abc", math.nan, None),
        ([1.0], math.nan, None),
        (math.nan, math.nan, None),
    ],
)
def test_as_float_keeps_infinities_and_finite_or_none_keeps_only_finite_numbers(x, as_f, finite):
    got = as_float(x)
    assert got == as_f or (math.isnan(got) and math.isnan(as_f))
    assert finite_or_none(x) == finite


def test_json_ready_gives_strict_json_values():
    import json

    torch = pytest.importorskip("torch")
    from models.numbers import json_ready

    value = {
        "a": np.array([1.0, np.nan]),
        2: (np.int64(3), np.bool_(True), math.inf),
        "t": torch.tensor([0.5]),
        "s": "text",
        "n": None,
    }
    ready = json_ready(value)
    assert ready == {"a": [1.0, None], "2": [3, True, None], "t": [0.5], "s": "text", "n": None}
    assert type(ready["2"][0]) is int and type(ready["2"][1]) is bool
    json.dumps(ready, allow_nan=False)

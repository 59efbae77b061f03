"""models.units: a quantity already in the wanted unit is read without pint, to the same float pint gives."""

import pytest

from models.errors import ConfigurationError
from models.units import parse_quantity, registry

UNITS = ("uL", "uL/min", "degC", "delta_degC", "mM", "cm", "mm", "ms", "s", "dimensionless")


@pytest.mark.parametrize("unit", UNITS)
def test_same_unit_reads_as_pint_converts_it(unit):
    ureg = registry()
    for number in (0.0, 0.1, 25.0, 230.0, 310.5, -40.0, 1e-9, 12345.678):
        expected = float(ureg.Quantity(number, ureg.Unit(unit)).to(ureg.Unit(unit)).magnitude)
        assert parse_quantity(f"{number!r} {unit}", unit) == expected


def test_other_units_still_convert_and_refuse():
    assert parse_quantity("10 min", "s") == pytest.approx(600.0)
    assert parse_quantity("1 mL/min", "uL/min") == pytest.approx(1000.0)
    assert parse_quantity("300 K", "degC") == pytest.approx(26.85)
    with pytest.raises(ConfigurationError, match="not convertible to s"):
        parse_quantity("30 mM", "s")
    with pytest.raises(ConfigurationError, match="unknown unit"):
        parse_quantity("30 parsecs_per_fortnight", "s")


def test_one_registry():
    assert registry() is registry()

"""models.materials.MATERIALS is the one list of materials: every per-material table covers exactly it."""

import pytest

from models.errors import QdlabError
from models.materials import _OPTICS, MATERIALS, canonical_material
from models.sizing import _CURVES
from simulators.chemistry.parameters import _FILES, load_params


def test_every_per_material_table_covers_exactly_the_materials():
    sized = {name.split("/")[0] for name in _CURVES}  # "CdSe/jasieniak": another CdSe curve
    assert set(_OPTICS) == sized == set(_FILES) == set(MATERIALS)
    assert [load_params(m).name for m in MATERIALS] == list(MATERIALS)


def test_canonical_material_names_the_known_ones():
    assert [canonical_material(m.upper()) for m in MATERIALS] == list(MATERIALS)
    with pytest.raises(QdlabError, match="choose one of CdSe, PbS, InP, CsPbBr3"):
        canonical_material("ZnS")

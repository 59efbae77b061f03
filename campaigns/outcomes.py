"""``Outcomes``: a soft device that carries an experiment's figures of merit into its event stream."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from devices.signals import SoftValue

__all__ = ["Outcomes", "OUTCOME_KEYS"]

OUTCOME_KEYS = ("abs_peak_nm", "diameter_nm", "pl_peak_nm", "pl_fwhm_nm", "plqy", "yield", "failure", "objective")


class Outcomes(Device):
    """Figures of merit of one measurement; ``failure`` is '' for a good one, else a word (clog, ...)."""

    abs_peak_nm = Cpt(SoftValue, units="nm", kind="hinted")
    diameter_nm = Cpt(SoftValue, units="nm", kind="normal")
    pl_peak_nm = Cpt(SoftValue, units="nm", kind="hinted")
    pl_fwhm_nm = Cpt(SoftValue, units="nm", kind="hinted")
    plqy = Cpt(SoftValue, kind="hinted")
    yield_ = Cpt(SoftValue, kind="normal")  # 'yield' is a Python keyword; renamed in __init__
    failure = Cpt(SoftValue, dtype="string", kind="normal")
    objective = Cpt(SoftValue, kind="hinted")

    def __init__(self, *, name: str = "outcomes", **kwargs):
        super().__init__(name=name, **kwargs)
        self.yield_.name = f"{name}_yield"

    def signal_for(self, key: str):
        return self.yield_ if key == "yield" else getattr(self, key)

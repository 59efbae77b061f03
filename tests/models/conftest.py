"""The models tests run torch as qdlab does: its thread count is the application's
(``lab.run.runtime.configure_numerics``), which the optimisers leave alone."""

import numpy as np
import pytest

from lab.run.runtime import configure_numerics

WL = np.arange(300.0, 800.0, 0.5)  # the wavelengths (nm) of the synthetic spectra
# what figures_of_merit is told besides the spectra, in the analysis tests
FOM_ARGS = dict(
    material="CdSe",
    integration_ms=100.0,
    plqy_reference_counts_per_ms=100.0,
    path_length_cm=1.0,
    limiting_mM=1.0,
)


@pytest.fixture(scope="session", autouse=True)
def numerics_as_qdlab_runs():
    configure_numerics()

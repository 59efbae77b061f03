"""The models tests run torch as qdlab does: its thread count is the application's
(``lab.run.runtime.configure_numerics``), which the optimisers leave alone."""

import pytest

from lab.run.runtime import configure_numerics


@pytest.fixture(scope="session", autouse=True)
def numerics_as_qdlab_runs():
    configure_numerics()

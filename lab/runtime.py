"""Process-wide settings of the application (the library layers leave them alone)."""

from __future__ import annotations

__all__ = ["configure_numerics"]


def configure_numerics(threads: int = 1) -> None:
    """One intra-op thread for torch.

    Our GPs are small: on a 2-core machine that also runs the RunEngine, the simulator and often a
    second campaign, torch's thread pool spends more time contending than computing (a 5-point GP
    fit took 9 s with the default pool under load and 1.5 s with one thread). One thread also makes
    floating-point reductions, and so proposals, repeatable.
    """
    import torch

    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)

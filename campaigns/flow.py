"""The flow arithmetic of a reactor: volumes, flow rates and the times they make (REFERENCE.md section 4).

The one home of these formulas: the plans wait them, preflight and the cost model estimate with them,
and the bench and the records count precursor with them. Plain arithmetic, so floats, numpy arrays and
torch tensors alike (the cost model differentiates through them). Volumes in uL, flows in uL/min,
times in s.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "transit_s",
    "flow_for_transit_ul_min",
    "dispensed_ul",
    "fixed_wait_s",
    "calibration_flush_s",
]


def transit_s(volume_ul: Any, flow_ul_min: Any) -> Any:
    """Time for ``volume_ul`` to pass at ``flow_ul_min`` (plug flow): the residence time of a reactor of
    that volume, or the dead time of a transfer line. Zero flow is the caller's case to handle."""
    return volume_ul / flow_ul_min * 60.0


def flow_for_transit_ul_min(volume_ul: Any, seconds: Any) -> Any:
    """The total flow that passes ``volume_ul`` in ``seconds`` (the inverse of :func:`transit_s`)."""
    return volume_ul / (seconds / 60.0)


def dispensed_ul(flow_ul_min: Any, seconds: Any) -> Any:
    """Volume a pump dispenses running at ``flow_ul_min`` for ``seconds``."""
    return flow_ul_min * seconds / 60.0


def fixed_wait_s(
    total_flow_ul_min: Any, residence_time_s: Any, *, transfer_volume_ul: float, residence_times: float
) -> Any:
    """The fixed steady-state wait: the dead time to the flow cell (transfer volume at the total flow)
    plus ``residence_times`` residence times."""
    return transit_s(transfer_volume_ul, total_flow_ul_min) + residence_times * residence_time_s


def calibration_flush_s(
    reactor_volume_ul: float,
    transfer_volume_ul: float,
    flush_flow_ul_min: float,
    flush_residence_times: float,
) -> float:
    """How long ``campaigns.plans.calibrate`` flushes reactor and transfer line with solvent before the
    dark and reference spectra: at least one full volume, ``flush_residence_times`` when more."""
    return transit_s(reactor_volume_ul + transfer_volume_ul, flush_flow_ul_min) * max(
        1.0, flush_residence_times
    )

"""One reactor behind a queue server: the rig of a lab.toml, and qdlab's plans on it for a campaign.

The RE worker's startup module (:mod:`lab.queue.profile`) makes one :class:`QueueReactor` when its
environment opens. Each plan names the campaign directory it works for; the reactor reads that campaign
(``campaign.toml``, as the agent wrote it) once, gives the rig the campaign's outcomes device and refill
station as ``qdlab run`` does, and sends every document of the plan to the directory's log
(:class:`lab.store.shared_log.SharedDocumentLog`, the same lines ``qdlab run`` writes) and, when the server
was given one, to Tiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from campaigns.conditions import Setpoints
from campaigns.outcomes import outcomes_device
from campaigns.plans import calibrate, experiment, settle_heater
from campaigns.scoring import scalar_value
from devices import RefillStation, WallClock
from lab.config.lab_toml import LabConfig
from lab.run.dynamic import Planner
from lab.run.refill import RefillDesk, refill_mode
from lab.run.rig_builder import BuiltRig, build_rig, flush_flow_ul_min
from lab.store.shared_log import SharedDocumentLog
from models.errors import ConfigurationError

__all__ = ["QueueReactor", "Campaign"]


@dataclass
class Campaign:
    """What a reactor knows of the campaign in ``directory`` while it runs its plans."""

    directory: Path
    spec: Any
    planner: Planner
    log: SharedDocumentLog
    desk: RefillDesk
    sink: Any = None  # the Tiled sink, when the server streams to one


class QueueReactor:
    """The rig built from ``lab`` (``lab_source`` names it in messages), connected, and the campaigns it
    has run plans for. ``seed``: the simulated world's (give the campaign's for a run equal to ``qdlab
    run``'s); ``tiled``: a Tiled server every campaign's documents also go to; ``realtime``: a simulated
    world at wall-clock speed (as ``qdlab run --realtime``)."""

    def __init__(
        self,
        lab: LabConfig,
        *,
        material: str,
        seed: int,
        lab_source: str,
        tiled: str | None = None,
        realtime: bool = False,
    ):
        self.lab = lab
        self.lab_source = lab_source
        self.tiled = tiled
        clock = WallClock() if realtime else None
        self.built: BuiltRig = build_rig(lab, material=material, seed=seed, source=lab_source, clock=clock)
        self.built.claim_ports()
        self.rig = self.built.rig
        self.rig.connect()
        self.campaign: Campaign | None = None

    # -- the plans ----------------------------------------------------------------------------------
    def calibrate(self, directory: str):
        """Flush with solvent and take the dark and reference spectra (as ``qdlab run`` does first)."""
        campaign = self._for(directory)
        yield from calibrate(self.rig, campaign.spec.protocol, flush_flow_ul_min=flush_flow_ul_min(self.lab))

    def experiment(self, directory: str, parameters: dict[str, float], md: dict[str, Any]):
        """One experiment at ``parameters`` as one run whose start document is ``md`` (the agent's decision)."""
        campaign = self._for(directory)
        setpoints: Setpoints = campaign.planner.setpoints(parameters)
        plan = experiment(
            self.rig,
            setpoints,
            campaign.spec.protocol,
            material=campaign.spec.material,
            objective=lambda o: scalar_value(campaign.spec.parsed_objective, o),
            md=md,
        )
        yield from bpp.subs_wrapper(plan, self._subscribers(campaign))

    def settle(self, directory: str, temperature_c: float):
        """Move the heater to ``temperature_c`` and wait until it holds there (the campaign's protocol)."""
        campaign = self._for(directory)
        yield from settle_heater(self.rig, temperature_c, campaign.spec.protocol)

    def make_safe(self):
        """Every pump stopped, the heater at its safe set point (after a stop or an abort)."""
        moves: list[Any] = []
        for pump in self.rig.pumps.values():
            moves += [pump, 0.0]
        yield from bps.mv(*moves)
        yield from bps.abs_set(self.rig.heater, self.rig.heater.limits.safe_temperature_c, wait=False)

    # -- the campaign -------------------------------------------------------------------------------
    def _for(self, directory: str) -> Campaign:
        """The campaign in ``directory``, read once (a new directory closes the previous campaign)."""
        path = Path(directory).resolve()
        if self.campaign is not None and self.campaign.directory == path:
            return self.campaign
        self.close_campaign()
        from lab.config.files import load_campaign

        spec = load_campaign(path / "campaign.toml")
        if spec.protocol.mode == "dynamic":
            raise ConfigurationError("a dynamic campaign is not run through a queue server", source=str(path))
        self.rig.outcomes = outcomes_device(
            (
                *spec.parsed_objective.outcomes,
                *(c["outcome"] for c in spec.outcome_constraints if c.get("outcome")),
            )
        )
        mode = refill_mode(spec.protocol.refill, self.lab, source=str(path / "campaign.toml"))
        desk = RefillDesk(path, self.lab, print)
        self.rig.refills = RefillStation(
            {p.name: p for p in self.rig.pumps.values()}, self.rig.timer.clock, auto=mode == "auto"
        )
        desk.attach(self.rig.refills)
        self.campaign = Campaign(path, spec, Planner(spec, self.lab), SharedDocumentLog(path).open(), desk)
        if self.tiled:
            from lab.store.tiled import TiledSink

            self.campaign.sink = TiledSink(self.tiled, path, spec.id).connect()
        return self.campaign

    def _subscribers(self, campaign: Campaign) -> list:
        return [campaign.log] + ([campaign.sink] if campaign.sink is not None else [])

    def close_campaign(self) -> None:
        if self.campaign is None:
            return
        self.campaign.log.close()
        self.campaign.desk.close()
        if self.campaign.sink is not None:
            self.campaign.sink.close()
        self.campaign = None

    def close(self) -> None:
        self.close_campaign()
        self.built.close()

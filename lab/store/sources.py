"""A campaign as read back for replay and report: its spec, lab table and documents, from a directory or Tiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaigns.spec import CampaignSpec
from lab.config.files import load_campaign, load_toml
from lab.store.records import ExperimentRecord, budget_in_force, completed, experiments_from_documents
from lab.store.log_check import read_log
from lab.store.storage import campaign_dir_problem
from models.errors import ConfigurationError, LogError

__all__ = ["CampaignData", "open_campaign", "open_directory", "spectrometer_wavelengths"]


@dataclass
class CampaignData:
    """Everything the log of one campaign says.

    ``spec``: the campaign as run: campaign.toml's, with the budget in force from the log (a budget that
    ``qdlab resume --budget`` set).
    ``origin``: where it was read from (a directory or a Tiled URI and campaign id), for messages.
    ``lab``: the lab configuration as run, as a TOML table (``{}`` when unknown).
    """

    spec: CampaignSpec
    lab: dict[str, Any]
    documents: list[tuple[str, dict]]
    origin: str
    runs: list[ExperimentRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.runs:
            self.runs = experiments_from_documents(self.documents)
        budget = budget_in_force(self.documents, self.spec.budget)
        if budget != self.spec.budget:
            self.spec = self.spec.model_copy(update={"budget": budget})

    @property
    def records(self) -> list[ExperimentRecord]:
        """Completed experiments, one per index, by index (what the optimiser learnt from)."""
        return completed(self.runs)


def open_directory(directory: Path | str) -> CampaignData:
    """Read a campaign directory (``campaign.toml``, ``lab.toml``, ``documents.jsonl``)."""
    directory = Path(directory)
    problem = campaign_dir_problem(directory)
    if problem:
        raise LogError(problem)
    spec = load_campaign(directory / "campaign.toml", check_outcomes=False)  # a record: read it as it ran
    lab = load_toml(directory / "lab.toml") if (directory / "lab.toml").is_file() else {}
    # checked (lab.store.log_check): one campaign's runs, in order, no experiment missing
    return CampaignData(spec, lab, read_log(directory, campaign_id=spec.id), origin=str(directory))


def open_campaign(
    directory: Path | str | None, *, tiled: str | None = None, campaign_id: str | None = None
) -> CampaignData:
    """A campaign from its directory, or (``tiled`` given) from a Tiled server by campaign id."""
    if tiled:
        from lab.store.tiled import read_tiled

        spec, lab, documents, origin = read_tiled(tiled, campaign_id)
        return CampaignData(spec, lab, documents, origin=origin)
    if campaign_id:
        raise ConfigurationError(
            "--campaign-id reads from Tiled: give --tiled URI too", source="--campaign-id"
        )
    if directory is None:
        raise ConfigurationError("give a campaign directory, or --tiled URI --campaign-id ID", source="DIR")
    return open_directory(directory)


def spectrometer_wavelengths(documents: list[tuple[str, dict]]) -> dict[str, list[float]]:
    """``{"abs": [...], "pl": [...]}`` wavelength axes (nm) from the first primary descriptor that has them."""
    for name, doc in documents:
        if name != "descriptor" or doc.get("name", "primary") != "primary":
            continue
        config = doc.get("configuration", {}).get("spectrometer", {}).get("data", {})
        axes = {kind: config.get(f"spectrometer_{kind}_wavelengths") for kind in ("abs", "pl")}
        if all(axes.values()):
            return {k: list(v) for k, v in axes.items()}
    return {}

"""Reading and writing the TOML files of a campaign: one clear error per bad file, nothing moved."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomli_w

from campaigns.spec import CampaignSpec
from lab.config.lab_toml import LabConfig
from models.errors import ConfigurationError
from models.outcomes import check_outcome_names
from models.validation import MAX_FILE_BYTES, check_nesting, validate_model

__all__ = [
    "load_toml",
    "load_campaign",
    "campaign_from_table",
    "load_lab",
    "dump_campaign",
    "dump_lab",
    "campaign_to_data",
    "lab_to_data",
    "EXAMPLES",
    "file_digest",
]

EXAMPLES = {
    "campaigns": Path(__file__).resolve().parents[2] / "campaigns" / "examples",
    "lab": Path(__file__).resolve().parents[1] / "examples",
}


def file_digest(path: Path | str) -> str:
    """The first 16 hex digits of the file's SHA-256: what the log records of a file a campaign ran with."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigurationError("no such file", source=str(path))
    if path.is_dir():
        raise ConfigurationError("is a directory, expected a TOML file", source=str(path))
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)  # never more than the limit in memory, whatever the file is
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigurationError(
                f"larger than {MAX_FILE_BYTES // 1024} KiB, the most a campaign or lab file may be",
                source=str(path),
            )
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"not valid TOML: {exc}", source=str(path)) from None
    except RecursionError:  # tomllib recurses into nested arrays and inline tables
        raise ConfigurationError("tables and arrays nest too deeply to read", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read: {exc}", source=str(path)) from None
    check_nesting(data, source=str(path))
    return data


def campaign_from_table(
    table: dict[str, Any], source: str, *, outcomes: Sequence[str] | None = None, check_outcomes: bool = True
) -> CampaignSpec:
    """A campaign spec from its TOML table (a file's or one stored in Tiled), objective included.

    With ``check_outcomes``, every outcome the objective (terms, ``reached``) and the outcome
    constraints name must be in ``outcomes``: a user reactor model's declared outcomes, or (None) the
    figures of merit of ``models.outcomes``. Readers of a finished campaign pass ``check_outcomes=False``
    (it may have run with a reactor model of its own names).
    """
    spec = validate_model(CampaignSpec, table, source=source)
    try:
        spec.parsed_objective  # parsed once here, reused by every reader of the spec
        if check_outcomes:
            check_outcome_names(spec.objective, spec.outcome_constraints, known=outcomes)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc), source=source) from None
    return spec


def load_campaign(
    path: Path | str, *, outcomes: Sequence[str] | None = None, check_outcomes: bool = True
) -> CampaignSpec:
    """``campaign.toml`` -> a validated spec (see :func:`campaign_from_table` for ``outcomes``)."""
    return campaign_from_table(load_toml(path), str(path), outcomes=outcomes, check_outcomes=check_outcomes)


def load_lab(path: Path | str) -> LabConfig:
    return validate_model(LabConfig, load_toml(path), source=str(path))


def lab_to_data(lab: LabConfig) -> dict[str, Any]:
    """The lab as TOML data with units written out (what ``lab.toml`` holds)."""
    return lab.model_dump(mode="json", exclude_none=True)


def campaign_to_data(spec: CampaignSpec) -> dict[str, Any]:
    """The resolved campaign as TOML data with units written out (what ``campaign.toml`` holds)."""
    return spec.model_dump(mode="json", exclude_none=True)


def dump_lab(lab: LabConfig, path: Path) -> None:
    path.write_text(tomli_w.dumps(lab_to_data(lab)))


def dump_campaign(spec: CampaignSpec, path: Path) -> None:
    path.write_text(tomli_w.dumps(campaign_to_data(spec)))

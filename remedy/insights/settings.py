"""The thresholds of the risk rules and of `team impact`, from insights.yml (shipped default, or a copy
in REMEDY_CONFIG_DIR), validated at load so a typo is a clear error naming the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from remedy.config import ConfigError
from remedy.yaml_lines import load_config

SETTINGS_FILE = "insights.yml"
Severity = Literal["high", "medium", "low"]
SEVERITY_RANK: dict[str, int] = {"high": 0, "medium": 1, "low": 2}


class InsightSettingsError(ConfigError):
    """insights.yml is unreadable or inconsistent; the message names the file and the field."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlaSettings(_Part):
    near_days: int = Field(ge=0)
    days_by_priority: dict[str, int]


class BlockerSettings(_Part):
    max_days: int = Field(ge=0)


class VendorSettings(_Part):
    labels: tuple[str, ...] = Field(min_length=1)
    response_days: int = Field(ge=0)


class ComplianceSettings(_Part):
    near_days: int = Field(ge=0)
    tolerance: float = Field(ge=0, le=100)
    step: float = Field(gt=0, le=100)


class RingSettings(_Part):
    stuck_hours: float = Field(ge=0)


class CardSettings(_Part):
    stale_hours: float = Field(ge=0)


class SeveritySettings(_Part):
    sla_breached: Severity
    sla_near: Severity
    compliance_near: Severity
    compliance_behind: Severity
    vendor_overdue: Severity
    blocker_old: Severity
    ring_stuck: Severity
    card_stale: Severity


class OverloadSettings(_Part):
    priorities: tuple[str, ...] = Field(min_length=1)
    max_open: int = Field(ge=0)


class InsightSettings(_Part):
    sla: SlaSettings
    blockers: BlockerSettings
    vendor: VendorSettings
    compliance: ComplianceSettings
    rings: RingSettings
    cards: CardSettings
    severity: SeveritySettings
    overload: OverloadSettings

    def sla_days(self, priority: str | None) -> int | None:
        """The SLA in days for a Jira priority (any case), or None when the file names none for it."""
        low = (priority or "").casefold()
        return next((days for name, days in self.sla.days_by_priority.items() if name.casefold() == low), None)


def load_insight_settings(config_dir: Path | None = None) -> InsightSettings:
    """Read insights.yml from ``config_dir`` if present, else the shipped default."""
    return load_config(config_dir, SETTINGS_FILE, InsightSettings, InsightSettingsError)

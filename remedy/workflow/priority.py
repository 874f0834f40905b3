"""Deterministic prioritization: a ticket's facts and the rules in priority.yml → a level (P1..P4),
its points and the reason for each.

Pure: no I/O besides reading the rules file, no clock (``today`` is passed in), no model. The LLM
may word a priority, never choose it; a person may override it (:class:`Override`), and that shows
as an override next to what the rules computed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from remedy.config import ConfigError
from remedy.jira.models import Issue
from remedy.remediation.precheck import open_blockers
from remedy.workflow.template import WorkflowTemplate
from remedy.yaml_lines import load_config

RULES_FILE = "priority.yml"
MAX_CVSS = 10.0  # the CVSS scale's top (FIRST.org spec), not a tunable rule
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b", re.IGNORECASE)
# "CVSS 8.8", "CVSS: 9.8", "CVSS v3.1 8.8", "CVSS score 7.5", "CVSS v3 base score 9.1", label "cvss-8.8"
_CVSS = re.compile(r"\bCVSS(?:\s*v\d(?:\.\d)?)?(?:\s*(?:base\s*)?score)?[\s:=_-]*(\d{1,2}(?:\.\d)?)\b",
                   re.IGNORECASE)


class PriorityRulesError(ConfigError):
    """priority.yml is unreadable or inconsistent; the message names the file and the field."""


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Band(_Rule):
    at_least: float = Field(ge=0)
    points: int


class DueBand(_Rule):
    within_days: int = Field(ge=0)
    points: int


class Level(_Rule):
    name: str = Field(min_length=1)
    min_points: int | None = None


def _descending(bands: Sequence[Band]) -> None:
    if any(a.at_least <= b.at_least for a, b in pairwise(bands)):
        raise ValueError("bands must go from the highest at_least down, each lower than the one before")


class CvssRules(_Rule):
    bands: tuple[Band, ...]
    cve_without_score: int

    @model_validator(mode="after")
    def _order(self) -> CvssRules:
        _descending(self.bands)
        if any(band.at_least > MAX_CVSS for band in self.bands):
            raise ValueError(f"CVSS scores go up to {MAX_CVSS:g}")
        return self


class DueRules(_Rule):
    overdue: int
    bands: tuple[DueBand, ...]

    @model_validator(mode="after")
    def _order(self) -> DueRules:
        days = [band.within_days for band in self.bands]
        if days != sorted(set(days)):
            raise ValueError("bands must go from the fewest within_days up, each more than the one before")
        return self


class ExposureRules(_Rule):
    bands: tuple[Band, ...]

    @model_validator(mode="after")
    def _order(self) -> ExposureRules:
        _descending(self.bands)
        return self


class AgeRules(_Rule):
    every_days: int = Field(gt=0)
    points: int
    max_points: int


class PriorityRules(_Rule):
    cvss: CvssRules
    due: DueRules
    exposure: ExposureRules
    blocked: int
    phases: dict[str, int]
    age: AgeRules
    jira_priority: dict[str, int]
    levels: tuple[Level, ...] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _levels(cls, levels: tuple[Level, ...]) -> tuple[Level, ...]:
        names = [level.name.casefold() for level in levels]
        if len(set(names)) != len(names):
            raise ValueError("level names must be unique")
        *ranked, last = levels
        if last.min_points is not None or any(level.min_points is None for level in ranked):
            raise ValueError("every level but the last needs min_points; the last takes the rest and has none")
        floors = [level.min_points or 0 for level in ranked]
        if floors != sorted(set(floors), reverse=True):
            raise ValueError("levels must go from the highest min_points down")
        return levels

    def level_for(self, points: int) -> str:
        return next(lv.name for lv in self.levels if lv.min_points is None or points >= lv.min_points)

    def rank(self, level: str) -> int:
        """0 for the top level; a level the rules don't know (a Jira name in an override) ranks last."""
        names = [lv.name.casefold() for lv in self.levels]
        low = level.casefold()
        return names.index(low) if low in names else len(names)


def load_priority_rules(config_dir: Path | None = None) -> PriorityRules:
    """Read priority.yml from ``config_dir`` if present, else the shipped default."""
    return load_config(config_dir, RULES_FILE, PriorityRules, PriorityRulesError)


@dataclass(frozen=True)
class PriorityFacts:
    """What the rules look at, and nothing else: two tickets with equal facts score the same."""

    key: str
    summary: str
    cvss: float | None
    cve_ids: tuple[str, ...]
    due: date | None
    behind: int | None  # Macs still below the target version; None: not measured yet
    open_blockers: tuple[str, ...]
    phase: str | None
    created: datetime
    jira_priority: str | None


def cvss_in(texts: Iterable[str]) -> float | None:
    """The highest CVSS score written in ``texts``; the most severe one is what the fleet risks."""
    scores = [float(m.group(1)) for text in texts for m in _CVSS.finditer(text)]
    valid = [s for s in scores if s <= MAX_CVSS]
    return max(valid) if valid else None


def cve_ids_in(texts: Iterable[str]) -> tuple[str, ...]:
    """CVE ids in order of first appearance, upper-cased, each once."""
    return tuple(dict.fromkeys(m.group(0).upper() for text in texts for m in _CVE.finditer(text)))


def facts_for(issue: Issue, behind: int | None, workflow: WorkflowTemplate) -> PriorityFacts:
    texts = [issue.summary, issue.description_text.replace("*", ""), " ".join(issue.labels)]
    phase = workflow.phase_for_status(issue.status)
    return PriorityFacts(
        key=issue.key, summary=issue.summary, cvss=cvss_in(texts), cve_ids=cve_ids_in(texts),
        due=issue.due_date, behind=behind, open_blockers=tuple(open_blockers(issue)),
        phase=phase.name if phase else None, created=issue.created, jira_priority=issue.priority,
    )


@dataclass(frozen=True)
class Part:
    """One reason in a score. ``points`` None: said without points (an unknown, not a zero)."""

    label: str
    points: int | None


@dataclass(frozen=True)
class Score:
    level: str
    points: int
    parts: tuple[Part, ...]


def _band(value: float, bands: Sequence[Band]) -> int:
    return next((band.points for band in bands if value >= band.at_least), 0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _severity(facts: PriorityFacts, rules: CvssRules) -> Part | None:
    if facts.cvss is not None:
        return Part(f"CVE {facts.cvss:.1f}", _band(facts.cvss, rules.bands))
    if facts.cve_ids:
        more = f" and {len(facts.cve_ids) - 1} more" if len(facts.cve_ids) > 1 else ""
        return Part(f"{facts.cve_ids[0]}{more} without a CVSS score", rules.cve_without_score)
    return None


def _exposure(facts: PriorityFacts, rules: ExposureRules) -> Part:
    if facts.behind is None:
        return Part(f"exposure unknown — run `compliance {facts.key}`", None)
    return Part(f"{_plural(facts.behind, 'device')} exposed", _band(facts.behind, rules.bands))


def _due(facts: PriorityFacts, rules: DueRules, today: date) -> Part | None:
    if facts.due is None:
        return None
    left = (facts.due - today).days
    if left < 0:
        return Part(f"SLA overdue by {_plural(-left, 'day')}", rules.overdue)
    label = "SLA due today" if left == 0 else f"SLA in {_plural(left, 'day')}"
    return Part(label, next((band.points for band in rules.bands if left <= band.within_days), 0))


def _lookup(table: dict[str, int], name: str | None) -> int:
    low = (name or "").casefold()
    return next((points for key, points in table.items() if key.casefold() == low), 0)


def _age(facts: PriorityFacts, rules: AgeRules, today: date) -> Part:
    days = max(0, (today - facts.created.date()).days)
    return Part(f"{_plural(days, 'day')} old", min(days // rules.every_days * rules.points, rules.max_points))


def score(facts: PriorityFacts, rules: PriorityRules, today: date) -> Score:
    """The level, total points and the reasons, in a fixed order (severity, exposure, SLA, blockers,
    phase, age, Jira priority). Reasons worth 0 points are left out; unknowns are kept."""
    parts = [
        _severity(facts, rules.cvss),
        _exposure(facts, rules.exposure),
        _due(facts, rules.due, today),
        Part("blocked by " + ", ".join(facts.open_blockers), rules.blocked) if facts.open_blockers else None,
        Part(f"in {facts.phase}", _lookup(rules.phases, facts.phase)) if facts.phase else None,
        _age(facts, rules.age, today),
        Part(f"Jira {facts.jira_priority}", _lookup(rules.jira_priority, facts.jira_priority))
        if facts.jira_priority else None,
    ]
    kept = tuple(p for p in parts if p is not None and p.points != 0)
    total = sum(p.points or 0 for p in kept)
    return Score(rules.level_for(total), total, kept)


def breakdown(result: Score) -> str:
    """'P1: CVE 8.8 (+40), 812 devices exposed (+25), SLA in 2 days (+20)'."""
    shown = [p.label if p.points is None else f"{p.label} ({p.points:+d})" for p in result.parts]
    return f"{result.level}: " + (", ".join(shown) if shown else "nothing raises it")


@dataclass(frozen=True)
class Override:
    """A person's level for a ticket, winning over the computed one until it expires (if ever)."""

    ticket_key: str
    level: str  # P1..P4, or the Jira priority name when the workflow has no level for it
    reason: str | None
    by: str  # who set it, as people know them
    created_at: datetime
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def override_expiry(now: datetime, days: int | None = None, until: date | None = None) -> datetime | None:
    """When an override given `for N days` / `until DATE` ends: N days from now, or the end of that
    day in UTC (the day itself still counts). None: it lasts until the next override."""
    if days is not None:
        return now + timedelta(days=days)
    if until is not None:
        return datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC)
    return None


def current_override(newest_first: Iterable[Override], now: datetime) -> Override | None:
    """The latest override that has not expired (callers pass them newest first)."""
    return next((o for o in newest_first if o.active(now)), None)


@dataclass(frozen=True)
class Ranked:
    facts: PriorityFacts
    score: Score
    override: Override | None = None

    @property
    def level(self) -> str:
        return self.override.level if self.override else self.score.level


def order(ranked: Iterable[Ranked], rules: PriorityRules) -> list[Ranked]:
    """Highest level first (an override's level counts), then most points, nearest due date
    (none last), key: a total order, so any input order gives the same list."""
    def sort_key(item: Ranked) -> tuple[int, int, date, str]:
        return (rules.rank(item.level), -item.score.points, item.facts.due or date.max, item.facts.key)

    return sorted(ranked, key=sort_key)

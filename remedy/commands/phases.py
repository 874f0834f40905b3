"""Remediation phases as users type them → the canonical phase name.

The canonical names match the Jira statuses the workflow template maps to; the workflow module
owns transitions, this one only understands words.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal, get_args

Phase = Literal["To Do", "Investigation", "Plan", "Build & Test", "Pilot", "Rollout", "Verify", "Done"]
PHASES: tuple[Phase, ...] = get_args(Phase)

_ALIASES: dict[str, Phase] = {
    "to do": "To Do", "todo": "To Do", "backlog": "To Do", "open": "To Do", "new": "To Do",
    "investigation": "Investigation", "investigate": "Investigation", "investigating": "Investigation",
    "triage": "Investigation", "research": "Investigation",
    "plan": "Plan", "planning": "Plan", "planned": "Plan",
    "build and test": "Build & Test", "build test": "Build & Test", "build": "Build & Test",
    "building": "Build & Test", "test": "Build & Test", "testing": "Build & Test",
    "build and testing": "Build & Test", "build testing": "Build & Test",
    "pilot": "Pilot", "piloting": "Pilot", "pilot ring": "Pilot",
    "rollout": "Rollout", "roll out": "Rollout", "rolling out": "Rollout",
    "verify": "Verify", "verification": "Verify", "verifying": "Verify", "validation": "Verify",
    "done": "Done", "closed": "Done", "complete": "Done", "completed": "Done", "resolved": "Done",
}

# Statuses people know from stock Jira but that are not remediation phases: answer with the list
# instead of guessing which phase was meant.
NOT_PHASES = frozenset({"in progress", "in review", "review", "blocked", "waiting", "on hold"})

_SEPARATORS = re.compile(r"[\s_/+-]+")


def _normalize(text: str) -> str:
    text = text.casefold().replace("&", " and ")
    return " ".join(_SEPARATORS.sub(" ", text).split())


def find_phase(text: str) -> Phase | None:
    """The canonical phase for `text`, or None."""
    return _ALIASES.get(_normalize(text))


def suggest_phase(text: str) -> Phase | None:
    """The phase a typo most likely meant (`pliot` → Pilot), or None."""
    normal = _normalize(text)
    if normal in NOT_PHASES or len(normal) > 40:
        return None
    match = difflib.get_close_matches(normal, list(_ALIASES), n=1, cutoff=0.6)
    return _ALIASES[match[0]] if match else None

"""What listeners may touch: the queue, the in-memory team directory, a focus lookup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remedy import memory
from remedy.db.models import Draft
from remedy.queue import JobQueue
from remedy.remediation import decisions
from remedy.remediation.decisions import DecisionView
from remedy.services import Services
from remedy.team import Directory
from remedy.tickets.drafts import get_draft


@dataclass
class BotDeps:
    queue: JobQueue
    team: Directory
    focus: Callable[[str], str | None]
    # Read by lazy listeners only (after the ack): the draft a modal is about to edit.
    draft: Callable[[int], Draft | None]
    # The go/no-go card a No-go modal is about (lazy listeners only).
    decision: Callable[[int], DecisionView | None]
    # Refusals at the edge are audited too (lazy listeners only, after the ack).
    audit: Callable[[str, str, str, dict[str, Any]], None]

    @classmethod
    def from_services(cls, svc: Services) -> BotDeps:
        return cls(queue=svc.queue, team=svc.team, focus=lambda user: memory.get_focus(svc.db, user),
                   draft=lambda draft_id: get_draft(svc.db, draft_id),
                   decision=lambda decision_id: decisions.get(svc.db, decision_id),
                   audit=lambda user, action, target, data: _audit(svc, user, action, target, data))


def _audit(svc: Services, user: str, action: str, target: str, data: dict[str, Any]) -> None:
    svc.audit.append(user, action, target, source="slack", data=data)

"""What listeners may touch: the queue, the in-memory team directory, a focus lookup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from remedy import memory
from remedy.db.models import Draft
from remedy.queue import JobQueue
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

    @classmethod
    def from_services(cls, svc: Services) -> BotDeps:
        return cls(queue=svc.queue, team=svc.team, focus=lambda user: memory.get_focus(svc.db, user),
                   draft=lambda draft_id: get_draft(svc.db, draft_id))

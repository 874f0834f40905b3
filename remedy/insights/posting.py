"""Which risks each team channel still has to hear about, and remembering what it was told.

A channel hears of a risk once per fingerprint: a new risk, or one whose evidence changed (posted
as an update, its revision one up). The post's idempotency key is made of the (risk, revision) pairs
it carries, so a retried job, or a second run racing the first, finds the post instead of repeating
it; recording is a conditional upsert on (channel, risk) for the same reason.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from remedy.db.models_insights import PostedRisk
from remedy.db.session import Database
from remedy.insights.model import Risk
from remedy.team.directory import Directory


@dataclass(frozen=True)
class Due:
    channel: str
    risks: list[Risk]  # new or changed, in the order to show
    updates: frozenset[str]  # idents told before with other evidence
    revisions: dict[str, int]  # ident → the revision this post is

    @property
    def idempotency_key(self) -> str:
        told = ",".join(f"{ident}#{n}" for ident, n in sorted(self.revisions.items()))
        return f"risks:{self.channel}:{hashlib.sha256(told.encode()).hexdigest()[:24]}"


def channels_for(risk: Risk, team: Directory, home: str | None) -> list[str]:
    """The Slack channels of the team.yml groups the ticket's assignee is in (member or lead); the home
    channel for a ticket nobody in a group owns."""
    person = next((p for p in team.people if risk.assignee and p.jira_account_id == risk.assignee), None)
    found = []
    if person is not None:
        for group in team.team.groups:
            if group.slack_channel and (person.handle in group.members or group.lead == person.handle):
                found.append(group.slack_channel)
    if not found and home:
        found.append(home)
    return list(dict.fromkeys(found))


def routed(risks: list[Risk], team: Directory, home: str | None) -> dict[str, list[Risk]]:
    by_channel: dict[str, list[Risk]] = defaultdict(list)
    for risk in risks:
        for channel in channels_for(risk, team, home):
            by_channel[channel].append(risk)
    return dict(by_channel)


def plan(db: Database, by_channel: dict[str, list[Risk]]) -> list[Due]:
    due = []
    with db.session() as s:
        for channel, risks in sorted(by_channel.items()):
            rows = {r.risk_id: r for r in s.scalars(select(PostedRisk).where(PostedRisk.channel_id == channel))}
            fresh = [r for r in risks if r.ident not in rows or rows[r.ident].fingerprint != r.fingerprint]
            if not fresh:
                continue
            updates = frozenset(r.ident for r in fresh if r.ident in rows and rows[r.ident].fingerprint)
            revisions = {r.ident: rows[r.ident].revision + 1 if r.ident in rows else 1 for r in fresh}
            due.append(Due(channel, fresh, updates, revisions))
    return due


def record(db: Database, due: Due, message_ts: str, now: datetime) -> None:
    """Remember what ``due`` told; a revision already recorded (a retry, a racing run) is left alone."""
    for risk in due.risks:
        revision = due.revisions[risk.ident]
        values = {"fingerprint": risk.fingerprint, "revision": revision, "severity": risk.severity,
                  "message_ts": message_ts, "posted_at": now, "ticket_key": risk.ticket}
        with db.session() as s:
            moved = s.execute(update(PostedRisk).where(
                PostedRisk.channel_id == due.channel, PostedRisk.risk_id == risk.ident,
                PostedRisk.revision < revision).values(**values))
            if moved.rowcount:  # type: ignore[attr-defined]
                continue
            if s.scalar(select(PostedRisk.id).where(PostedRisk.channel_id == due.channel,
                                                    PostedRisk.risk_id == risk.ident)) is not None:
                continue  # this revision (or a later one) is already recorded
        try:
            with db.session() as s:
                s.add(PostedRisk(channel_id=due.channel, risk_id=risk.ident, **values))
        except IntegrityError:
            pass  # another run recorded it a moment ago


def clear_gone(db: Database, by_channel: dict[str, list[Risk]]) -> int:
    """Forget the fingerprint of risks no longer found, so one that comes back is told again."""
    current = {(channel, r.ident) for channel, risks in by_channel.items() for r in risks}
    cleared = 0
    with db.session() as s:
        for row in s.scalars(select(PostedRisk).where(PostedRisk.fingerprint != "")):
            if (row.channel_id, row.risk_id) not in current:
                row.fingerprint = ""
                cleared += 1
    return cleared

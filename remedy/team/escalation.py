"""Escalation and delegation rules: who gets a ticket, whether its priority goes up, and the two
guards that keep an impatient double send from doing anything twice.

Planning is pure (directory + rules + the ticket's priority in, a plan out) so it is tested without
Slack or Jira. Two pieces need shared state and live here too, because every worker must agree on
them:

* the **repeat window**: an identical request (same ticket, target, requester and reason) within a
  minute is answered "already done" instead of acting again. It is a Redis key claimed with
  WATCH/MULTI, holding the job that claimed it and when (by the services' clock, so the sandbox's
  simulated time counts). A retry of the same job finds its own claim and carries on;
* the **round-robin turn** of a group, kept as rows in the ``action`` table (unique keys, so two
  delegations at once get different turns; the database survives restarts, Redis may not).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import WatchError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from remedy.db.models import Action
from remedy.db.session import Database
from remedy.errors import UserError
from remedy.team.directory import Directory, Group, Person

WINDOW = timedelta(minutes=1)
_CLAIM_TRIES = 5
TURN_KIND = "team.turn"
_TURN_TRIES = 10
# Jira Cloud's default priority scheme, highest first: used only to compare a priority the workflow
# does not map to a level (e.g. "Lowest") with the level an escalation raises to.
_JIRA_DEFAULT = ("highest", "high", "medium", "low", "lowest")


@dataclass(frozen=True)
class Raise:
    level: str  # "P2"
    name: str  # the Jira priority name the workflow maps it to, "High"


@dataclass(frozen=True)
class EscalationPlan:
    escalator: Person
    target: Person
    reason: str | None
    why: str  # how the target was chosen: "named", "your manager", "next in the P1 escalation chain"
    fyi: tuple[Person, ...]  # the escalator's manager chain to notify (target and escalator left out)
    raise_to: Raise | None  # None: the priority stays as it is

    @property
    def override_reason(self) -> str:
        """The reason kept with the priority override (shown by `priorities` and on ticket cards)."""
        return f"escalated to {self.target.name}" + (f": {self.reason}" if self.reason else "")

    def comment(self) -> str:
        """The Jira comment (plain text, converted to ADF by the client)."""
        text = f"Escalated to {self.target.name} by {self.escalator.name}" + (f": {self.reason}" if self.reason else "")
        if self.raise_to is not None:
            text += f"\n\nPriority raised to {self.raise_to.name} ({self.raise_to.level}) by the escalation rules."
        return text + "\n\n— via remedy"


def level_of(priority: str | None, priorities: Mapping[str, str]) -> str | None:
    """The workflow level ("P2") of a Jira priority name ("High"), None if it maps to none."""
    if not priority:
        return None
    return next((lvl for lvl, name in priorities.items() if name.casefold() == priority.casefold()), None)


def priority_raise(raise_to: str | None, priorities: Mapping[str, str], current: str | None) -> Raise | None:
    """What an escalation raises the ticket to: at least ``raise_to``, never lower than it is now."""
    if raise_to is None:
        return None
    if raise_to not in priorities:
        raise UserError(f"team.yml raises escalated tickets to {raise_to}, but workflow.yml maps no {raise_to} "
                        f"(it has {', '.join(sorted(priorities))}); ask a lead to fix one of them.")
    want = Raise(raise_to, priorities[raise_to])
    now = level_of(current, priorities)
    if current is None or (now is not None and now > raise_to):
        return want
    if now is None and current.casefold() in _JIRA_DEFAULT and want.name.casefold() in _JIRA_DEFAULT:
        return want if _JIRA_DEFAULT.index(current.casefold()) > _JIRA_DEFAULT.index(want.name.casefold()) else None
    return None  # already high enough, or a custom priority we can't compare: never risk lowering it


def default_target(team: Directory, escalator: Person, level: str | None) -> tuple[Person, str]:
    """Who `escalate KEY` (no person named) goes to, and why: the chain for the ticket's priority,
    else the rules' default (the escalator's manager, or a fixed person)."""
    rules = team.escalation
    chain = rules.chains.get(level, []) if level else []
    if chain:
        above = chain[chain.index(escalator.handle) + 1:] if escalator.handle in chain else chain
        if not above:
            names = " → ".join(_name(team, h) for h in chain)
            raise UserError(f"You are the last person in the {level} escalation chain ({names}), so there is "
                            "no one above you to escalate to; name a person: `escalate KEY to <person>`.")
        return _person(team, above[0]), f"next in the {level} escalation chain"
    if rules.default == "manager":
        manager = team.manager_of(escalator)
        if manager is None:
            raise UserError("You have no manager in the team directory, so I don't know whom to escalate to; "
                            "name a person: `escalate KEY to <person>`.")
        return manager, "your manager"
    return _person(team, rules.default), "the team's escalation contact"


def plan_escalation(team: Directory, escalator: Person, target: Person, reason: str | None, why: str,
                    current_priority: str | None, priorities: Mapping[str, str]) -> EscalationPlan:
    """Check the target and work out the side effects; raises UserError for a refusal."""
    if target.handle == escalator.handle:
        hint = ""
        if why == "named" and (manager := team.manager_of(escalator)) is not None:
            hint = f" Without a name, `escalate KEY` goes to {manager.name}, your manager."
        raise UserError(f"You can't escalate to yourself.{hint}")
    rules = team.escalation
    chain = team.manager_chain(escalator) if rules.notify_manager_chain else []
    fyi = tuple(p for p in chain if p.handle not in (target.handle, escalator.handle))
    raise_to = priority_raise(rules.raise_priority, priorities, current_priority)
    return EscalationPlan(escalator, target, (reason or "").strip() or None, why, fyi, raise_to)


def _person(team: Directory, handle: str) -> Person:
    person = team.by_handle(handle)
    if person is None:  # load_directory checked every handle; this means the file changed under us
        raise UserError(f"{handle!r} is named in the escalation rules but not in the team directory.")
    return person


def _name(team: Directory, handle: str) -> str:
    person = team.by_handle(handle)
    return person.name if person else handle


# -- delegation --------------------------------------------------------------------------------


def delegate_assignee(team: Directory, group: Group, delegator: Person | None, db: Database,
                      job_id: str) -> tuple[Person, int | None]:
    """Who a ticket delegated to ``group`` is assigned to, and the round-robin turn used (None for
    `assign: lead`). The delegator is skipped in the rotation when anyone else is in the group:
    delegating to a team you are in means "someone else, please"."""
    if group.assign == "lead" and group.lead is not None:
        return _person(team, group.lead), None
    members = team.members(group)
    others = [m for m in members if delegator is None or m.handle != delegator.handle] or members
    turn = take_turn(db, group.name, job_id)
    return others[turn % len(others)], turn


def take_turn(db: Database, group: str, job_id: str) -> int:
    """The round-robin turn of ``job_id`` in ``group``: the one it took on an earlier run (a retried
    job must not move the rotation on), else the next free one. Each turn is a row with a unique key,
    so two delegations at once cannot take the same turn: the loser of the insert tries the next."""
    prefix = f"turn:{group.lower()}:"
    for _ in range(_TURN_TRIES):
        with db.session() as s:
            mine = s.scalar(select(Action.idempotency_key).where(
                Action.kind == TURN_KIND, Action.target == job_id,
                Action.idempotency_key.startswith(prefix, autoescape=True)))
            if mine is not None:
                return int(mine.rsplit(":", 1)[1])
            last = s.scalar(select(Action.idempotency_key)
                            .where(Action.idempotency_key.startswith(prefix, autoescape=True))
                            .order_by(Action.idempotency_key.desc()).limit(1))
        turn = int(last.rsplit(":", 1)[1]) + 1 if last else 0
        try:
            with db.session() as s:  # zero-padded, so the newest turn sorts last
                s.add(Action(idempotency_key=f"{prefix}{turn:09d}", kind=TURN_KIND, target=job_id,
                             status="done", external_id=str(turn)))
            return turn
        except IntegrityError:
            continue
    raise RuntimeError(f"could not take a round-robin turn in {group} after {_TURN_TRIES} tries")


# -- the repeat window -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    job_id: str
    at: datetime

    def dump(self) -> str:
        return json.dumps({"job": self.job_id, "at": self.at.isoformat()})

    @classmethod
    def load(cls, raw: bytes | str | None) -> Claim | None:
        if raw is None:
            return None
        data = json.loads(raw)
        return cls(str(data["job"]), datetime.fromisoformat(data["at"]))


def request_key(action: str, ticket: str, target: str, requester: str, reason: str | None = None) -> str:
    """The Redis key of one request: what, on which ticket, to whom, by whom and why (the reason
    compared without case or extra spaces, so a retyped identical command matches)."""
    words = " ".join((reason or "").casefold().split())
    digest = hashlib.sha256("\x1f".join((target.casefold(), requester, words)).encode()).hexdigest()[:24]
    return f"remedy:{action}:{ticket.upper()}:{digest}"


def claim(redis: Redis, key: str, job_id: str, now: datetime, window: timedelta = WINDOW) -> Claim | None:
    """Claim ``key`` for ``job_id``. Returns the claim of *another* job made less than ``window`` ago
    (the caller then answers "already done"), or None when this job may go ahead."""
    mine = Claim(job_id, now)
    for _ in range(_CLAIM_TRIES):
        with redis.pipeline() as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves watch() unannotated
                held = Claim.load(pipe.get(key))
                if held is not None and held.job_id == job_id:
                    return None  # an earlier run of this very job: carry on
                if held is not None and now - held.at < window:
                    return held
                pipe.multi()
                # Redis expires the key on its own clock; the window itself is judged on `now`.
                pipe.set(key, mine.dump(), ex=max(1, int(window.total_seconds())))
                pipe.execute()
                return None
            except WatchError:
                continue  # someone claimed or released it meanwhile: look again
    raise RuntimeError(f"could not claim {key}")  # not a UserError: RQ retries


def release(redis: Redis, key: str, job_id: str) -> None:
    """Give the claim up (the request was refused, so doing it again must be possible at once);
    only this job's own claim is removed."""
    with redis.pipeline() as pipe:
        try:
            pipe.watch(key)  # type: ignore[no-untyped-call]
            held = Claim.load(pipe.get(key))
            if held is not None and held.job_id == job_id:
                pipe.multi()
                pipe.delete(key)
                pipe.execute()
        except WatchError:
            pass  # changed meanwhile: it is no longer ours to remove

"""Risk rules about rollouts: compliance against the deadline, rings stuck after their soak time, go/no-go
cards nobody decides. Pure, like remedy.insights.risks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta

from remedy.insights.model import Inputs, NextAction, RingWatch, Risk, Rollout, days_between, plural, sla_due
from remedy.insights.settings import InsightSettings
from remedy.slack.mrkdwn import escape
from remedy.tickets.memory import Card

ROLLOUT_NEXT = NextAction("Rollout next", "rollout next")
STRAGGLERS = NextAction("Show stragglers", "exceptions")


def expected_percent(start: tuple[datetime, float], deadline: datetime, target: float, now: datetime) -> float:
    """Where the straight line from ``start`` (when, percent) to ``target`` at ``deadline`` is ``now``."""
    at, percent = start
    span = (deadline - at).total_seconds()
    done = 1.0 if span <= 0 else min(1.0, max(0.0, (now - at).total_seconds() / span))
    return percent + (target - percent) * done


def _deadline_text(days_left: int) -> str:
    if days_left < 0:
        return f"deadline passed {plural(-days_left, 'day')} ago"
    return "deadline today" if days_left == 0 else f"deadline in {plural(days_left, 'day')}"


def compliance_risk(rollout: Rollout, settings: InsightSettings, now: datetime) -> Risk | None:
    """Below target and near the deadline, or behind the straight line to it; None without a deadline
    (nothing to be late for) or without a Mac that has the app (nothing to measure)."""
    issue, count, target = rollout.issue, rollout.count, rollout.target
    due = sla_due(issue, settings)
    if due is None or count.total_with_app == 0:
        return None
    percent = 100.0 * count.compliant / count.total_with_app
    if percent >= target:
        return None
    deadline, source = due
    left = days_between(now, deadline)
    end_of_day = datetime.combine(deadline + timedelta(days=1), time.min, tzinfo=UTC)
    start = rollout.started or (issue.created, 0.0)
    expected = expected_percent(start, end_of_day, target, now)
    near = left <= settings.compliance.near_days
    if not near and percent >= expected - settings.compliance.tolerance:
        return None
    rule = "compliance_near" if near else "compliance_behind"
    missing = 100.0 - percent
    short = max(0, math.ceil(target / 100 * count.total_with_app) - count.compliant)
    head = f"missing {missing:.0f}% of devices, {_deadline_text(left)}"
    if not near:
        head += f" (behind plan: {percent:.0f}% vs {expected:.0f}% expected)"
    evidence = (f"{percent:.1f}% compliant ({count.compliant}/{count.total_with_app} Macs), target {target:g}%: "
                f"{short} Macs to go · due {deadline:%Y-%m-%d} ({escape(source)}) · straight line from "
                f"{start[1]:.0f}% on {start[0]:%Y-%m-%d}: {expected:.0f}% by now")
    action = NextAction(f"Rollout to {rollout.next_ring}", "rollout next") if rollout.next_ring else STRAGGLERS
    numbers = {"percent": round(percent, 1), "missing_percent": round(missing), "compliant": count.compliant,
               "total": count.total_with_app, "target": target, "short_by": short, "days_left": left,
               "due": deadline.isoformat(), "expected_percent": round(expected)}
    step = settings.compliance.step
    return Risk(rule, issue.key, "", getattr(settings.severity, rule), float(left), head, evidence, action, numbers,
                (rule, deadline.isoformat(), math.ceil(missing / step)),
                issue.assignee.account_id if issue.assignee else None)


def compliance_risks(inputs: Inputs, settings: InsightSettings) -> list[Risk]:
    found = (compliance_risk(r, settings, inputs.now) for r in inputs.rollouts)
    return [risk for risk in found if risk is not None]


def ring_risks(inputs: Inputs, settings: InsightSettings) -> list[Risk]:
    """A ring that soaked its time and ``stuck_hours`` more, with a ring after it, and no go/no-go card
    asked for since it started."""
    found = []
    for watch in inputs.rings:
        risk = _stuck(watch, settings, inputs.now)
        if risk is not None:
            found.append(risk)
    return found


def _stuck(watch: RingWatch, settings: InsightSettings, now: datetime) -> Risk | None:
    ring = watch.ring
    if ring.status != "active" or ring.started_at is None or watch.next_label is None:
        return None
    if watch.last_card_at is not None and watch.last_card_at >= ring.started_at:
        return None  # a go/no-go was asked: a pending card is the stale-card rule's business
    hours = (now - ring.started_at).total_seconds() / 3600
    over = hours - ring.soak_hours
    if over <= settings.rings.stuck_hours:
        return None
    head = f"{escape(ring.label)} ring soaked {hours:.0f} h with no go/no-go for {escape(watch.next_label)}"
    evidence = (f"started {ring.started_at:%Y-%m-%d %H:%M} UTC · soak time {ring.soak_hours:g} h · "
                f"{over:.0f} h past it (allowed {settings.rings.stuck_hours:g} h)")
    return Risk("ring_stuck", watch.ticket, ring.name, settings.severity.ring_stuck,
                (settings.rings.stuck_hours - over) / 24, head, evidence, ROLLOUT_NEXT,
                {"ring": ring.label, "hours": round(hours), "soak_hours": ring.soak_hours,
                 "next_ring": watch.next_label},
                (ring.name, ring.started_at.isoformat()))


def card_risks(inputs: Inputs, settings: InsightSettings) -> list[Risk]:
    found = []
    for card in inputs.cards:
        risk = _stale(card, inputs, settings)
        if risk is not None:
            found.append(risk)
    return found


def _stale(card: Card, inputs: Inputs, settings: InsightSettings) -> Risk | None:
    hours = (inputs.now - card.created_at).total_seconds() / 3600
    if hours <= settings.cards.stale_hours:
        return None
    labels = inputs.ring_labels
    ring = " → ".join(escape(labels.get((card.key, n), n)) for n in (card.from_ring, card.to_ring))
    head = f"go/no-go for {ring} waiting {hours:.0f} h for a lead"
    evidence = (f"card asked {card.created_at:%Y-%m-%d %H:%M} UTC by <@{card.requested_by}> · stale after "
                f"{settings.cards.stale_hours:g} h · `rollout next` re-checks the numbers and asks again")
    return Risk("card_stale", card.key, str(card.id), settings.severity.card_stale,
                (settings.cards.stale_hours - hours) / 24, head, evidence,
                NextAction("Re-check go/no-go", "rollout next"),
                {"hours": round(hours), "from_ring": card.from_ring, "to_ring": card.to_ring},
                (card.id,))

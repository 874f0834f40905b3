"""Jobs Jamf webhooks start (bot/jamf_webhook.py): refresh a ticket's compliance when a policy ran
or a ring's group changed, and say once in the ticket's thread when a ring is ready to widen.

Nobody typed a command, so there is no ⏳ to edit: the snapshots are the result, and the only
message is the ring-ready notice in the home channel.
"""

from __future__ import annotations

import logging
from typing import Any

from remedy.queue import Origin
from remedy.remediation import rings, store
from remedy.remediation.measure import record
from remedy.remediation.rings import FleetCounts, RingCount
from remedy.remediation.store import RemediationView
from remedy.slack import blocks, cards
from remedy.slack.mrkdwn import escape
from workers.context import JobContext, job_context

log = logging.getLogger("remedy.jobs")
ACTOR = "jamf-webhook"


def refresh_compliance(origin: dict[str, Any], key: str, **_: Any) -> None:
    """Measure the started rings of ``key`` from Jamf inventory and keep the snapshots (what
    `compliance KEY` shows and trends are drawn from), then announce a ring that became ready."""
    with job_context(origin) as ctx:
        svc = ctx.services
        known = store.load(svc.db, key)
        if known is None or not known.scoped:
            log.info("webhook refresh of %s: no rollout started, nothing to measure", key)
            return
        now = svc.clock()
        counts = rings.count(svc.jamf, known.facts, known.rings, now)
        started = [c for c in counts.rings if c.ring.status != "pending"]
        svc.actions.run_once(ctx.key("snapshot"), "compliance.snapshot", key,
                             do=lambda: record(svc.db, known.facts, counts.fleet, started, now))
        _announce_ready(ctx, known, counts)


def refresh_active(origin: dict[str, Any], **_: Any) -> None:
    """Cron safety net: webhooks refresh at most once a minute per ticket and can be lost, so every
    rollout in progress is also re-measured on a schedule (one refresh job per ticket)."""
    with job_context(origin) as ctx:
        svc = ctx.services
        for key in store.active_tickets(svc.db):
            origin_for = Origin(user_id=ACTOR, source="cron", text=f"refresh compliance {key}")
            svc.queue.enqueue("workers.webhooks.refresh_compliance", {"key": key}, origin_for,
                              description=f"refresh compliance {key}", retry=False)


def ready_line(key: str, ring: RingCount, hours: float) -> str:
    """'✅ Pilot reached 97.8% (44/45), threshold 90%, soaked 26 h — ready for `rollout next CPE-3222`'"""
    r = ring.ring
    return (f"✅ {escape(r.label)} reached {ring.success_rate:.1f}% ({ring.compliant}/{ring.with_app}), "
            f"threshold {r.threshold:g}%, soaked {round(hours, 1):g} h — ready for `rollout next {key}`")


def _announce_ready(ctx: JobContext, known: RemediationView, counts: FleetCounts) -> None:
    """Post the notice once per ring, the first time its rate and soak time are both met; the go/no-go
    card stays a person's call (`rollout next`)."""
    svc, key, active = ctx.services, known.facts.key, known.active
    if active is None or known.next_after(active) is None:
        return  # no ring to widen to
    ring = next((c for c in counts.rings if c.ring.name == active.name), None)
    met, hours = rings.soaked(active, svc.clock())
    if ring is None or not (met and ring.meets_threshold):
        return
    channel = svc.settings.REMEDY_HOME_CHANNEL
    if not channel:
        log.warning("%s %s is ready, but REMEDY_HOME_CHANNEL is unset: no notice posted", key, active.name)
        return
    once = f"ring-ready:{key}:{active.name}"
    text = ready_line(key, ring, hours)

    def status() -> str:  # read only if the ticket has no thread in the channel yet
        issue = svc.jira.get_issue(key)
        return cards.status_line(issue, svc.workflow_for(issue), svc.settings.JIRA_URL)

    def announce() -> str:
        posted = svc.poster.reply(channel, key, status, text, [blocks.section(text)], f"{once}:reply")
        svc.audit.append(ACTOR, "rollout.ring_ready", key, source="jamf", once_key=f"{once}:audit",
                         data={"job": ctx.job_id, "ring": active.name, "rate": round(ring.success_rate, 1),
                               "compliant": ring.compliant, "with_app": ring.with_app,
                               "threshold": active.threshold, "soak_hours": round(hours, 1)})
        return posted.ts

    svc.actions.run_once(once, "rollout.ring_ready", key, do=announce)

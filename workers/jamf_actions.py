"""Jamf jobs that read the fleet: compliance (whole fleet and per ring) and exceptions."""

from __future__ import annotations

from typing import Any

from remedy.errors import UserError
from remedy.parallel import parallel
from remedy.remediation import rings, store
from remedy.remediation.exceptions import PAGE_SIZE, DeviceException, explain, package_mb
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.progress import Progress, compliance_text, keep, measure_early, measured
from remedy.remediation.rings import FleetCounts
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from remedy.updates.chart import compliance_chart, share
from workers.context import JobContext, audit, job_context, thread_reply

# Reads are audited too (who looked at what, when), under "read.*": nothing changed anywhere.
READ_COMPLIANCE, READ_EXCEPTIONS = "read.compliance", "read.exceptions"


def compliance(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy compliance KEY`: devices at the target version now, from Jamf inventory — per ring
    once the rollout started — with the trend since the last measurement; snapshots are kept for
    trends and daily updates, and from the second one on a compliance-over-time chart is attached."""
    with job_context(origin) as ctx:
        svc = ctx.services
        known = store.load(svc.db, key)
        now = svc.clock()
        early = measure_early(svc.jamf, svc.db, known, now)  # Jamf measured while Jira is read
        facts = facts_from_issue(svc.jira.get_issue(key))
        progress = measured(svc.jamf, svc.db, facts, known, now, early)
        snapshot = svc.actions.run_once(ctx.key("snapshot"), "compliance.snapshot", key,
                                        do=lambda: keep(svc.db, progress)).external_id
        line = compliance_text(progress)
        drawn = known.rings if known is not None and progress.by_ring else ()
        posted, chart = parallel([lambda: thread_reply(ctx, key, line, [blocks.section(line)], "compliance"),
                                  lambda: compliance_chart(svc.db, facts, drawn)])
        parallel([lambda: share(svc.poster, posted, chart), lambda: ctx.done(line),
                  lambda: audit(ctx, READ_COMPLIANCE, key, **_read_numbers(progress), snapshot=snapshot)])


def _read_numbers(p: Progress) -> dict[str, Any]:
    return {"target_version": p.facts.target_version, "compliant": p.fleet.compliant,
            "total": p.fleet.total_with_app, "percent": round(p.percent, 1), "failures": p.failures,
            "rings": {r.ring.name: [r.compliant, r.with_app] for r in p.started}}


def exceptions(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy exceptions KEY`: Macs in started rings still behind that failed or are offline, with
    the reason and last check-in, 20 per page (a button shows the next page). The page goes to the
    user and into the ticket's thread."""
    with job_context(origin) as ctx:
        svc = ctx.services
        known = store.load(svc.db, key)
        if known is None or known.policy is None or not known.scoped:
            raise UserError(f"*{key}* has no rollout yet, so no exceptions: `deploy pilot {key}` starts one.")
        policy, page = known.policy, _page(ctx)
        start, now = (page - 1) * PAGE_SIZE, svc.clock()
        # Only the Macs up to this page are kept with their details; the totals count every one.
        counts, package = parallel([
            lambda: rings.count(svc.jamf, known.facts, known.rings, now, ("GENERAL", "APPLICATIONS", "STORAGE"),
                                flagged_upto=start + PAGE_SIZE),
            lambda: svc.jamf.package(policy.package_id)])
        total = counts.flagged_total
        if total and start >= total:
            raise UserError(f"There are only {total} exceptions on *{key}*; that page is past the end.")
        found = counts.flagged[start:start + PAGE_SIZE]
        shown = explain(svc.jamf, found, policy.policy_id, package_mb(package.size), now) if found else []
        _answer_exceptions(ctx, key, page, counts, shown)


def _answer_exceptions(ctx: JobContext, key: str, page: int, counts: FleetCounts,
                       shown: list[DeviceException]) -> None:
    """The page to the user (with a Next button), the same page in the thread, the read audited."""
    total, start = counts.flagged_total, (page - 1) * PAGE_SIZE
    read: dict[str, Any] = {"page": page, "total": total, "failed": counts.flagged_failed,
                            "offline": counts.flagged_offline, "shown": [e.id for e in shown]}
    if not shown:
        waiting = sum(c.waiting for c in counts.rings)
        line = (f"No exceptions on *{key}*: every Mac in the started rings is updated or still due "
                f"({waiting} have not checked in since their ring started).")
        parallel([lambda: thread_reply(ctx, key, f"🧰 {line}", [blocks.section(f"🧰 {line}")], "exceptions"),
                  lambda: audit(ctx, READ_EXCEPTIONS, key, **read), lambda: ctx.done(line)])
        return
    head = (f"🧰 *{key}* exceptions {start + 1}–{start + len(shown)} of {total} "
            f"({counts.flagged_failed} failed, {counts.flagged_offline} offline)")
    listed = [blocks.section(head), *_rows(shown)]
    answer = list(listed)
    if start + len(shown) < total:
        answer.append(blocks.actions([blocks.command_button(f"Next {PAGE_SIZE}", "exceptions", key,
                                                            ref=f"page:{page + 1}")]))
    # The thread's copy has no Next button: pressed there, its answer would replace the thread message.
    parallel([lambda: thread_reply(ctx, key, head, listed, "exceptions"),
              lambda: audit(ctx, READ_EXCEPTIONS, key, **read), lambda: ctx.show(head, answer)])


def _page(ctx: JobContext) -> int:
    ref = str(ctx.origin.extra.get("ref") or "")
    number = ref.removeprefix("page:")
    return int(number) if ref.startswith("page:") and number.isdigit() and int(number) > 0 else 1


def _rows(shown: list[DeviceException]) -> list[dict[str, Any]]:
    lines = []
    for e in shown:
        seen = f"{e.last_contact:%Y-%m-%d %H:%M} UTC" if e.last_contact else "never"
        lines.append(f"• *{escape(e.name)}* (id {e.id}, {escape(e.ring_label)}, {escape(e.version)}): "
                     f"{escape(e.reason)} · last check-in {seen}")
    # Ten rows per section keeps each under Block Kit's 3000 characters.
    return [blocks.section("\n".join(lines[i:i + 10])) for i in range(0, len(lines), 10)]

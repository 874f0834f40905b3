"""Jamf jobs that read the fleet: compliance (whole fleet and per ring) and exceptions."""

from __future__ import annotations

from typing import Any

from remedy.errors import UserError
from remedy.parallel import parallel
from remedy.remediation import rings, store
from remedy.remediation.exceptions import PAGE_SIZE, DeviceException, explain, flagged, package_mb
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.progress import compliance_text, keep, measure_progress
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from remedy.updates.chart import compliance_chart, share
from workers.context import JobContext, job_context, thread_reply


def compliance(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy compliance KEY`: devices at the target version now, from Jamf inventory — per ring
    once the rollout started — with the trend since the last measurement; snapshots are kept for
    trends and daily updates, and from the second one on a compliance-over-time chart is attached."""
    with job_context(origin) as ctx:
        svc = ctx.services
        facts = facts_from_issue(svc.jira.get_issue(key))
        known = store.load(svc.db, key)
        progress = measure_progress(svc.jamf, svc.db, facts, known, svc.clock())
        svc.actions.run_once(ctx.key("snapshot"), "compliance.snapshot", key, do=lambda: keep(svc.db, progress))
        line = compliance_text(progress)
        drawn = known.rings if known is not None and progress.by_ring else ()
        posted, chart = parallel([lambda: thread_reply(ctx, key, line, [blocks.section(line)], "compliance"),
                                  lambda: compliance_chart(svc.db, facts, drawn)])
        parallel([lambda: share(svc.poster, posted, chart), lambda: ctx.done(line)])


def exceptions(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy exceptions KEY`: Macs in started rings still behind that failed or are offline, with
    the reason and last check-in, 20 per page (a button shows the next page)."""
    with job_context(origin) as ctx:
        svc = ctx.services
        known = store.load(svc.db, key)
        if known is None or known.policy is None or not known.scoped:
            raise UserError(f"*{key}* has no rollout yet, so no exceptions: `deploy pilot {key}` starts one.")
        policy, page = known.policy, _page(ctx)
        now = svc.clock()
        counts, package = parallel([
            lambda: rings.count(svc.jamf, known.facts, known.rings, now, ("GENERAL", "APPLICATIONS", "STORAGE")),
            lambda: svc.jamf.package(policy.package_id)])
        found = flagged(counts)
        if not found:
            waiting = sum(c.waiting for c in counts.rings)
            ctx.done(f"No exceptions on *{key}*: every Mac in the started rings is updated or still due "
                     f"({waiting} have not checked in since their ring started).")
            return
        start = (page - 1) * PAGE_SIZE
        if start >= len(found):
            raise UserError(f"There are only {len(found)} exceptions on *{key}*; that page is past the end.")
        shown = explain(svc.jamf, found[start:start + PAGE_SIZE], policy.policy_id, package_mb(package.size), now)
        failed = sum(1 for f in found if f.device.kind == "failed")
        head = (f"🧰 *{key}* exceptions {start + 1}–{start + len(shown)} of {len(found)} "
                f"({failed} failed, {len(found) - failed} offline)")
        blks = [blocks.section(head), *_rows(shown)]
        if start + len(shown) < len(found):
            blks.append(blocks.actions([blocks.command_button(f"Next {PAGE_SIZE}", "exceptions", key,
                                                              ref=f"page:{page + 1}")]))
        ctx.show(head, blks)


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

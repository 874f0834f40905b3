"""`/remedy evidence KEY`: the remediation's evidence pack (a zip with a SHA-256 manifest), shared in the
ticket's thread and attached to the Jira ticket — once each, however often the job runs."""

from __future__ import annotations

from typing import Any

from remedy.evidence.pack import Live, build
from remedy.jamf.errors import JamfNotFound
from remedy.jamf.models import Policy
from remedy.parallel import parallel
from remedy.slack import blocks
from remedy.updates.chart import compliance_chart
from workers.context import JobContext, audit, job_context, thread_reply
from workers.reports import attach_once, report_data


def evidence(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        data = report_data(ctx, key)
        live = _live(ctx, data.known.policy.policy_id if data.known.policy else None,
                     data.known.policy.rollback_policy_id if data.known.policy else None)
        chart = compliance_chart(svc.db, data.known.facts, data.known.rings)
        # The job id keeps the name (and so the Jira attachment and Slack file) stable across retries.
        pack = build(data, live, chart, f"{key}-evidence-{ctx.job_id[:8]}.zip")
        line = (f"🗂️ *Evidence pack for {key}*: {len(data.events)} audit events, {len(data.decisions)} go/no-go "
                f"decisions, {len(data.snapshots)} compliance measurements, {data.exceptions_total} exceptions, "
                f"{len(pack.files)} files with their SHA-256 in `manifest.json` — attached to the Jira ticket "
                f"as `{pack.filename}`")
        posted = thread_reply(ctx, key, line, [blocks.section(line)], "evidence")
        attachment, file_id = parallel([
            lambda: attach_once(ctx, key, pack.filename, pack.content, "application/zip"),
            lambda: svc.poster.upload(posted.channel, posted.thread_ts or posted.ts, pack.filename, pack.content,
                                      f"Evidence pack {key}", ctx.key("upload"), unique_name=True),
        ])
        audit(ctx, "jira.attachment", key, filename=pack.filename, attachment_id=attachment, slack_file=file_id,
              size=len(pack.content), sha256=pack.files)
        ctx.done(f"Evidence pack for *{key}* is in its thread and attached to Jira (`{pack.filename}`, "
                 f"{len(pack.content) // 1024 + 1} KB).")


def _live(ctx: JobContext, install: int | None, rollback: int | None) -> Live:
    jamf = ctx.services.jamf

    def read(ident: int | None) -> Policy | None:
        if ident is None:
            return None
        try:
            return jamf.get_policy(ident)
        except JamfNotFound:
            return None  # deleted in Jamf since: the pack says so by its absence next to the recorded id

    found = parallel([lambda: read(install), lambda: read(rollback)])
    return Live(found[0], found[1])

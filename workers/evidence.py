"""`/remedy evidence KEY`: the remediation's evidence pack (a zip with a SHA-256 manifest), shared in the
ticket's thread and attached to the Jira ticket — once each, however often the job runs."""

from __future__ import annotations

from typing import Any

from remedy.evidence.pack import Live, build
from remedy.jamf.errors import JamfNotFound
from remedy.jamf.models import Policy
from remedy.parallel import parallel
from remedy.remediation import store
from remedy.updates.chart import compliance_chart
from workers.context import JobContext, audit, job_context
from workers.reports import attach_once, report_data, share_in_thread


def evidence(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        data, live = parallel([lambda: report_data(ctx, key), lambda: _live_policies(ctx, key)])
        chart = compliance_chart(svc.db, data.known.facts, data.known.rings)
        # The job id keeps the name (and so the Jira attachment and Slack file) stable across retries.
        pack = build(data, live, chart, f"{key}-evidence-{ctx.job_id[:8]}.zip")
        line = (f"🗂️ *Evidence pack for {key}*: {len(data.events)} audit events, {len(data.decisions)} go/no-go "
                f"decisions, {len(data.snapshots)} compliance measurements, {data.exceptions_total} exceptions, "
                f"{len(pack.files)} files with their SHA-256 in `manifest.json` — attached to the Jira ticket "
                f"as `{pack.filename}`")
        attachment, file_id = parallel([
            lambda: attach_once(ctx, key, pack.filename, pack.content, "application/zip"),
            lambda: share_in_thread(ctx, key, line, "evidence", pack.filename, pack.content, f"Evidence pack {key}")])
        audit(ctx, "jira.attachment", key, filename=pack.filename, attachment_id=attachment, slack_file=file_id,
              size=len(pack.content), sha256=pack.files)
        ctx.done(f"Evidence pack for *{key}* is in its thread and attached to Jira (`{pack.filename}`, "
                 f"{len(pack.content) // 1024 + 1} KB).")


def _live_policies(ctx: JobContext, key: str) -> Live:
    """Both policies as Jamf holds them now, read beside the report's own measurement."""
    known = store.load(ctx.services.db, key)
    policy = known.policy if known is not None else None
    return _live(ctx, policy.policy_id if policy else None, policy.rollback_policy_id if policy else None)


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

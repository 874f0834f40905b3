"""`/remedy audit report KEY`: the remediation's audit document, shared in its thread and attached
to the Jira ticket — once each, however often the job runs."""

from __future__ import annotations

from typing import Any

from remedy.audit import verify
from remedy.parallel import parallel
from remedy.remediation import rings, store
from remedy.remediation.exceptions import EXCEPTION_LIMIT, DeviceException, explain, package_mb
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.report import ReportData, gather_records, markdown
from remedy.remediation.store import RemediationView
from remedy.slack import blocks
from workers.context import JobContext, audit, job_context, thread_reply


def audit_report(origin: dict[str, Any], key: str, **_: Any) -> None:
    with job_context(origin) as ctx:
        data = report_data(ctx, key)
        events, decided, known, total = data.events, data.decisions, data.known, data.exceptions_total
        content = markdown(data).encode("utf-8")
        filename = f"{key}-audit-report-{ctx.job_id}.md"  # the job id keeps the name stable across retries
        line = (f"📄 *Audit report for {key}*: {len(events)} recorded actions, {len(decided)} go/no-go decisions, "
                f"{len(known.rings)} rings, {total} exceptions — attached to the Jira ticket as `{filename}`")
        attachment, file_id = parallel([
            lambda: attach_once(ctx, key, filename, content, "text/markdown"),
            lambda: share_in_thread(ctx, key, line, "audit-report", filename, content, f"Audit report {key}")])
        audit(ctx, "jira.attachment", key, filename=filename, attachment_id=attachment, slack_file=file_id,
              size=len(content))
        ctx.done(f"Audit report for *{key}* is in its thread and attached to Jira (`{filename}`).")


def report_data(ctx: JobContext, key: str) -> ReportData:
    """Everything the audit report and the evidence pack show: stored records, exceptions measured now."""
    svc = ctx.services
    known = store.load(svc.db, key) or RemediationView(facts_from_issue(svc.jira.get_issue(key)), None, ())
    events, decided, snapshots = gather_records(svc.db, key)
    shown, total = _exceptions(ctx, known)
    return ReportData(known, events, decided, snapshots, shown, total, verify(svc.db), svc.clock(),
                      name_of=lambda who: _name(ctx, who))


def _exceptions(ctx: JobContext, known: RemediationView) -> tuple[list[DeviceException], int]:
    svc, policy = ctx.services, known.policy
    if policy is None or not known.scoped:
        return [], 0
    now = svc.clock()
    counts, package = parallel([
        # Only the ones the report explains are kept (failed first, oldest check-in first); totals are exact.
        lambda: rings.count(svc.jamf, known.facts, known.rings, now, ("GENERAL", "APPLICATIONS", "STORAGE"),
                            flagged_upto=EXCEPTION_LIMIT),
        lambda: svc.jamf.package(policy.package_id)])
    shown = explain(svc.jamf, counts.flagged, policy.policy_id, package_mb(package.size), now)
    return shown, counts.flagged_total


def share_in_thread(ctx: JobContext, key: str, line: str, name: str, filename: str, content: bytes,
                    title: str) -> str:
    """``line`` in the ticket's thread with the file under it (once each); the Slack file's id. The Jira
    attachment needs neither, so callers run it beside this."""
    posted = thread_reply(ctx, key, line, [blocks.section(line)], name)
    return ctx.services.poster.upload(posted.channel, posted.thread_ts or posted.ts, filename, content, title,
                                      ctx.key("upload"), unique_name=True)


def attach_once(ctx: JobContext, key: str, filename: str, content: bytes, media_type: str) -> str:
    """Attach the file to the Jira ticket once per job (a rerun finds it by its name); its id."""
    jira = ctx.services.jira

    def find() -> str | None:
        return next((a.id for a in jira.attachments(key) if a.filename == filename), None)

    return ctx.services.actions.run_once(ctx.key("attach"), "jira.attachment", key,
                                         do=lambda: jira.add_attachment(key, filename, content, media_type).id,
                                         recover=find).external_id


def _name(ctx: JobContext, who: str) -> str:
    person = ctx.services.team.by_slack_id(who)
    return person.name if person else who

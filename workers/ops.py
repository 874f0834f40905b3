"""Ops jobs: `jobs`, `retry JOB`, `doctor`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rq.job import Job, JobStatus

from remedy.audit import verify as audit_verify
from remedy.audit.retention import prune
from remedy.doctor import run_checks
from remedy.errors import UserError
from remedy.queue import JobNotFound
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from workers.context import job_context

log = logging.getLogger("remedy.jobs")

_ICON = {JobStatus.QUEUED: "🕓 queued", JobStatus.STARTED: "⏳ running", JobStatus.FINISHED: "✅ done",
         JobStatus.FAILED: "❌ failed", JobStatus.SCHEDULED: "🔁 retrying soon",
         JobStatus.DEFERRED: "🕓 waiting", JobStatus.STOPPED: "⏹ stopped", JobStatus.CANCELED: "⏹ canceled"}


def _age(job: Job) -> str:
    when = job.enqueued_at or job.created_at
    if when is None:
        return ""
    secs = int((datetime.now(UTC) - when.replace(tzinfo=UTC)).total_seconds())
    return f"{secs}s ago" if secs < 120 else f"{secs // 60}m ago" if secs < 7200 else f"{secs // 3600}h ago"


def list_jobs(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy jobs`: this user's recent jobs, with Retry on the failed ones."""
    with job_context(origin) as ctx:
        jobs = [j for j in ctx.services.queue.recent_for(ctx.user, limit=11) if j.id != ctx.job_id][:10]
        if not jobs:
            ctx.done("You have no recent jobs.")
            return
        rows: list[dict[str, Any]] = [blocks.section("*Your recent jobs*")]
        for job in jobs:
            status = job.get_status(refresh=False)
            label = _ICON.get(status, str(status)) if status else "expired"
            if (job.meta or {}).get("refused"):
                label = f"❌ {escape(job.meta['refused'])}"
            line = f"`{job.id}` {escape(job.description or '')} — {label} · {_age(job)}"
            if status == JobStatus.FAILED:
                rows.append({**blocks.section(line), "accessory": blocks.retry_button(job.id)})
            else:
                rows.append(blocks.section(line))
        ctx.show("Your recent jobs", rows)


def retry(origin: dict[str, Any], job_id: str, **_: Any) -> None:
    """`/remedy retry JOB` or the Retry button: put a failed job back on the queue."""
    with job_context(origin) as ctx:
        svc = ctx.services
        try:
            job = svc.queue.fetch(job_id)
        except JobNotFound:
            raise UserError(f"I can't find job `{escape(job_id)}` (jobs are kept 7 days).") from None
        owner = (job.meta or {}).get("user")
        if owner != ctx.user and svc.team.role_of(ctx.user) not in ("lead", "admin"):
            raise UserError("That job is someone else's; only its owner or a lead can retry it.")
        if job.get_status() != JobStatus.FAILED:
            ctx.done(f"Job `{escape(job_id)}` is not failed ({job.get_status()}); nothing to retry.")
            return
        svc.queue.requeue_failed(job_id)
        svc.audit.append(ctx.user, "job.retry", job_id, data={"func": job.func_name},
                         once_key=ctx.key("audit"))
        ctx.done(f"Job `{escape(job_id)}` ({escape(job.description or '')}) is queued again.")


def doctor(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy doctor`: a line per dependency."""
    with job_context(origin) as ctx:
        checks = run_checks(ctx.services)
        bad = sum(c.status == "fail" for c in checks)
        head = "All good." if not bad else f"{bad} problem{'s' if bad > 1 else ''} found."
        text = "\n".join(c.line() for c in checks)
        ctx.show(f"🩺 {head}", [blocks.section(f"🩺 *remedy doctor* — {head}"), blocks.section(text)])


def verify_audit(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> dict[str, Any]:
    """Cron: re-verify the audit chain and raise the alarm in the home channel if it broke."""
    with job_context(origin) as ctx:
        svc = ctx.services
        result = audit_verify(svc.db)
        if not result.ok:
            log.error("audit verify failed: %s", result.describe())
            channel = svc.settings.REMEDY_HOME_CHANNEL
            if channel:
                svc.poster.post_once(channel, f"🚨 {result.describe()}", None, f"audit-alarm:{slot}")
        return {"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq}
    return {}


def prune_audit(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> dict[str, Any]:
    """Cron: apply REMEDY_AUDIT_RETENTION_DAYS (a no-op when unset); a broken chain is not pruned."""
    with job_context(origin) as ctx:
        svc = ctx.services
        result = prune(svc.db, svc.audit, svc.settings.REMEDY_AUDIT_RETENTION_DAYS, svc.clock())
        (log.error if result.refused else log.info)("audit prune: %s", result.message)
        return {"deleted": result.deleted, "through_seq": result.through_seq, "refused": result.refused}
    return {}

"""`/remedy validate package [KEY] [file.pkg | Jamf package name]`: the Build & Test phase's package checks.

The job only reads (Jamf, the distribution point, the ticket) and records the result, so a retried job
answers the same and replaces its own record; the thread reply and the audit event are once per command.
A failed check is a result, not a crash: the job ends ❌ with the lines, and `deploy pilot` refuses to
leave Build & Test until a validation of the policy's package passes (see remedy.packages.records).
"""

from __future__ import annotations

from typing import Any

from remedy.commands.catalog import Role
from remedy.packages import records, validate
from remedy.packages.checks import Validation
from remedy.packages.local import attached_packages
from remedy.packages.source import DistributionPoint
from remedy.parallel import parallel
from remedy.remediation.facts import facts_from_issue
from remedy.services import Services
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from workers.context import JobContext, actor_name, audit, job_context, require_role, thread_reply


def validate_package(origin: dict[str, Any], key: str, package: str | None = None, **_: Any) -> None:
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Validating a package", key)
        svc = ctx.services
        issue, view, attached = parallel([lambda: svc.jira.get_issue(key),
                                          lambda: validate.read_jamf(svc.jamf, svc.db, key),
                                          lambda: attached_packages(svc.jira, key)])
        result = validate.run(facts_from_issue(issue), package, view, distribution_point(svc), svc.clock(), attached)
        records.save(svc.db, result, ctx.user, ctx.job_id)
        _answer(ctx, result)


def distribution_point(svc: Services) -> DistributionPoint | None:
    """Where package files are read from, when the operator said (REMEDY_PACKAGE_SOURCE)."""
    url = svc.settings.REMEDY_PACKAGE_SOURCE
    return DistributionPoint(url, svc.settings.REMEDY_HTTP_TIMEOUT) if url else None


def _answer(ctx: JobContext, result: Validation) -> None:
    key, subject, total = result.key, f"*{escape(result.subject)}*", len(result.checks)
    failed = ", ".join(result.failed)
    verdict = f"all {total} checks pass" if result.passed else f"{len(result.failed)} of {total} checks fail: {failed}"
    thread = f"📦 *{escape(actor_name(ctx))}* validated {subject} for *{key}*: {verdict}\n{result.lines()}"
    answer = (f"Package {subject} for *{key}* passed all {total} checks.\n{result.lines()}" if result.passed else
              f"Package {subject} for *{key}* failed {failed}.\n{result.lines()}")
    package = result.package
    parallel([
        lambda: thread_reply(ctx, key, thread, [blocks.section(thread)], "jamf.package.validate"),
        lambda: audit(ctx, "jamf.package.validate", key, passed=result.passed, failed=list(result.failed),
                      package_id=package.id if package else None, package=result.subject,
                      hash_value=package.hash_value if package else None,
                      checks=[{"name": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks]),
        lambda: ctx.done(answer) if result.passed else ctx.fail(answer),
    ])

"""What every job runs inside: services, the origin, the ⏳ message, user-facing failures.

A job raises :class:`~remedy.errors.UserError` (or a client error that means the same) for
things a retry can't fix: the context turns it into a ❌ line and the job ends. Anything else
propagates so RQ retries it; the final failure is reported by ``workers.failures``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rq import get_current_job

from remedy import memory
from remedy.commands import Command, parse
from remedy.commands.catalog import CATALOG, Role
from remedy.config import ConfigError
from remedy.errors import UserError
from remedy.jamf.errors import JamfAuthError, JamfConflict, JamfForbidden, JamfInvalid, JamfNotFound
from remedy.jira.errors import JiraAuthError, JiraForbidden, JiraInvalid, JiraNotFound
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.queue import Origin
from remedy.services import Services, get_services
from remedy.slack import blocks, cards
from remedy.slack.poster import Posted, SlackPostError

log = logging.getLogger("remedy.jobs")

# Client errors that no retry will cure: the user must change something.
PERMANENT: tuple[type[Exception], ...] = (UserError, JiraNotFound, JiraForbidden, JiraInvalid, JiraAuthError,
                                          JamfNotFound, JamfForbidden, JamfInvalid, JamfConflict, JamfAuthError,
                                          SlackPostError, ConfigError)


@dataclass
class JobContext:
    services: Services
    origin: Origin
    job_id: str

    @property
    def user(self) -> str:
        return self.origin.user_id

    @property
    def channel(self) -> str:
        channel = self.origin.channel_id or self.services.settings.REMEDY_HOME_CHANNEL
        if not channel:
            raise UserError("I don't know which channel to answer in; run the command in a channel.")
        return channel

    def key(self, name: str) -> str:
        """An idempotency key for one side effect of this command (stable across retries)."""
        return f"{self.job_id}:{name}"

    def done(self, text: str) -> None:
        line, blks = blocks.done(text)
        self._respond(line, blks)

    def fail(self, reason: str) -> None:
        """❌ without a Retry button: used for failures a retry would repeat."""
        line, blks = blocks.failed(reason)
        self._respond(line, blks)

    def show(self, text: str, blks: list[dict[str, Any]]) -> None:
        """The job's answer, only to the user, where the ⏳ was."""
        self.services.poster.respond(self.origin.response_url, text, blks, replace=self.origin.replaces_original)

    def _respond(self, line: str, blks: list[dict[str, Any]]) -> None:
        try:
            self.show(line, blks)
        except Exception:  # the ⏳ edit is a courtesy; never let it fail the work itself
            log.warning("could not edit the response message for job %s", self.job_id, exc_info=True)


@contextmanager
def job_context(origin: dict[str, Any]) -> Iterator[JobContext]:
    job = get_current_job()
    ctx = JobContext(get_services(), Origin.from_dict(origin), job.id if job else "inline")
    try:
        _mapped_role(ctx)
        yield ctx
    except PERMANENT as exc:
        log.info("job %s ended for the user: %s", ctx.job_id, exc)
        if job is not None:  # so `jobs` shows it as refused, not as done
            job.meta["refused"] = str(exc)[:300]
            job.save_meta()
        ctx.fail(str(exc))
    finally:
        _seen(ctx, job)


def _seen(ctx: JobContext, job: Any) -> None:
    """After the command: the user was here, and touched the job's ticket (`resume`, `progress`
    and `blocked` read it). Done here, not in the bot, so the ack stays fast; a courtesy, so a
    failure is logged and never fails the job."""
    if ctx.origin.source in ("cron", "webhook"):
        return  # no person was here
    try:
        args = job.kwargs if job is not None else {}
        key = args.get("key") or args.get("ticket")
        memory.mark_seen(ctx.services.db, ctx.user, key if isinstance(key, str) else None, ctx.services.clock())
    except Exception:
        log.warning("could not remember that %s was here (job %s)", ctx.user, ctx.job_id, exc_info=True)


def thread_reply(ctx: JobContext, issue: Issue | str, text: str, blks: list[dict[str, Any]] | None, name: str,
                 once_key: str | None = None) -> Posted:
    """Post a result under the ticket's home thread, once per command (or once per ``once_key``
    when the effect is not tied to one command, e.g. a draft). Given the issue, the thread's
    status line is refreshed from it; given only its key, the last line is kept and the ticket is
    read only if the thread must be created."""
    svc = ctx.services

    def line_for(found: Issue) -> str:
        return cards.status_line(found, svc.workflow_for(found), svc.settings.JIRA_URL)

    if isinstance(issue, str):
        key, status = issue, (lambda: line_for(svc.jira.get_issue(issue)))
        return svc.poster.reply(ctx.channel, key, status, text, blks, once_key or ctx.key(name))
    return svc.poster.reply(ctx.channel, issue.key, line_for(issue), text, blks, once_key or ctx.key(name))


def actor_name(ctx: JobContext) -> str:
    person = ctx.services.team.by_slack_id(ctx.user)
    return person.name if person else f"<@{ctx.user}>"


def jira_comment(ctx: JobContext, key: str, text: str, marker: str) -> str:
    """Comment on the ticket at most once per ``marker``: a run that died around the call finds its
    comment by the marker property before posting again. Returns the comment id."""
    jira = ctx.services.jira
    return ctx.services.actions.run_once(
        marker, "jira.comment", key, do=lambda: jira.add_comment(key, text, marker=marker).id,
        recover=lambda: getattr(jira.find_comment(key, marker), "id", None)).external_id


def audit(ctx: JobContext, action: str, target: str, once_key: str | None = None, **data: Any) -> None:
    """One audit event per command and action (or per ``once_key``), however often the job runs."""
    source = next((name for name in ("jira", "jamf") if action.startswith(f"{name}.")), "slack")
    ctx.services.audit.append(ctx.user, action, target, source=source,
                              data={"job": ctx.job_id, **data},
                              once_key=once_key or ctx.key(f"audit:{action}:{target}"))


def report(ctx: JobContext, issue: Issue | str, line: str, done: str, action: str, *,
           blks: list[dict[str, Any]] | None = None, reply_key: str | None = None, audit_key: str | None = None,
           **data: Any) -> None:
    """The answers to a finished write — a reply in the ticket's thread, the audit event, the ✅ —
    are independent of each other, so they go out side by side."""
    key = issue if isinstance(issue, str) else issue.key
    parallel([
        lambda: thread_reply(ctx, issue, line, blks or [blocks.section(line)], action, once_key=reply_key),
        lambda: audit(ctx, action, key, once_key=audit_key, **data),
        lambda: ctx.done(done),
    ])


def _mapped_role(ctx: JobContext) -> None:
    """A command roles.yml made stricter is checked before its job does anything, whatever the job
    itself checks (a viewer command's job checks nothing of its own)."""
    command = _command_name(ctx.origin.text) if ctx.origin.source not in ("cron", "webhook") else None
    if command is not None and command in ctx.services.team.rules.commands:
        spec, team = CATALOG[command], ctx.services.team
        needed = Role.from_name(team.command_role(command, spec.role.name.lower()))
        require_role(ctx, needed, spec.doing.format(key="").strip() or command, command)


def _command_name(text: str) -> str | None:
    parsed = parse(text) if text else None
    return parsed.name if isinstance(parsed, Command) else None


def require_role(ctx: JobContext, needed: Role, doing: str, target: str) -> None:
    """Defence in depth: the bot checked the role before enqueueing; the job checks again, because
    a job can also come from a retry, a button on an old message, or a forged payload. (A command
    roles.yml makes stricter was already held to that role when the job started: job_context.)"""
    have = Role.from_name(ctx.services.team.role_of(ctx.user))
    if have >= needed:
        return
    audit(ctx, "auth.refused", target, once_key=ctx.key(f"refused:{target}"), needed=needed.name.lower(),
          role=have.name.lower(), doing=doing)
    raise UserError(f"🔒 {doing} needs the *{needed.name.lower()}* role; you are {have.with_article}.")

"""One path for every way a command arrives (slash command, button, console).

parse → authorize → enqueue → answer. Enqueue happens before the answer, so if Redis is
down the user is told at once and nothing is half-done. A command refused for the caller's role is
audited (``command.refused``), as a refused button press is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.deps import BotDeps
from remedy.commands import CATALOG, Command, Help, Role, parse
from remedy.commands.help import usage_line
from remedy.queue import Origin, QueueUnavailable
from remedy.slack import blocks
from remedy.team import Directory

log = logging.getLogger("remedy.bot")

# A command refused at the edge, like "rollout.refused" and "bulk.refused" for buttons; the job's own
# role check (defence in depth) records "auth.refused".
REFUSED = "command.refused"
QUEUE_DOWN = ("⚠️ I can't reach my job queue (Redis) right now, so I did nothing. "
              "Try again in a minute; if it keeps happening, ask an admin to run `remedy doctor`.")


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    job_id: str | None = None
    refused: bool = False  # not understood, not allowed, not available, or the queue is down


def _parse(deps: BotDeps, text: str, user: str) -> Command | Help:
    parsed = parse(text)
    if isinstance(parsed, Help) and parsed.needs_focus:
        # Only now pay for the focus lookup: most commands name their ticket.
        parsed = parse(text, focus=deps.focus(user))
    return parsed


def _forbidden(cmd: Command, role: Role, needed: Role) -> Reply:
    need = needed.name.lower()
    text = (f"🔒 `{cmd.name}` needs the *{need}* role; you are {role.with_article}. "
            "A lead can add you to the team directory (team.yml).")
    return Reply(text, [blocks.section(text)], refused=True)


def _refused(deps: BotDeps, cmd: Command, role: Role, needed: Role, origin: Origin) -> Reply:
    """The refusal, audited as a refused button press is (with the fields a job's refusal records).
    Nothing is enqueued on this path, so the audit row is its one write (the DB, as for any audit);
    a failed write is logged and never costs the user the answer."""
    try:
        deps.audit(origin.user_id, REFUSED, cmd.key or cmd.name,
                   {"doing": cmd.describe() or f"`{cmd.name}`", "needed": needed.name.lower(),
                    "role": role.name.lower(), "command": cmd.name, "source": origin.source, "why": "role"})
    except Exception:
        log.warning("could not audit the refusal of %r for %s", cmd.name, origin.user_id, exc_info=True)
    return _forbidden(cmd, role, needed)


def _not_yet(cmd: Command) -> Reply:
    text = (f"🚧 `{cmd.name}` is understood but not available yet in this version of remedy. "
            f"It will work as: {usage_line(CATALOG[cmd.name])}")
    return Reply(text, [blocks.section(text)], refused=True)


def needed_role(team: Directory, cmd: Command) -> Role:
    """The catalog's role for the command, or the stricter one roles.yml asks for."""
    return Role.from_name(team.command_role(cmd.name, cmd.needs().name.lower()))


def handle(deps: BotDeps, text: str, origin: Origin) -> Reply:
    """Turn one command text into an answer for Slack, enqueueing its job if it has one."""
    return run(deps, _parse(deps, text, origin.user_id), origin)


def run(deps: BotDeps, parsed: Command | Help, origin: Origin) -> Reply:
    """Authorize and enqueue an already parsed command (buttons and modals build theirs)."""
    if isinstance(parsed, Help):
        return Reply(parsed.text, parsed.blocks(), refused=parsed.is_error)
    role = Role.from_name(deps.team.role_of(origin.user_id))
    needed = needed_role(deps.team, parsed)
    if role < needed:
        return _refused(deps, parsed, role, needed, origin)
    func = parsed.job()
    if func is None:
        return _not_yet(parsed)
    try:
        job = deps.queue.enqueue(func, parsed.args(), origin, description=parsed.text())
    except QueueUnavailable as exc:
        log.error("enqueue of %r for %s failed: %s", parsed.text(), origin.user_id, exc)
        return Reply(QUEUE_DOWN, [blocks.section(QUEUE_DOWN)], refused=True)
    line = f"⏳ {parsed.describe()}… (job `{job.id}`)"
    return Reply(line, [blocks.section(line)], job.id)

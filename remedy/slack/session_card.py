"""Work-session messages: the checklist (edited in place as actions get done), the next action with
its button, the end-of-session confirmation of stakeholder updates, and the closed session.

Every outside text (ticket summaries, labels, drafted updates) is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from remedy.commands.timespec import format_minutes
from remedy.sessions.plan import Item
from remedy.sessions.updates import Update
from remedy.slack import blocks
from remedy.slack.blocks import CMD_ACTION_PREFIX, Block
from remedy.slack.mrkdwn import BLOCKS_MAX, SECTION_TEXT_MAX, escape, truncate

NO_SESSION = ("ℹ️ You have no work session open. Start one with `start session 2h` (or `90m`, `1h30m`): "
              "I plan your tickets in priority order to fit the time, and `next` walks you through them.")
QUOTE_MAX = 700
_LINE_BLOCKS = BLOCKS_MAX - 8  # room for the header, context lines and buttons


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, math.ceil((end - start).total_seconds() / 60))


def time_left(ends: datetime, now: datetime) -> str:
    if now < ends:
        return f"{format_minutes(max(1, minutes_between(now, ends)))} left"
    return f"time's up ({format_minutes(max(1, minutes_between(ends, now)))} over)"


def _line(n: int, item: Item) -> str:
    how = f" `{escape(item.command)}`" if item.command and item.command.casefold() != item.label.casefold() else ""
    text = f"{n}. *{escape(item.key)}* {escape(item.label)}{how} · {item.minutes} min"
    return f"✅ ~{text}~" if item.done else f"⬜ {text}"


def _skipped(skipped: Sequence[Item]) -> list[Block]:
    if not skipped:
        return []
    names = ", ".join(f"{escape(i.key)} {escape(i.label)} ({i.minutes} min)" for i in skipped)
    return [blocks.context(truncate(f"Didn't fit in the time box: {names}", SECTION_TEXT_MAX))]


def _progress(items: Sequence[Item], started: datetime, ends: datetime, now: datetime) -> str:
    done = sum(1 for i in items if i.done)
    planned = sum(i.minutes for i in items)
    box = minutes_between(started, ends)
    return (f"*{done}/{len(items)} done* · {time_left(ends, now)} · planned {planned} min of "
            f"{format_minutes(box)} · ends {ends:%H:%M} UTC")


def checklist(items: Sequence[Item], skipped: Sequence[Item], started: datetime, ends: datetime,
              now: datetime) -> tuple[str, list[Block]]:
    """The open session: the plan with ✅ / ⬜, progress, time left, Next and Complete buttons."""
    box = format_minutes(minutes_between(started, ends))
    title = f"🗓 Work session · {box}"
    lines = [_line(n, item) for n, item in enumerate(items, 1)] or [
        "Nothing to plan: no open ticket of yours has a step I can track. `priorities` shows your queue."]
    body = [blocks.header(title), blocks.section(_progress(items, started, ends, now)),
            *blocks.packed_sections(lines, _LINE_BLOCKS),
            *_skipped(skipped),
            blocks.actions([blocks.command_button("Next", "next", None, style="primary"),
                            blocks.command_button("Complete session", "complete session", None)])]
    done = sum(1 for i in items if i.done)
    return f"{title}: {done}/{len(items)} done, {time_left(ends, now)}", body


def next_line(item: Item, position: int, total: int, ends: datetime, now: datetime) -> str:
    return (f"➡️ *Next* ({position}/{total}): *{escape(item.key)}* {escape(item.label)} · {item.minutes} min "
            f"· {time_left(ends, now)}")


def next_card(item: Item, position: int, total: int, ends: datetime, now: datetime) -> tuple[str, list[Block]]:
    """The next open action with a button that runs its command about its ticket."""
    line = next_line(item, position, total, ends, now)
    run = blocks.command_button(truncate(item.label, 75), item.command, item.key, style="primary")
    body = [blocks.section(line), blocks.actions([run]),
            blocks.context(f"Runs `{escape(item.command)}` on {escape(item.key)}; it is checked off when it's done.")]
    return f"Next: {item.key} {item.label}", body


def _quote(text: str) -> str:
    return "\n".join("> " + escape(line) for line in truncate(text, QUOTE_MAX).splitlines() or [""])


def _summary_block(summary: str) -> Block:
    return blocks.section(truncate(escape(summary), SECTION_TEXT_MAX))


def confirm(session_id: int, summary: str, updates: Sequence[Update]) -> tuple[str, list[Block]]:
    """What the session changed, and the updates that "Post all" will post (each exactly once)."""
    title = "✅ Work session complete"
    body = [blocks.header(title), _summary_block(summary)]
    if not updates:
        body.append(blocks.context("No ticket changed, so there are no stakeholder updates to post."))
        return title, body
    body.append(blocks.section(f"*Stakeholder updates* ({len(updates)}): a Jira comment and a thread post per "
                               "ticket. Nothing is posted until you press *Post all*."))
    for u in updates[:_LINE_BLOCKS // 2]:
        body.append(blocks.section(truncate(f"*{escape(u.key)}* · Jira comment:\n{_quote(u.comment)}\n"
                                            f"Thread post:\n{_quote(u.thread)}", SECTION_TEXT_MAX)))
    post = blocks.command_button("Post all", "complete session", None, ref=f"post:{session_id}", style="primary")
    cancel = blocks.command_button("Cancel", "complete session", None, ref=f"cancel:{session_id}")
    # Both run `complete session`; Slack wants distinct action ids within a block.
    post["action_id"] = f"{CMD_ACTION_PREFIX}:complete session:post"
    cancel["action_id"] = f"{CMD_ACTION_PREFIX}:complete session:cancel"
    body.append(blocks.actions([post, cancel]))
    return title, body


def closed(items: Sequence[Item], summary: str, status: str, note: str = "") -> tuple[str, list[Block]]:
    """What the checklist becomes once the session is over."""
    title = "✅ Work session complete" if status == "completed" else "⌛ Work session expired"
    lines = [_line(n, item) for n, item in enumerate(items, 1)]
    body = [blocks.header(title), _summary_block(summary), *blocks.packed_sections(lines, _LINE_BLOCKS)]
    if note:
        body.append(blocks.context(note))
    return f"{title}: {summary.splitlines()[0]}", body

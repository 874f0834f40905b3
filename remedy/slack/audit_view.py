"""The `audit trail` answer: one line per event (when, who, what, where — with a link to the Jira ticket
or Jamf policy it touched), a page at a time with Previous/Next buttons that keep the same range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from remedy.audit.phrases import doing, where
from remedy.audit.trail import PAGE_SIZE, TrailPage
from remedy.memory import Event
from remedy.slack import blocks
from remedy.slack.cards import browse_url
from remedy.slack.mrkdwn import escape

Block = dict[str, Any]
_MAX_SECTIONS = 8  # 15 lines of < 300 characters fit in far fewer; the cap only guards odd data


def _link(event: Event, jira_url: str | None, jamf_url: str | None) -> str:
    place = where(event.action)
    policy = event.data.get("policy_id")
    if place == "Jamf" and jamf_url and isinstance(policy, int):
        return f"<{jamf_url.rstrip('/')}/policies.html?id={policy}|Jamf>"
    url = browse_url(jira_url, event.target) if "Jira" in place and event.target else None
    return f"<{url}|{place}>" if url else place


def _line(event: Event, tz: ZoneInfo, name_of: Callable[[str], str], links: tuple[str | None, str | None],
          with_key: bool) -> str:
    when = event.ts.astimezone(tz)
    ticket = f"*{escape(event.target)}* " if with_key and event.target else ""
    return (f"`{when:%a %d %b %H:%M}` {ticket}*{escape(name_of(event.actor))}* {doing(event)} · "
            f"_{_link(event, *links)}_")


def _title(trail: TrailPage, tz: ZoneInfo) -> str:
    subject = f"*{trail.key}*" if trail.key else "all tickets"
    since = f" since {trail.since.astimezone(tz):%a %d %b %Y %H:%M}" if trail.since else ""
    first = (trail.page - 1) * PAGE_SIZE + 1
    shown = f"events {first}–{first + len(trail.events) - 1} of {trail.total}"
    pages = f" · page {trail.page} of {trail.pages}" if trail.pages > 1 else ""
    return f"🧾 Audit trail of {subject}{since} ({tz.key}): {shown}{pages}"


def _pager(trail: TrailPage, tz: ZoneInfo) -> list[Block]:
    words = ["audit trail"] + ([] if trail.key else ["all"])
    if trail.since is not None:  # pinned as a moment, so "since mon" means the same Monday on every page
        words.append(f"since {trail.since.astimezone(tz):%Y-%m-%d %H:%M}")
    command = " ".join(words)
    buttons = [blocks.command_button(label, command, trail.key, ref=f"page:{page}:upto:{trail.upto}")
               for label, page, show in (("◀ Previous", trail.page - 1, trail.page > 1),
                                         ("Next ▶", trail.page + 1, trail.page < trail.pages)) if show]
    return [blocks.actions(buttons)] if buttons else []


def trail_blocks(trail: TrailPage, tz: str, name_of: Callable[[str], str], jira_url: str | None,
                 jamf_url: str | None) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one page; times shown in ``tz``."""
    zone = ZoneInfo(tz)
    title = _title(trail, zone)
    lines = [_line(e, zone, name_of, (jira_url, jamf_url), trail.key is None) for e in trail.events]
    footer = blocks.context("Oldest first. Every line is a hash-chained audit event: "
                            "`remedy audit verify` proves none was edited, deleted or reordered.")
    return title, [*blocks.packed_sections(lines, _MAX_SECTIONS, title), footer, *_pager(trail, zone)]

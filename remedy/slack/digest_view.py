"""The digest message: a header, then a section per active remediation — phase, compliance X/Y (Z%)
with its trend arrow against the ticket's previous update, the active ring and its success rate, the
risk flags, the next step — all read from the daily-update facts (remedy.updates.daily), never
recomputed here.

With more remediations than a message has blocks for, the sections are packed several to a block
(the text stays whole); nothing is cut silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import BLOCKS_MAX, SECTION_TEXT_MAX, escape

_FIXED_BLOCKS = 3  # header, context, closing context


@dataclass(frozen=True)
class Item:
    """One remediation in a digest: its daily-update facts, or why it could not be measured."""

    key: str
    summary: str
    url: str | None
    facts: dict[str, Any] | None
    error: str | None = None


def trend(facts: dict[str, Any]) -> str:
    """▲ +12 / ▼ −3 / → against the previous update; "new" when there is nothing to compare with."""
    change = facts.get("change")
    if change is None:
        return "(no trend yet)"
    delta = int(change["delta"])
    if delta > 0:
        return f"▲ +{delta}"
    if delta < 0:
        return f"▼ −{-delta}"
    return "→ no change"


def current_ring(facts: dict[str, Any]) -> dict[str, Any] | None:
    """The ring in progress (else the last one started): the one whose success rate matters today."""
    started: list[dict[str, Any]] = facts.get("rings") or []
    active = [r for r in started if r["status"] == "active"]
    chosen = active or started
    return chosen[-1] if chosen else None


def risk_flags(facts: dict[str, Any]) -> list[str]:
    flags = []
    open_ = [b for b in facts.get("blockers", []) if b["open"]]
    if open_:
        flags.append("⛔ blocked by " + ", ".join(f"{b['key']} ({escape(b['status'])})" for b in open_))
    for r in facts.get("rings", []):
        if r["with_app"] and not r["meets_threshold"]:
            flags.append(f"📉 {escape(r['label'])} {r['rate']:.1f}% < {r['threshold']:g}%")
    failures = sum(int(r["failures"]) for r in facts.get("rings", []))
    if failures:
        flags.append(f"❗ {failures} install failure{'s' if failures != 1 else ''}")
    flags += [f"🛑 {d['decision']} for {escape(d['ring'])} by {escape(d['by'])}"
              for d in facts.get("decisions", []) if d["decision"] in ("No-go", "Hold")]
    return flags


def item_text(item: Item) -> str:
    key = f"<{item.url}|{item.key}>" if item.url else item.key
    head = f"*{key}* {escape(item.summary)}"
    f = item.facts
    if f is None:
        return f"{head}\n❌ not measured: {escape(item.error or 'unknown error')}"
    c = f["compliance"]
    line = (f"*{escape(f['phase'])}* · day {f['phase_day']} · compliance {c['compliant']}/{c['macs_with_app']} "
            f"({c['percent']:.1f}%) {trend(f)}")
    ring = current_ring(f)
    if ring is not None:
        mark = "✅" if ring["meets_threshold"] else "⏳"
        line += (f" · {escape(ring['label'])} ring {ring['rate']:.1f}% ({ring['compliant']}/{ring['with_app']}) "
                 f"{mark} ≥ {ring['threshold']:g}%")
    lines = [head, line]
    flags = risk_flags(f)
    if flags:
        lines.append("⚠️ " + " · ".join(flags))
    if f.get("unchanged"):
        lines.append(f"💤 no change since {escape(str(f['unchanged_since']))}")
    else:
        lines.append(f"Next: {escape(f['next'])}")
    return "\n".join(lines)


def digest_blocks(title: str, subtitle: str, items: Sequence[Item]) -> list[Block]:
    """The message's blocks: one section per item while they fit in Slack's 50, packed beyond."""
    out = [blocks.header(title), blocks.context(subtitle)]
    if not items:
        out.append(blocks.section("🩺 No active remediations: nothing has a Jamf policy or a ring in progress."))
        return out
    texts = [item_text(i) for i in items]
    room = BLOCKS_MAX - _FIXED_BLOCKS
    if len(texts) <= room:
        out += [blocks.section(t) for t in texts]
    else:
        out += _packed(texts)
    out.append(blocks.context("Each remediation's daily update is in the thread · trends are against its "
                              "previous update · `compliance KEY` measures one now"))
    return out


def _packed(texts: list[str]) -> list[Block]:
    chunks: list[str] = []
    for text in texts:
        if chunks and len(chunks[-1]) + 2 + len(text) <= SECTION_TEXT_MAX:
            chunks[-1] += "\n\n" + text
        else:
            chunks.append(text)
    return [blocks.section(c) for c in chunks]


def fallback_text(title: str, items: Sequence[Item]) -> str:
    """The notification text: what a phone shows before the blocks."""
    n = len(items)
    return f"{title}: {n} active remediation{'s' if n != 1 else ''}"

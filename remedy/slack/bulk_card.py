"""The confirmation card of a bulk write, and what it becomes: progress ("9/14 posted…"), the result
("12 posted, 2 failed: … retry?") or "cancelled". One message throughout, edited with chat.update.

Buttons carry only the operation id; the job reads the operation, so a forged or stale value can at
most name an operation that says no.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import escape, truncate

BULK_ACTION = "remedy_bulk"  # action ids are f"{BULK_ACTION}:{choice}"
CHOICES = ("confirm", "cancel", "retry")
LIST_MAX = 40  # tickets listed on a card; the rest are counted
_VERBS = {"comment": ("Post to", "posted", "post"), "close": ("Close", "closed", "close")}


def _button(label: str, choice: str, op_id: int, style: str | None = None) -> Block:
    btn: Block = {"type": "button", "text": {"type": "plain_text", "text": label},
                  "action_id": f"{BULK_ACTION}:{choice}", "value": json.dumps({"op": op_id}, separators=(",", ":"))}
    if style:
        btn["style"] = style
    return btn


def question(kind: str, count: int) -> str:
    ask = _VERBS[kind][0]
    return f"{ask} {count} ticket{'s' if count != 1 else ''}?"


def _listed(lines: Sequence[str]) -> list[Block]:
    shown = list(lines[:LIST_MAX])
    if len(lines) > LIST_MAX:
        shown.append(f"…and {len(lines) - LIST_MAX} more")
    return blocks.packed_sections(shown, 6)


def confirm_card(op_id: int, kind: str, lines: Sequence[str], requested_by: str, scope: str,
                 body: str | None = None, lead_only: bool = False) -> tuple[str, list[Block]]:
    """"Post to 14 tickets?" with the list, the comment, and Confirm / Cancel."""
    title = f"📦 {question(kind, len(lines))}"
    head = [blocks.section(f"*{escape(title)}* ({escape(scope)})")]
    if body is not None:
        quoted = "\n".join("> " + escape(line) for line in truncate(body, 1500).splitlines() or [""])
        head.append(blocks.section(f"The comment (`{{assignee}}`, `{{phase}}`, `{{compliance}}` are filled per "
                                   f"ticket):\n{quoted}"))
    who = "a lead (it is a large batch)" if lead_only else f"<@{requested_by}> or a lead"
    tail = [blocks.context(f"Requested by <@{requested_by}> · nothing is written until {who} confirms"),
            blocks.actions([_button("Confirm", "confirm", op_id, "primary"), _button("Cancel", "cancel", op_id)])]
    return title, [*head, *_listed(lines), *tail]


def progress(kind: str, done: int, total: int) -> tuple[str, list[Block]]:
    line = f"⏳ {done}/{total} {_VERBS[kind][1]}…"
    return line, [blocks.section(line)]


def failure_list(failed: Sequence[tuple[str, str]]) -> str:
    """"CPE-1 (403), CPE-2 (404)" — the code says what a person must fix (403: permission)."""
    return ", ".join(f"{key} ({code})" for key, code in failed)


def result(kind: str, op_id: int, ok: int, failed: Sequence[tuple[str, str]], user: str,
           reasons: Sequence[str] = ()) -> tuple[str, list[Block]]:
    verb = _VERBS[kind][1]
    if not failed:
        line = f"✅ {ok} {verb} (confirmed by <@{user}>)."
        return line, [blocks.section(line)]
    line = f"⚠️ {ok} {verb}, {len(failed)} failed: {failure_list(failed)}, retry?"
    body: list[Block] = [blocks.section(truncate(line, 2900))]
    if reasons:
        body.append(blocks.context(truncate("; ".join(escape(r) for r in reasons), 2900)))
    body.append(blocks.actions([_button(f"Retry {len(failed)} failed", "retry", op_id, "primary")]))
    return line, body


def cancelled(kind: str, user: str) -> tuple[str, list[Block]]:
    line = f"✖️ Cancelled by <@{user}>: nothing was {_VERBS[kind][1]}."
    return line, [blocks.section(line)]


def table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> list[str]:
    """Monospace rows (for a ``` block): cells cut to their width so the columns line up."""
    def row(cells: Sequence[str]) -> str:
        cut = (truncate(c.replace("`", "'"), w).ljust(w) for c, w in zip(cells, widths, strict=True))
        return escape("  ".join(cut).rstrip())
    return [row(header), *(row(r) for r in rows)]


def code_sections(title: str, lines: Sequence[str], max_sections: int = 20) -> list[Block]:
    """``title`` then ``lines`` in code blocks within Slack's 3000 characters per section."""
    out: list[Block] = [blocks.section(title)]
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            out.append(blocks.section("```" + "\n".join(chunk) + "```"))
            chunk = []
        chunk.append(line)
    if chunk:
        out.append(blocks.section("```" + "\n".join(chunk) + "```"))
    if len(out) > max_sections:
        out = [*out[: max_sections - 1], blocks.section(f"…{len(out) - max_sections + 1} more sections in the files")]
    return out


def press_value(body: dict[str, Any]) -> tuple[int, str] | None:
    """(operation id, choice) from a block_actions payload, or None when it is malformed."""
    try:
        action = body["actions"][0]
        choice = str(action["action_id"]).split(":", 1)[1]
        op_id = int(json.loads(action.get("value") or "{}")["op"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return (op_id, choice) if choice in CHOICES else None

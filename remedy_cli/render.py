"""Show Slack messages in a terminal the way a person would read them in Slack."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

from remedy.slack.mrkdwn import unescape

_LINK = re.compile(r"<(?:https?://[^|>]+\|)?([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^>|]+)>")


def mrkdwn_to_text(text: str) -> str:
    """Drop Slack link syntax (keep the label) and undo escaping; keep *bold* marks readable."""
    text = _BARE_LINK.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    return unescape(text)


def _text_of(obj: dict[str, Any] | None) -> str:
    return mrkdwn_to_text(str((obj or {}).get("text", "")))


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"▌ {_text_of(block.get('text'))}"]
    if kind == "section":
        lines = _text_of(block.get("text")).splitlines() if block.get("text") else []
        pairs = [_text_of(f).replace("\n", ": ", 1) for f in block.get("fields", [])]
        if pairs:
            lines.append("   ".join(pairs))
        acc = block.get("accessory")
        if acc and acc.get("type") == "button":
            lines[-1:] = [(lines[-1] if lines else "") + f"  [ {_text_of(acc.get('text'))} ]"]
        return lines
    if kind == "context":
        return ["  " + " ".join(_text_of(e) for e in block.get("elements", []))]
    if kind == "actions":
        return [" ".join(f"[ {_text_of(e.get('text'))} ]" for e in block.get("elements", []))]
    if kind == "divider":
        return ["─" * 40]
    return []


def message_lines(text: str, blocks: list[dict[str, Any]] | None) -> list[str]:
    """Blocks if there are any (that is what Slack shows), else the text."""
    if blocks:
        lines: list[str] = []
        for block in blocks:
            lines.extend(_block_lines(block))
        return lines
    return mrkdwn_to_text(text).splitlines() or [""]


_BOLD = re.compile(r"\*([^*\n]+)\*")


def styled(line: str) -> Text:
    """A line for the terminal: Slack's *bold* shown bold (without the stars)."""
    out, pos = Text(), 0
    for match in _BOLD.finditer(line):
        out.append(line[pos:match.start()])
        out.append(match.group(1), style="bold")
        pos = match.end()
    out.append(line[pos:])
    return out

"""Atlassian Document Format (ADF) ⇄ plain text.

Jira Cloud v3 stores descriptions and comments as ADF trees; people (and the LLM) read plain
text. ``adf_to_text`` is deliberately forgiving: an unknown node type still yields its text, so a
new Jira feature never hides a comment. ``text_to_adf`` is the minimal writer (paragraphs and
line breaks); richer markup (bullets, bold, code, links, mentions) comes later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

Node = Mapping[str, Any]

# Blocks that are separated from their neighbours by a blank line in text output.
_BLOCK_SEPARATOR = "\n\n"
_BLANK_LINES = re.compile(r"\n[ \t]*\n")


def adf_to_text(doc: Node | str | None) -> str:
    """Render an ADF document (or any ADF node) as readable plain text."""
    if isinstance(doc, str):
        # API v2 (Data Center) already sends plain strings; pass them through unchanged.
        return doc
    if not doc:
        return ""
    return _render(doc, depth=0).strip("\n")


def text_to_adf(text: str) -> dict[str, Any]:
    """Build an ADF ``doc``: blank lines split paragraphs, single newlines become hardBreaks."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [chunk for chunk in _BLANK_LINES.split(normalized) if chunk.strip()]
    return {"type": "doc", "version": 1, "content": [_paragraph(chunk) for chunk in paragraphs]}


def _paragraph(chunk: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for index, line in enumerate(chunk.split("\n")):
        if index:
            content.append({"type": "hardBreak"})
        # ADF rejects empty text nodes, so an empty line contributes only its hardBreak.
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}


def _children(node: Node) -> list[Node]:
    content = node.get("content")
    return [child for child in content if isinstance(child, Mapping)] if isinstance(content, list) else []


def _inline(node: Node, depth: int) -> str:
    return "".join(_render(child, depth) for child in _children(node))


def _blocks(node: Node, depth: int) -> str:
    parts = [_render(child, depth) for child in _children(node)]
    return _BLOCK_SEPARATOR.join(part for part in parts if part)


def _list(node: Node, depth: int, ordered: bool) -> str:
    start = int(node.get("attrs", {}).get("order", 1)) if ordered else 1
    lines = []
    for offset, item in enumerate(_children(node)):
        marker = f"{start + offset}." if ordered else "-"
        # List items hold paragraphs and nested lists; nested lists indent by two spaces.
        parts = [_render(child, depth + 1) for child in _children(item)]
        body = "\n".join(part for part in parts if part)
        lines.append("  " * depth + f"{marker} {body.lstrip()}")
    return "\n".join(lines)


def _text(node: Node, depth: int) -> str:
    # Marks (bold, code, link…) are styling; the link target is dropped, its text kept.
    return str(node.get("text", ""))


def _mention(node: Node, depth: int) -> str:
    label = str(node.get("attrs", {}).get("text") or "")
    return label if label.startswith("@") else f"@{label or 'someone'}"


def _quote(node: Node, depth: int) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in _blocks(node, depth).split("\n"))


def _table(node: Node, depth: int) -> str:
    rows = []
    for row in _children(node):
        rows.append(" | ".join(_blocks(cell, depth).replace("\n", " ") for cell in _children(row)))
    return "\n".join(rows)


def _attr_text(name: str) -> Callable[[Node, int], str]:
    def render(node: Node, depth: int) -> str:
        return str(node.get("attrs", {}).get(name) or "")

    return render


def _date(node: Node, depth: int) -> str:
    # ADF dates are epoch milliseconds as a string; people read ISO dates.
    raw = str(node.get("attrs", {}).get("timestamp") or "")
    if not raw.isdigit():
        return raw
    return datetime.fromtimestamp(int(raw) / 1000, tz=UTC).date().isoformat()


_RENDERERS: dict[str, Callable[[Node, int], str]] = {
    "doc": _blocks,
    "paragraph": _inline,
    "heading": _inline,
    "bulletList": lambda node, depth: _list(node, depth, ordered=False),
    "orderedList": lambda node, depth: _list(node, depth, ordered=True),
    "text": _text,
    "hardBreak": lambda node, depth: "\n",
    "mention": _mention,
    "codeBlock": _inline,
    "blockquote": _quote,
    "panel": _blocks,
    "table": _table,
    "rule": lambda node, depth: "---",
    "emoji": _attr_text("text"),
    "inlineCard": _attr_text("url"),
    "blockCard": _attr_text("url"),
    "status": _attr_text("text"),
    "date": _date,
}


def _render(node: Node, depth: int) -> str:
    renderer = _RENDERERS.get(str(node.get("type", "")))
    if renderer is not None:
        return renderer(node, depth)
    # Unknown node (a newer ADF feature): keep whatever text it carries rather than drop it.
    return _blocks(node, depth) if _children(node) else str(node.get("text", ""))

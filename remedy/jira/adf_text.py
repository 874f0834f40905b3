"""ADF → markdown-ish text, the reader half of :mod:`remedy.jira.adf`.

Renders the notation ``text_to_adf`` reads (``*bold*``, ```` `code` ````, ``[label](url)``, bare
URLs, ``- `` / ``1. `` lists, fenced code, ``@Name`` mentions), so a round trip settles after one
pass. Deliberately forgiving: an unknown node type still yields its text, so a new Jira feature
never hides a comment, and malformed trees never raise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

Node = Mapping[str, Any]

# Blocks that are separated from their neighbours by a blank line in text output.
_BLOCK_SEPARATOR = "\n\n"
_FENCE = "```"
# Inline nodes without text of their own; they carry no marks.
_ATOMS = frozenset({"mention", "emoji", "date", "status", "inlineCard"})
# What may follow a bare URL and still end Slack's <url…> form: more URL characters (the reader
# takes them into the URL), then ">" or "|".
_CLOSES_URL = re.compile(r"[^\s<>`*\[\]|]*[>|]")
_WORDISH = re.compile(r"[\w*]")


def adf_to_text(doc: Node | str | None) -> str:
    """Render an ADF document (or any ADF node) as readable markdown-ish text."""
    if isinstance(doc, str):
        # API v2 (Data Center) already sends plain strings; pass them through unchanged.
        return doc
    if not isinstance(doc, Mapping) or not doc:
        return ""
    return _render(doc, depth=0).strip("\n")


def _children(node: Node) -> list[Node]:
    content = node.get("content")
    return [child for child in content if isinstance(child, Mapping)] if isinstance(content, list) else []


def _attrs(node: Node) -> Mapping[str, Any]:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, Mapping) else {}


def _marks(node: Node) -> dict[str, Mapping[str, Any]]:
    marks = node.get("marks")
    if not isinstance(marks, list):
        return {}
    return {str(mark.get("type")): _attrs(mark) for mark in marks if isinstance(mark, Mapping)}


@dataclass
class _Piece:
    strong: bool | None  # None: an atom (mention…) that is bold when bold text surrounds it
    text: str
    bare_url: bool = False


def _inline(node: Node, depth: int) -> str:
    """Children of a paragraph-like node; neighbouring bold text shares one pair of asterisks."""
    pieces: list[_Piece] = []
    for child in _children(node):
        kind = child.get("type")
        if kind == "text":
            text, bare = _marked_text(child)
            pieces.append(_Piece("strong" in _marks(child), text, bare))
        else:
            # Marks live only on text: a mention among bold words is unmarked yet stays inside
            # the asterisks. A line break ends bold.
            pieces.append(_Piece(None if kind in _ATOMS else False, _render(child, depth)))
    _resolve_atoms(pieces)
    _unwrap_slack_lookalikes(pieces)
    runs = [(strong, "".join(p.text for p in run)) for strong, run in groupby(pieces, key=lambda p: bool(p.strong))]
    out: list[str] = []
    for index, (strong, text) in enumerate(runs):
        after = runs[index + 1][1][:1] if index + 1 < len(runs) else ""
        out.append(_bold(text, out[-1][-1:] if out else "", after) if strong else text)
    return "".join(out)


def _unwrap_slack_lookalikes(pieces: list[_Piece]) -> None:
    # "<" + a bare URL + ">" would read back as Slack's <url> link, eating the brackets; write
    # such a link as [url](url) instead. ("<<" is literal to the reader, so it needs no help.)
    # Right to left, so the text after a URL is final when it is looked at.
    for index in reversed(range(len(pieces))):
        piece = pieces[index]
        if not piece.bare_url:
            continue
        before, after = _beside(pieces, index, -1), _beside(pieces, index, 1)
        if before.endswith("<") and not before.endswith("<<") and _CLOSES_URL.match(after):
            piece.text = f"[{piece.text}]({piece.text})"


def _beside(pieces: list[_Piece], index: int, step: int) -> str:
    """The text next to piece ``index`` up to where bold starts or ends ("*" marks that edge)."""
    strong = pieces[index].strong
    texts: list[str] = []
    index += step
    while 0 <= index < len(pieces) and pieces[index].strong == strong:
        texts.append(pieces[index].text)
        index += step
    if strong or 0 <= index < len(pieces):
        texts.append("*")
    return "".join(reversed(texts) if step < 0 else texts)


def _resolve_atoms(pieces: list[_Piece]) -> None:
    """An atom joins bold text beside it unless that puts it across a word boundary."""
    for index, piece in enumerate(pieces):
        if piece.strong is not None:
            continue
        before = pieces[index - 1] if index else None
        after = next((p for p in pieces[index + 1 :] if p.strong is not None), None)
        open_before = before is None or bool(before.strong) or before.text[-1:].isspace()
        open_after = after is None or bool(after.strong) or after.text[:1].isspace()
        piece.strong = bool((before and before.strong and open_after) or (after and after.strong and open_before))


def _bold(text: str, before: str, after: str) -> str:
    """``*text*``, Slack style. Asterisks must hug the words, so spaces go outside; against a
    letter (``x*bold*``) Slack's form is not bold to the reader, but ``**bold**`` is."""
    core = text.strip()
    if not core:
        return text
    start = text.index(core)
    lead, trail = text[:start], text[start + len(core) :]
    glued = _WORDISH.match(lead[-1:] or before) or _WORDISH.match(trail[:1] or after)
    stars = "**" if glued else "*"
    return f"{lead}{stars}{core}{stars}{trail}"


def _marked_text(node: Node) -> tuple[str, bool]:
    """The text with its marks written out, and whether it is a bare URL (a link to itself)."""
    text = str(node.get("text", ""))
    marks = _marks(node)
    if not text:
        return "", False
    if "code" in marks:
        text = f"`{text}`"
    if "em" in marks:
        text = f"_{text}_"
    if "strike" in marks:
        text = f"~{text}~"
    href = str(marks["link"].get("href") or "") if "link" in marks else ""
    if not href or href == text:
        return text, bool(href)
    # Markdown's (url) cannot hold a ")"; Slack's <url|label> can.
    return (f"<{href}|{text}>" if ")" in href else f"[{text}]({href})"), False


def _blocks(node: Node, depth: int) -> str:
    parts = [_render(child, depth) for child in _children(node)]
    return _BLOCK_SEPARATOR.join(part for part in parts if part)


def _list(node: Node, depth: int, ordered: bool) -> str:
    start = _order(node) if ordered else 1
    lines = []
    for offset, item in enumerate(_children(node)):
        marker = f"{start + offset}." if ordered else "-"
        # Items hold a paragraph, then maybe nested lists (indented two spaces per level).
        parts = [_render(child, depth + 1) for child in _children(item)]
        body = "\n".join(part for part in parts if part)
        lines.append("  " * depth + f"{marker} {body}")
    return "\n".join(lines)


def _order(node: Node) -> int:
    order = _attrs(node).get("order", 1)
    return order if isinstance(order, int) and not isinstance(order, bool) and order >= 0 else 1


def _code_block(node: Node, depth: int) -> str:
    code = "".join(str(child.get("text", "")) for child in _children(node))
    language = str(_attrs(node).get("language") or "")
    return f"{_FENCE}{language}\n{code}\n{_FENCE}" if code else f"{_FENCE}{language}\n{_FENCE}"


def _mention(node: Node, depth: int) -> str:
    attrs = _attrs(node)
    label = str(attrs.get("text") or "")
    if not label and attrs.get("id"):
        # No name to show: keep the Slack-style form text_to_adf reads back as the same mention.
        return f"<@{attrs['id']}>"
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
        return str(_attrs(node).get(name) or "")

    return render


def _date(node: Node, depth: int) -> str:
    # ADF dates are epoch milliseconds as a string; people read ISO dates.
    raw = str(_attrs(node).get("timestamp") or "")
    if not raw.isdigit():
        return raw
    try:
        return datetime.fromtimestamp(int(raw) / 1000, tz=UTC).date().isoformat()
    except (OverflowError, ValueError, OSError):
        return raw  # beyond the calendar datetime knows: show what Jira sent


_RENDERERS: dict[str, Callable[[Node, int], str]] = {
    "doc": _blocks,
    "paragraph": _inline,
    "heading": _inline,
    "bulletList": lambda node, depth: _list(node, depth, ordered=False),
    "orderedList": lambda node, depth: _list(node, depth, ordered=True),
    "text": lambda node, depth: _marked_text(node)[0],
    "hardBreak": lambda node, depth: "\n",
    "mention": _mention,
    "codeBlock": _code_block,
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

"""Atlassian Document Format (ADF) ⇄ markdown-ish text.

Jira Cloud v3 stores descriptions and comments as ADF trees and answers 400 to a plain string;
people and the LLM write Slack-flavoured markdown. ``text_to_adf`` (here) is the writer:
paragraphs, hard breaks, bullet and ordered lists (nested by indentation), code blocks, bold,
inline code, links and mentions. ``adf_to_text`` (in :mod:`remedy.jira.adf_text`) renders any
ADF back to the same notation, so text → ADF → text settles after one round.

The writer never raises: whatever a person types becomes a valid document, at worst as literal
text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from remedy.jira.adf_text import adf_to_text

__all__ = ["Node", "adf_to_text", "text_to_adf"]

Node = dict[str, Any]

_FENCE = "```"
_LIST_ITEM = re.compile(r"(?P<indent>[ \t]*)(?:[-*]|(?P<number>[0-9]{1,9})[.)]) (?P<text>.*)")
# An info string after an opening fence that names a language rather than starting the code.
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]{1,30}")


def text_to_adf(text: str) -> dict[str, Any]:
    """Build an ADF ``doc`` from markdown-ish text (blank lines separate blocks)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Node] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif _is_fence(line):
            index = _code_block(lines, index, blocks)
        elif _LIST_ITEM.fullmatch(line):
            index = _list_blocks(lines, index, blocks)
        else:
            index = _paragraph(lines, index, blocks)
    return {"type": "doc", "version": 1, "content": blocks}


def _is_fence(line: str) -> bool:
    return line.lstrip().startswith(_FENCE)


def _ends_block(line: str) -> bool:
    return not line.strip() or _is_fence(line)


def _paragraph(lines: list[str], index: int, blocks: list[Node]) -> int:
    """Consecutive plain lines form one paragraph; each newline inside it is a hardBreak."""
    content: list[Node] = []
    while index < len(lines) and not _ends_block(lines[index]) and not _LIST_ITEM.fullmatch(lines[index]):
        if content:
            content.append({"type": "hardBreak"})
        content.extend(_inline(lines[index]))
        index += 1
    blocks.append({"type": "paragraph", "content": content})
    return index


def _code_block(lines: list[str], index: int, blocks: list[Node]) -> int:
    """A fenced block. Slack's habits are accepted too: ```code``` on one line, code right after
    the opening fence, and a closing fence at the end of the last code line."""
    opening = lines[index].strip()[len(_FENCE) :]
    if _closing(opening) is not None and len(opening) >= len(_FENCE):
        blocks.append(_code(_peeled(opening), None))
        return index + 1
    language = opening if _LANGUAGE.fullmatch(opening) else None
    body = [opening] if opening and language is None else []
    index += 1
    while index < len(lines):
        rest = _closing(lines[index])
        index += 1
        if rest is not None:
            code = _peeled(rest)
            body.extend([code] if code.strip() else [])
            break
        body.append(lines[index - 1])
    blocks.append(_code("\n".join(body), language))
    return index


def _peeled(line: str) -> str:
    """``line`` without the fences that end it, so that, as a line of code, it closes nothing."""
    rest = _closing(line)
    while rest is not None and rest != line:
        line, rest = rest, _closing(rest)
    return line


def _closing(line: str) -> str | None:
    """The code before a closing fence on ``line``, or None if the line does not close the block.

    Code ending in a backtick (a line of backticks) is code, not a fence: that keeps every code
    line ``adf_to_text`` writes inside its block when read back.
    """
    stripped = line.rstrip()
    if stripped.strip() == _FENCE:
        return ""
    if not stripped.endswith(_FENCE) or stripped[: -len(_FENCE)].endswith("`"):
        return None
    return stripped[: -len(_FENCE)]


def _code(text: str, language: str | None) -> Node:
    node: Node = {"type": "codeBlock", "content": [{"type": "text", "text": text}] if text else []}
    if language:
        node["attrs"] = {"language": language}
    return node


@dataclass
class _Level:
    indent: int
    ordered: bool
    node: Node


@dataclass
class _ListBuilder:
    """Builds (nested) lists from list lines; deeper indentation nests under the previous item."""

    roots: list[Node]
    stack: list[_Level] = field(default_factory=list)
    paragraph: Node | None = None

    def item(self, indent: int, number: str | None, text: str) -> None:
        ordered = number is not None
        while self.stack and self.stack[-1].indent > indent:
            self.stack.pop()
        top = self.stack[-1] if self.stack else None
        if top is not None and top.indent == indent and top.ordered != ordered:
            # Bullets after numbers (or the reverse) at one level start a sibling list.
            self.stack.pop()
            top = self.stack[-1] if self.stack else None
            self._open(indent, number, self._container(top))
        elif top is None or top.indent < indent:
            self._open(indent, number, self._container(top))
        self.paragraph = {"type": "paragraph", "content": _inline(text)}
        self.stack[-1].node["content"].append({"type": "listItem", "content": [self.paragraph]})

    def continuation(self, line: str) -> None:
        """A plain line right under an item continues that item's text after a hard break."""
        if self.paragraph is not None:
            self.paragraph["content"].extend([{"type": "hardBreak"}, *_inline(line)])

    def _container(self, parent: _Level | None) -> list[Node]:
        if parent is None:
            return self.roots
        items: list[Node] = parent.node["content"]
        content: list[Node] = items[-1]["content"]
        return content

    def _open(self, indent: int, number: str | None, container: list[Node]) -> None:
        node: Node = {"type": "orderedList" if number is not None else "bulletList", "content": []}
        if number is not None and int(number) != 1:
            node["attrs"] = {"order": int(number)}
        container.append(node)
        self.stack.append(_Level(indent, number is not None, node))


def _list_blocks(lines: list[str], index: int, blocks: list[Node]) -> int:
    builder = _ListBuilder(blocks)
    while index < len(lines) and not _ends_block(lines[index]):
        match = _LIST_ITEM.fullmatch(lines[index])
        if match:
            builder.item(len(match["indent"].expandtabs(4)), match["number"], match["text"])
        else:
            builder.continuation(lines[index])
        index += 1
    return index


# -- inline: one line of text → text nodes with marks, and mentions ---------------------------

# URLs share one alphabet in all three notations, so a link rendered back as a bare URL reads
# back as the same URL.
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|@\[(?P<mention_name>[^\[\]<>@\n]+)\]\((?P<mention_id>[\w:-]+)\)"
    r"|<@(?P<slack_mention>[\w:-]+)>"
    r"|(?<!<)<(?P<slack_url>https?://[^\s<>`*\[\]|]+)(?:\|(?P<slack_label>[^<>\[\]\n]*))?>"
    r"|\[(?P<md_label>[^\[\]\n]+)\]\((?P<md_url>https?://[^\s<>`*\[\]|)]+)\)"
    # Bold spans are bounded so a line full of stray asterisks cannot make matching quadratic.
    r"|(?<!\*)\*\*(?P<bold2>[^\s*](?:[^*\n]{0,2000}?[^\s*])??)\*\*(?!\*)"
    # Slack's *bold*: not inside a word, so 2*3*4 and file*name* stay literal.
    r"|(?<![\w*])\*(?P<bold>[^\s*](?:[^*\n]{0,2000}?[^\s*])??)\*(?![\w*])"
    r"|(?P<url>https?://[^\s<>`*\[\]|]+)"
)
# Sentence punctuation right after a bare URL belongs to the sentence, not the URL.
_URL_TAIL = ".,;:!?'\""
_STRONG: Node = {"type": "strong"}


def _inline(line: str, marks: tuple[Node, ...] = ()) -> list[Node]:
    """Inline nodes for one line. Inside bold (``marks`` set), code and bold stay literal
    because ADF forbids code combined with strong."""
    nodes: list[Node] = []
    position = 0
    for match in _INLINE.finditer(line):
        _add_text(nodes, line[position : match.start()], marks)
        position = match.end()
        kind = match.lastgroup or ""
        if marks and kind in ("code", "bold2", "bold"):
            _add_text(nodes, match[0], marks)
        elif kind == "code":
            _add_text(nodes, match["code"], (*marks, {"type": "code"}))
        elif kind in ("bold2", "bold"):
            nodes.extend(_inline(match[kind], (*marks, _STRONG)))
        elif kind in ("mention_id", "slack_mention"):
            nodes.append(_mention(match))
        elif kind == "url":
            url, tail = _split_url(match["url"])
            _add_link(nodes, url, url, marks)
            _add_text(nodes, tail, marks)
        else:
            url = match["slack_url"] or match["md_url"]
            _add_link(nodes, match["slack_label"] or match["md_label"] or url, url, marks)
    _add_text(nodes, line[position:], marks)
    return nodes


def _mention(match: re.Match[str]) -> Node:
    if match["mention_id"]:
        return {"type": "mention", "attrs": {"id": match["mention_id"], "text": f"@{match['mention_name']}"}}
    # <@accountId> carries no name; Jira shows the person's current name for the id.
    return {"type": "mention", "attrs": {"id": match["slack_mention"]}}


def _split_url(url: str) -> tuple[str, str]:
    end = len(url)
    while end and (url[end - 1] in _URL_TAIL or (url[end - 1] == ")" and _unbalanced(url[:end]))):
        end -= 1
    return url[:end], url[end:]


def _unbalanced(url: str) -> bool:
    # Wikipedia-style URLs end in ")" legitimately; a ")" with no "(" closes the sentence's bracket.
    return url.count("(") < url.count(")")


def _add_link(nodes: list[Node], label: str, url: str, marks: tuple[Node, ...]) -> None:
    if url.partition("://")[2]:
        _add_text(nodes, label, (*marks, {"type": "link", "attrs": {"href": url}}))
    else:
        _add_text(nodes, label, marks)  # "https://" alone is not a link


def _add_text(nodes: list[Node], text: str, marks: tuple[Node, ...]) -> None:
    """Append text, merged into the previous node when the marks match. ADF rejects empty text."""
    if not text:
        return
    previous = nodes[-1] if nodes else None
    if previous is not None and previous["type"] == "text" and previous.get("marks", []) == list(marks):
        previous["text"] += text
        return
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = [dict(mark) for mark in marks]
    nodes.append(node)

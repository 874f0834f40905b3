"""Make user- or LLM-made text safe for Slack mrkdwn and fit it into Block Kit limits.

Slack only treats ``<…>`` sequences as control syntax (mentions, ``<!channel>``, links), so
escaping ``&``, ``<`` and ``>`` is enough to neutralise broadcasts and fake links.
"""

from __future__ import annotations

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
BUTTON_VALUE_MAX = 2000
BUTTON_TEXT_MAX = 75
ACTION_ID_MAX = 255
MESSAGE_TEXT_MAX = 40000
BLOCKS_MAX = 50

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack renders the text literally."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unescape(text: str) -> str:
    """Undo Slack's escaping of slash-command text (it sends ``&amp;``, ``&lt;``, ``&gt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int, marker: str = "…") -> str:
    """Cut ``text`` to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - len(marker), 0)]
    # Never leave a half escape sequence such as "&am" at the cut.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + marker


def inline_code(text: str) -> str:
    """Show user text as inline code, escaped, without letting backticks break out."""
    return "`" + escape(text.replace("`", "'")) + "`"

"""Split Slack slash-command text into tokens without losing where each came from.

Slack escapes `&`, `<`, `>` typed by the user, so a raw `<…>` in the text is Slack's own markup
(mention, channel, link). Tokens keep the raw (wire) text and their offsets; values are
unescaped only when read, and free text is sliced from the original to keep the user's spacing.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from remedy.commands.model import KEY_RE
from remedy.slack import mrkdwn

TokenKind = Literal["word", "quoted", "markup"]

DOUBLE_QUOTES = '"“”„'
SINGLE_QUOTES = "'‘’"
# What closes a quote depends on how it opened: straight or curly English (“…”), German („…“). An
# opening single curly quote (‘) never closes a straight one, so any text that lacks one of the two
# straight closers followed by a space can be quoted and read back unchanged.
_CLOSE_CHARS = {'"': '"”“', "“": '”“"', "„": '“”"', "”": '”"', "'": "'’", "‘": "’'", "’": "’'"}
_CLOSERS = {q: re.compile(f"[{chars}](?=\\s|$)") for q, chars in _CLOSE_CHARS.items()}

# One match per token: skip spaces, then a quote (closed in Python), Slack markup, or a word. The
# markup length is bounded so a stray "<" before 100 KB of text cannot make the scan quadratic;
# a word may contain "<" only where it does not start markup.
_MARKUP = r"<[^<>\s][^<>]{0,2000}>"
_NEXT = re.compile(
    rf"\s*(?:(?P<quote>[{DOUBLE_QUOTES}{SINGLE_QUOTES}])|(?P<markup>{_MARKUP})"
    rf"|(?P<word>(?:[^\s<]|(?!{_MARKUP})<)[^\s<]*(?:(?!{_MARKUP})<[^\s<]*)*))"
)
# Zero-width characters break word matching and carry no meaning; control characters act as spaces.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_DASHES = re.compile("[\u2010-\u2015\u2212]")
_EDGE_PUNCT = "()[]{},.;:!?"
_NEAR_ONE = re.compile(r"([A-Za-z]{2,10})[ _./]?(\d{1,9})")
_LETTERS = re.compile(r"[A-Za-z]{2,10}")
_DIGITS = re.compile(r"\d{1,9}")
_BROWSE = re.compile(r"/browse/([A-Za-z][A-Za-z0-9]+-\d+)(?:[/?#|]|$)")


class Token(NamedTuple):
    kind: TokenKind
    raw: str  # exact source slice, still Slack-escaped
    start: int
    end: int
    body: str  # word: raw · quoted: between the quotes · markup: between < and >
    closed: bool = True  # False for a quote that runs to the end of the text

    @property
    def value(self) -> str:
        return mrkdwn.unescape(self.body)

    @property
    def low(self) -> str:
        """Casefolded value for matching words; empty for non-words so they never match one."""
        return self.value.casefold() if self.kind == "word" else ""


def clean(text: str) -> str:
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text))


def lex(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while (found := _NEXT.match(text, pos)) is not None and found.lastgroup is not None:
        kind, start, end = found.lastgroup, found.start(found.lastgroup), found.end()
        if kind == "quote":
            quoted = _quoted(text, start)
            # A quote that never closes is a stray character, not the start of one long token: read
            # on, so the words after it (a scope such as "on CPE-3222") are still seen. Free text
            # that is one unclosed quote still reads as its content (read_free).
            token = quoted if quoted is not None and quoted.closed else Token(
                "word", text[start:end], start, end, text[start:end])
        else:
            body = text[start:end] if kind == "word" else text[start + 1 : end - 1]
            token = Token("markup" if kind == "markup" else "word", text[start:end], start, end, body)
        tokens.append(token)
        pos = token.end
    return tokens


def _quoted(text: str, pos: int) -> Token | None:
    closer = _CLOSERS.get(text[pos])
    if closer is None:
        return None
    found = closer.search(text, pos + 1)
    if found is None:
        return Token("quoted", text[pos:], pos, len(text), text[pos + 1 :], closed=False)
    return Token("quoted", text[pos : found.end()], pos, found.end(), text[pos + 1 : found.start()])



def read_free(raw: str) -> str:
    """Free text as the user meant it: one quoted string → its content, else the text verbatim."""
    stripped = raw.strip()
    whole = _quoted(stripped, 0) if stripped else None
    if whole is not None and whole.end == len(stripped):
        stripped = whole.body
    return mrkdwn.unescape(stripped).strip()


def quote(text: str) -> str | None:
    """`text` as one closed quoted token that reads back as `text`, or None if no quote style can."""
    wire = mrkdwn.escape(text)
    for opener, closer in (('"', '"'), ("'", "'")):
        candidate = f"{opener}{wire}{closer}"
        tokens = lex(candidate)
        whole = len(tokens) == 1 and tokens[0].closed and tokens[0].kind == "quoted"
        if whole and mrkdwn.unescape(tokens[0].body).strip() == text:
            return candidate
    return None


def emit_free(text: str) -> str:
    """Free text for the end of a command: bare when it reads back unchanged, else quoted."""
    bare = mrkdwn.escape(text)
    if read_free(bare) == text:
        return bare
    return quote(text) or bare


def as_key(token: Token | None) -> str | None:
    """The ticket key a token names (word, or a Jira link Slack turned into markup), uppercased."""
    if token is None:
        return None
    if token.kind == "markup":
        return _link_key(token.body)
    if token.kind != "word":
        return None
    value = _DASHES.sub("-", token.value.strip(_EDGE_PUNCT))
    return value.upper() if KEY_RE.fullmatch(value) else None


def _link_key(body: str) -> str | None:
    if not body.startswith(("http://", "https://")):
        return None
    url, _, label = body.partition("|")
    if KEY_RE.fullmatch(label.strip()):
        return label.strip().upper()
    found = _BROWSE.search(url)
    return found.group(1).upper() if found else None


def near_key(tokens: list[Token], i: int, lenient: bool, focus: str | None) -> str | None:
    """A key the user probably meant (`CPE3222`, `cpe 3222`, `3222` with a focus), else None.

    Strict mode (where a person or free text could also stand) only fires on forms that are
    unlikely to be anything else, so `escalate john 10 devices` is not read as JOHN-10.
    """
    if i >= len(tokens) or tokens[i].kind != "word":
        return None
    word = tokens[i].value.strip(_EDGE_PUNCT)
    one = _NEAR_ONE.fullmatch(word)
    if one and (lenient or len(one.group(2)) >= 2):
        return f"{one.group(1).upper()}-{one.group(2)}"
    nxt = tokens[i + 1].value.strip(_EDGE_PUNCT) if i + 1 < len(tokens) else ""
    project = focus.split("-")[0] if focus else ""
    two = _LETTERS.fullmatch(word) and _DIGITS.fullmatch(nxt) and tokens[i + 1].kind == "word"
    if two and (lenient or word.isupper() or word.upper() == project):
        return f"{word.upper()}-{nxt}"
    if lenient and project and _DIGITS.fullmatch(word):
        return f"{project}-{word}"
    return None

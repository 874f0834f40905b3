"""Read people, groups and channels from tokens.

Kinds are decided by syntax alone; the team directory resolves them later:
- `<@U123>` / `<@U123|alice>` → mention (slack_id set); `<!subteam^S1|@devs>` → group (slack_id set)
- `a@b.c` or `<mailto:a@b.c|…>` → email; `"Sarah Chen"` (quoted, with a space) → name
- `@alice`, `alice`, `john.smith`, `dev-team`, `me` → handle: a group name typed as a word looks
  like a handle, so it stays "handle" and the directory decides whether it is a group.
- `#ops` / `<#C123|ops>` → channel
"""

from __future__ import annotations

import re

from remedy.commands.lexer import Token
from remedy.commands.model import KEY_RE, PersonRef
from remedy.slack import mrkdwn

_USER = re.compile(r"@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?")
_GROUP = re.compile(r"!subteam\^([A-Z0-9]{2,30})(?:\|[^<>]*)?")
_CHANNEL_MARKUP = re.compile(r"#([CG][A-Z0-9]{2,30})(?:\|[^<>]*)?")
_MAILTO = re.compile(r"mailto:([^|<>\s]+@[^|<>\s]+)(?:\|[^<>]*)?")
EMAIL = re.compile(r"[^@\s<>\"'“”‘’,;]+@[^@\s<>\"'“”‘’,;]+\.[A-Za-z]{2,}")
HANDLE = re.compile(r"@?\w[\w.'’-]{0,79}")
CHANNEL = re.compile(r"#[\w.-]{1,80}")
NAME = re.compile(r"[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){1,4}")
LIST_SEPARATORS = frozenset({"and", "&", ",", "+"})


class PersonError(ValueError):
    """The token cannot name a person; the message is plain (unescaped) text."""


def person(token: Token) -> PersonRef:
    if token.kind == "markup":
        return _from_markup(token)
    if token.kind == "quoted":
        inner = " ".join(token.value.split())
        if NAME.fullmatch(inner):
            return PersonRef(raw=inner, kind="name")
        return _from_word(inner)
    return _from_word(token.value)


def _from_markup(token: Token) -> PersonRef:
    body = token.body
    if found := _USER.fullmatch(body):
        return PersonRef(raw=token.raw, kind="mention", slack_id=found.group(1))
    if found := _GROUP.fullmatch(body):
        return PersonRef(raw=token.raw, kind="group", slack_id=found.group(1))
    if found := _MAILTO.fullmatch(body):
        return PersonRef(raw=mrkdwn.unescape(found.group(1)), kind="email")
    if _CHANNEL_MARKUP.fullmatch(body):
        raise PersonError("that is a channel, not a person")
    raise PersonError("that is not a person")


def _from_word(word: str) -> PersonRef:
    # Sentence punctuation after a name ("ask sarah.") is not part of the handle.
    word = word.rstrip(".:;!?")
    if KEY_RE.fullmatch(word.strip("(),.;:")):
        raise PersonError("that is a ticket key, not a person")
    if EMAIL.fullmatch(word):
        return PersonRef(raw=word, kind="email")
    if HANDLE.fullmatch(word) and any(ch.isalpha() for ch in word):
        return PersonRef(raw=word, kind="handle")
    raise PersonError("that does not look like a person")


def channel(token: Token) -> PersonRef | None:
    """A channel reference, or None if the token is not one."""
    if token.kind == "markup":
        found = _CHANNEL_MARKUP.fullmatch(token.body)
        return PersonRef(raw=token.raw, kind="channel", slack_id=found.group(1)) if found else None
    if token.kind == "word" and CHANNEL.fullmatch(token.value):
        return PersonRef(raw=token.value, kind="channel")
    return None


def split_words(tokens: list[Token]) -> list[Token]:
    """Split word tokens on commas so `sarah,john` lists two people; other tokens pass through."""
    out: list[Token] = []
    for token in tokens:
        if token.kind != "word" or "," not in token.body:
            out.append(token)
            continue
        offset = token.start
        for part in token.body.split(","):
            if part:
                out.append(Token("word", part, offset, offset + len(part), part))
            offset += len(part) + 1
    return out


def is_separator(token: Token) -> bool:
    return token.kind == "word" and token.low in LIST_SEPARATORS

"""The grounding check: a model's text may only state what its facts object states.

Every number (percentages and versions included), ticket key, @mention, link and person-like
name in the text must appear in the facts; one that doesn't means the model invented it, and
the caller uses its template instead. Rounding is allowed (95.23 → "95.2%" or "95%"), inventing
is not. The check errs on the side of rejecting: a rejected text costs plainer words, an
accepted invented number costs trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

KEY = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b")
URL = re.compile(r"https?://[^\s|>]+", re.IGNORECASE)
MENTION = re.compile(r"<[@#!][^>]*>|(?<![\w.])@[\w][\w.-]*")
NUMBER = re.compile(r"(?<![\w])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w])\d+(?:\.\d+)*(?![\w])")
# Two or more capitalised words in a row read as a name ("Bob Smith", "Acme Corp").
NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b")
WORD = re.compile(r"[a-z0-9]+")
# Words the product itself uses; a capitalised run made of them is not a person.
PRODUCT_WORDS = frozenset({
    "jamf", "jira", "slack", "remedy", "mac", "macs", "macos", "pilot", "phase", "rollout", "verify", "done",
    "investigation", "plan", "build", "test", "go", "no", "hold", "next", "ring", "rings", "all", "the",
    "policy", "group", "fleet", "compliance", "rollback", "blocker", "blockers", "status", "update",
    "security", "ticket", "tickets", "today", "tomorrow", "yesterday", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december", "day", "week", "risk", "high", "low",
    "medium", "highest", "lowest", "summary", "suggested", "suggestion", "action", "actions",
})


@dataclass(frozen=True)
class Verdict:
    ok: bool
    invented: list[str]  # what the text claims that the facts don't


HANDLE = re.compile(r"[\w][\w.-]*")


@dataclass(frozen=True)
class Known:
    """Everything a grounded text may mention, read once from a facts object. Claims are matched
    as whole tokens, never as substrings ("12" is not in "120.0.6099.109")."""

    texts: str  # all fact strings, lowercased and joined (links must appear in it)
    tokens: frozenset[str]  # numbers, versions, dates' parts and ticket keys as the facts spell them
    handles: frozenset[str]  # words with dots and dashes: what an @mention may name
    numbers: frozenset[float]
    words: frozenset[str]


def _scalars(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _scalars(v)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from _scalars(v)
    elif value is not None:
        yield value


def _as_number(token: str) -> float | None:
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None  # a version such as 120.0.6099.109 is matched as text, not as a number


def known(facts: Any) -> Known:
    texts: list[str] = []
    numbers: set[float] = set()
    for value in _scalars(facts):
        if isinstance(value, bool):
            texts.append(str(value))
            continue
        if isinstance(value, (int, float)):
            numbers.update({float(value), round(float(value)), round(float(value), 1), round(float(value), 2)})
            texts.append(str(value))
            continue
        text = str(value)
        texts.append(text)
        for token in NUMBER.findall(text):
            number = _as_number(token)
            if number is not None:
                numbers.update({number, round(number), round(number, 1)})
    joined = "\n".join(texts).lower()
    tokens = set(NUMBER.findall(joined)) | {k.lower() for k in KEY.findall("\n".join(texts))}
    return Known(joined, frozenset(tokens), frozenset(HANDLE.findall(joined)), frozenset(numbers),
                 frozenset(WORD.findall(joined)))


def _number_ok(token: str, facts: Known) -> bool:
    if token.lower() in facts.tokens:
        return True  # versions, ids, dates as the facts spell them
    number = _as_number(token)
    return number is not None and number in facts.numbers


BROADCAST = frozenset({"channel", "here", "everyone"})  # never from a model, whatever the facts say


def _mention(raw: str) -> str:
    return raw.lower().strip("<>@#!").split("|")[0]


def check(text: str, facts: Known) -> Verdict:
    invented: list[str] = []
    invented += [k for k in KEY.findall(text) if k.lower() not in facts.tokens]
    invented += [u for u in URL.findall(text) if u.lower() not in facts.texts]
    invented += [m for m in MENTION.findall(text) if _mention(m) in BROADCAST or _mention(m) not in facts.handles]
    rest = URL.sub(" ", KEY.sub(" ", text))
    invented += [n for n in NUMBER.findall(rest) if not _number_ok(n, facts)]
    for name in NAME.findall(rest):
        words = WORD.findall(name.lower())
        if any(w not in facts.words and w not in PRODUCT_WORDS for w in words):
            invented.append(name)
    return Verdict(not invented, invented)

"""The grounding check: a model's text may only state what its facts object states.

Every number (percentages and versions included), priority level, ticket key, @mention, link, email
address, domain and person-like name in the text must appear in the facts; one that doesn't means
the model invented it, and the caller uses its template instead. Rounding is allowed (95.23 →
"95.2%" or "95%"), inventing is not. The check errs on the side of rejecting: a rejected text costs
plainer words, an accepted invented number costs trust.

Names are read from capitalised words. Mid-sentence, a capitalised word is a proper noun, so one
the facts don't contain (and that is not the product's vocabulary, remedy.llm.names) is invented.
At a sentence's start every word is capitalised, so there only a common first name, or a word
followed by a verb that wants a person ("Priya approved …"), counts as a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from remedy.llm.names import FIRST_NAMES, KNOWN_WORDS, NOT_NAME_ENDINGS, PERSON_VERBS, SUBJECT_WORDS

KEY = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b")
URL = re.compile(r"https?://[^\s|>]+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A bare domain or host (evil.example, www.corp.example/login): dot-separated labels ending in letters.
DOMAIN = re.compile(r"(?<![\w@/.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z](?:/\S*)?(?![\w-])",
                    re.IGNORECASE)
MENTION = re.compile(r"<[@#!][^>]*>|(?<![\w.])@[\w][\w.-]*")
NUMBER = re.compile(r"(?<![\w])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w])\d+(?:\.\d+)*(?![\w])")
PRIORITY = re.compile(r"\bP[0-9]\b")
# A run of capitalised words ("Bob", "Bob Smith", "Acme Corp"); CamelCase and ALL-CAPS are not names.
CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*\b")
WORD = re.compile(r"[a-z0-9]+")
# What may come right before a sentence's (or a list item's, or a parenthesis') first word.
_OPENERS = frozenset(".!?:;([{\"'“‘«—–-•*>")
_TRAILING = ".,;:!?)]}'\""


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
    invented += [e for e in EMAIL.findall(text) if e.lower() not in facts.texts]
    rest = EMAIL.sub(" ", URL.sub(" ", text))
    invented += [m for m in MENTION.findall(rest) if _mention(m) in BROADCAST or _mention(m) not in facts.handles]
    rest = MENTION.sub(" ", rest)
    invented += [d for d in DOMAIN.findall(rest) if d.rstrip(_TRAILING).lower() not in facts.texts]
    rest = KEY.sub(" ", DOMAIN.sub(" ", rest))
    invented += [p for p in PRIORITY.findall(rest) if p.lower() not in facts.words]
    invented += [n for n in NUMBER.findall(rest) if not _number_ok(n, facts)]
    invented += _names(rest, facts)
    return Verdict(not invented, invented)


def _names(text: str, facts: Known) -> list[str]:
    found: list[str] = []
    for run in CAPITALISED.finditer(text):
        words = re.split(r"[ -]", run.group())
        if _starts_sentence(text, run.start()) and not _named_at_start(words, text[run.end():]):
            words = words[1:]  # capitalised because it starts the sentence: not a name by itself
        if any(_unknown(w, facts) for w in words):
            found.append(run.group())
    return found


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip(" \t")
    return not before or before[-1] == "\n" or before[-1] in _OPENERS


def _named_at_start(words: list[str], after: str) -> bool:
    """Whether a sentence's first word is still a name: a common first name, or (alone) the subject
    of a verb that wants a person."""
    first = words[0].lower()
    if first in FIRST_NAMES:
        return True
    verb = WORD.search(after.lower())
    return (len(words) == 1 and verb is not None and verb.group() in PERSON_VERBS and first not in SUBJECT_WORDS
            and not first.endswith(NOT_NAME_ENDINGS))


def _unknown(word: str, facts: Known) -> bool:
    low = word.lower()
    return low not in facts.words and low not in KNOWN_WORDS

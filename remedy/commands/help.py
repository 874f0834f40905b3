"""Help texts and "did you mean" answers, all built from the catalog.

Every piece of user text that reaches a Help goes through `code()` or `mrkdwn.escape`, so a typed
`<!channel>` or `<https://evil|click>` is shown literally and can never broadcast or link.
"""

from __future__ import annotations

import difflib

from remedy.commands.args import ArgError, code
from remedy.commands.catalog import AREAS, CATALOG, PHRASES, CommandSpec, by_area
from remedy.commands.model import Help
from remedy.slack import mrkdwn

SUGGEST_CUTOFF = 0.6
_MAX_TYPED = 40
_FOCUS_HINT = "Leave out KEY to use your focus ticket (set it with `work CPE-3222`)."

# Phrases to compare a typo against: every name and alias, plus the first word of multi-word
# names ("daily" → "daily update"), since people often type only the start.
_CANDIDATES: dict[str, str] = {}
for _words, _name in PHRASES.items():
    _CANDIDATES.setdefault(" ".join(_words), _name)
for _words, _name in PHRASES.items():
    _CANDIDATES.setdefault(_words[0], _name)


def usage_line(spec: CommandSpec) -> str:
    return f"{mrkdwn.inline_code(spec.usage)} — {mrkdwn.escape(spec.summary)}"


def general_help() -> Help:
    parts = [
        f"*remedy* — {mrkdwn.inline_code('/remedy <command>')}. "
        "The ticket key is optional wherever you have a focus ticket (`work CPE-3222` sets it). "
        f"{mrkdwn.inline_code('help <command>')} shows examples."
    ]
    for area, specs in by_area().items():
        lines = "\n".join(f"• {usage_line(spec)}" for spec in specs)
        parts.append(f"*{area}*\n{lines}")
    return Help(text="\n\n".join(parts))


def area_help(area: str) -> Help:
    specs = by_area()[area]
    lines = "\n".join(f"• {usage_line(spec)}" for spec in specs)
    return Help(text=f"*{area}*\n{lines}")


def command_help(name: str) -> Help:
    spec = CATALOG[name]
    lines = [
        f"*{mrkdwn.escape(spec.name)}* · {spec.area} · needs {spec.role.name.lower()}",
        mrkdwn.escape(spec.summary),
        f"Usage: {mrkdwn.inline_code(spec.usage)}",
        "Examples: " + " · ".join(mrkdwn.inline_code(example) for example in spec.examples),
    ]
    if spec.details:
        lines.append(spec.details)
    if spec.key == "optional":
        lines.append(_FOCUS_HINT)
    if spec.aliases:
        lines.append("Also: " + " · ".join(mrkdwn.inline_code(alias) for alias in spec.aliases))
    return Help(text="\n".join(lines), command=name)


def _brief(spec: CommandSpec) -> str:
    example = spec.examples[0] if spec.key == "none" else spec.keyed_example
    return (
        f"Usage: {mrkdwn.inline_code(spec.usage)} — e.g. {mrkdwn.inline_code(example)}\n"
        f"More: {mrkdwn.inline_code('help ' + spec.name)}"
    )


def arg_help(name: str, error: ArgError) -> Help:
    """Right command, wrong arguments: what was wrong, then how the command is used."""
    spec = CATALOG[name]
    text = f":warning: {error.message}\n{_brief(spec)}"
    return Help(text=text, command=name, suggestion=error.suggestion, is_error=True)


def missing_key(name: str) -> Help:
    spec = CATALOG[name]
    text = (
        f"Which ticket? Add a key ({mrkdwn.inline_code(spec.keyed_example)}) "
        "or set a focus with `work CPE-3222`."
    )
    if name == "audit trail":
        text += " `audit trail all` covers every ticket."
    return Help(text=text, command=name, is_error=True, needs_focus=True)


def suggest(words: list[str]) -> str | None:
    """The command a mistyped start most likely meant (`wrok` → work), or None."""
    best, score = None, 0.0
    for size in range(1, min(3, len(words)) + 1):
        typed = " ".join(words[:size])
        if len(typed) > _MAX_TYPED:
            break
        for phrase, name in _CANDIDATES.items():
            matcher = difflib.SequenceMatcher(None, typed, phrase)
            if matcher.real_quick_ratio() <= score or matcher.quick_ratio() <= score:
                continue
            ratio = matcher.ratio()
            if ratio > score:
                best, score = name, ratio
    return best if score >= SUGGEST_CUTOFF else None


def unknown(typed: str, suggestion: str | None) -> Help:
    text = f"I don't know {code(typed)}."
    if suggestion:
        spec = CATALOG[suggestion]
        text += f" Did you mean {mrkdwn.inline_code(suggestion)}?\n{usage_line(spec)}"
    text += "\nType `help` to see all commands."
    return Help(text=text, suggestion=suggestion, is_error=True)


def bare_key(key: str) -> Help:
    text = f"To work on {key}, use {mrkdwn.inline_code('work ' + key)}. Type `help` to see all commands."
    return Help(text=text, suggestion="work", is_error=True)


def help_topic(words: list[str]) -> Help:
    """`help`, `help <command>`, `help <area>`, or did-you-mean for `help wrok`."""
    if not words:
        return general_help()
    for size in range(min(3, len(words)), 0, -1):
        name = PHRASES.get(tuple(words[:size]))
        if name is not None:
            return command_help(name)
    areas = {area.casefold(): area for area in AREAS}
    if words[0] in areas:
        return area_help(areas[words[0]])
    guess = suggest(words)
    text = f"There is no command {code(' '.join(words))}."
    if guess:
        text += f" Did you mean {mrkdwn.inline_code(guess)}?\n{usage_line(CATALOG[guess])}"
    text += "\nType `help` to see all commands."
    return Help(text=text, suggestion=guess, is_error=True)


def too_long(size: int, limit: int) -> Help:
    return Help(text=f"That is {size} characters; commands must be under {limit}.", is_error=True)


def internal_error() -> Help:
    return Help(text="Sorry, I could not read that command. Type `help` to see all commands.", is_error=True)

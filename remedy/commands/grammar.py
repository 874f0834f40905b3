"""`parse(text, focus)`: Slack slash-command text → a typed Command, or a Help that says why not.

The Slack listener calls this before acking (3 s budget), so it is pure and fast: one regex lexer
pass, a phrase lookup, one small parser. difflib only runs on the error path.
"""

from __future__ import annotations

import difflib

from pydantic import ValidationError

from remedy.commands import bulk, jamf, priority, team, ticket
from remedy.commands import help as helps
from remedy.commands.args import ArgError, Args, MissingKey, Parser
from remedy.commands.catalog import CATALOG, LONGEST_PHRASE, PHRASES, match_phrase
from remedy.commands.lexer import Token, as_key, clean, lex
from remedy.commands.model import KEY_RE, Command, Help, Scope
from remedy.slack import mrkdwn

# Guards against absurd input (free text has its own limit, args.MAX_TEXT_CHARS). The limit is on the
# unescaped length so that `text()` of a maximal comment, whose `&`s come back as `&amp;`, still parses;
# the raw bound keeps even that check cheap.
MAX_INPUT_CHARS = 40_000
_MAX_RAW_CHARS = 5 * MAX_INPUT_CHARS
_PREFIXES = frozenset({"/remedy", "remedy"})
_HELP_WORDS = frozenset({"help", "?", "commands"})
_HELP_FLAGS = frozenset({"--help", "-h", "—help"})
# A longer command this close to "matched words + next word" beats a parse error of the shorter
# one: `compliance reprot` is more likely `compliance report` than a bad `compliance` argument.
_LONGER_CUTOFF = 0.8

PARSERS: dict[str, Parser] = {**ticket.PARSERS, **priority.PARSERS, **team.PARSERS, **bulk.PARSERS, **jamf.PARSERS}


def parse(text: str, focus: str | None = None) -> Command | Help:
    """Never raises: anything unexpected becomes a generic Help so the listener can always answer."""
    try:
        return _parse(text, focus)
    except Exception:  # the caller must get an answer before Slack's 3 s timeout, whatever happened
        return helps.internal_error()


def _parse(text: str, focus: str | None) -> Command | Help:
    if len(text) > _MAX_RAW_CHARS or len(mrkdwn.unescape(text)) > MAX_INPUT_CHARS:
        return helps.too_long(len(mrkdwn.unescape(text)), MAX_INPUT_CHARS)
    cleaned = clean(text)
    tokens = _strip_prefix(lex(cleaned))
    if not tokens:
        return helps.general_help()
    words = [token.low for token in tokens[: LONGEST_PHRASE + 1]]
    if words[0] in _HELP_WORDS:
        return helps.help_topic([token.value.casefold() for token in tokens[1:6]])
    matched = match_phrase(words)
    if matched is None:
        return _unknown(tokens, words)
    name, used = matched
    rest = tokens[used:]
    if len(rest) == 1 and rest[0].low in _HELP_FLAGS:
        return helps.command_help(name)
    phrase = " ".join(words[:used])
    return _run(name, Args(cleaned, rest, _focus(focus), phrase), words, used)


def parse_button(action: str, ticket: str | None) -> Command | Help:
    """A card button's suggestion (`move to plan`, `work`, `compliance report`) about `ticket`.

    The result is what the user would get by typing the suggestion about that ticket: the ticket
    fills an optional key, is appended where the key is required, and narrows a bulk command's
    default scope to that one ticket. Without a valid ticket this is `parse(action)`.
    """
    key = _focus(ticket)
    result = parse(action, focus=key)
    if key is None:
        return result
    if isinstance(result, Help):
        required = result.command is not None and CATALOG[result.command].key == "required"
        return parse(f"{action} {key}") if required else result
    if result.key_from_focus:
        return result.model_copy(update={"key_from_focus": False})
    scope = getattr(result, "scope", None)
    if isinstance(scope, Scope) and scope.kind == "default":
        return result.model_copy(update={"scope": Scope(kind="keys", keys=(key,))})
    return result


def _run(name: str, args: Args, words: list[str], used: int) -> Command | Help:
    try:
        return PARSERS[name](args)
    except MissingKey:
        return helps.missing_key(name)
    except ArgError as error:
        longer = None if error.suggestion else _longer_command(name, words, used)
        if longer is not None:
            return helps.unknown(" ".join(words[: used + 1]), longer)
        return helps.arg_help(name, error)
    except ValidationError:
        return helps.arg_help(name, ArgError("Some of that is out of range."))


def _strip_prefix(tokens: list[Token]) -> list[Token]:
    """Drop a leading `/remedy`, `remedy`, or bot mention (app_mention text starts with one)."""
    for _ in range(2):
        if tokens and (tokens[0].low in _PREFIXES or _is_user_mention(tokens[0])):
            tokens = tokens[1:]
    return tokens


def _is_user_mention(token: Token) -> bool:
    return token.kind == "markup" and token.body.startswith("@")


def _focus(focus: str | None) -> str | None:
    if not isinstance(focus, str):
        return None
    focus = focus.strip()
    return focus.upper() if KEY_RE.fullmatch(focus) else None


def _unknown(tokens: list[Token], words: list[str]) -> Help:
    key = as_key(tokens[0])
    if key:
        return helps.bare_key(key)
    typed = tokens[0].value
    return helps.unknown(typed, helps.suggest(words) if words[0] else None)


def _longer_command(name: str, words: list[str], used: int) -> str | None:
    if used >= len(words) or not words[used]:
        return None
    typed = " ".join(words[: used + 1])
    longer = {" ".join(p): n for p, n in PHRASES.items() if len(p) > used and n != name}
    match = difflib.get_close_matches(typed, list(longer), n=1, cutoff=_LONGER_CUTOFF)
    return longer[match[0]] if match else None

"""A cursor over a command's argument tokens, and the errors a command parser raises.

Parsers read left to right with small helpers; any problem is an ArgError whose message is
already safe Slack mrkdwn, which the grammar turns into that command's Help.
"""

from __future__ import annotations

from collections.abc import Callable

from remedy.commands import lexer
from remedy.commands.catalog import CATALOG
from remedy.commands.lexer import Token
from remedy.commands.model import Command, PersonRef
from remedy.commands.people import PersonError, person
from remedy.slack import mrkdwn

ECHO_MAX = 60
# Jira rejects comments over 32767 characters; no free-text field needs more.
MAX_TEXT_CHARS = 32_000


def code(text: str) -> str:
    """User text shown back as inline code: shortened, escaped, unable to break out."""
    return mrkdwn.inline_code(mrkdwn.truncate(" ".join(text.split()), ECHO_MAX))


class ArgError(Exception):
    """Right command, wrong arguments. `message` is safe mrkdwn; `suggestion` is the likely fix."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


class MissingKey(ArgError):
    """No ticket key given and no focus ticket to fall back on."""


def near_key_error(key: str) -> ArgError:
    return ArgError(f"Did you mean {code(key)}? Ticket keys have a dash, like `CPE-3222`.", suggestion=key)


def read_person(token: Token | None, what: str = "person") -> PersonRef:
    if token is None:
        raise ArgError(f"Which {what}? Use a mention, a handle, an email or a quoted full name.")
    try:
        return person(token)
    except PersonError as err:
        raise ArgError(f"{code(token.value)}: {mrkdwn.escape(str(err))}.") from None


def limited(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise ArgError(f"That text is {len(text)} characters; keep it under {MAX_TEXT_CHARS}.")
    return text


class Args:
    """`phrase` is the command as typed (casefolded words: `block` for `add blocker`), for parsers
    whose arguments read differently under an alias."""

    def __init__(self, text: str, tokens: list[Token], focus: str | None, phrase: str = "") -> None:
        self.text = text
        self.tokens = tokens
        self.focus = focus
        self.phrase = phrase
        self.i = 0

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        """Casefolded word at the cursor (+ahead), or "" when there is none or it is not a word."""
        token = self.peek(ahead)
        return token.low if token else ""

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def skip(self, *words: str) -> bool:
        """Consume the next token if it is one of `words` (filler such as `to`, `on`)."""
        if self.word() in words:
            self.i += 1
            return True
        return False

    def take_flag(self, *spellings: str) -> bool:
        """Remove a flag wherever it appears among the remaining tokens."""
        for j in range(self.i, len(self.tokens)):
            if self.tokens[j].low in spellings:
                del self.tokens[j]
                return True
        return False

    def key(self) -> str | None:
        """An explicit key at the cursor; a likely-mistyped key is an error, anything else None."""
        found = lexer.as_key(self.peek())
        if found:
            self.i += 1
            return found
        guess = lexer.near_key(self.tokens, self.i, lenient=False, focus=self.focus)
        if guess:
            raise near_key_error(guess)
        return None

    def need_key(self, what: str) -> str:
        """A key that must be typed (never from focus); `what` names it in the error."""
        found = lexer.as_key(self.peek())
        if found:
            self.i += 1
            return found
        guess = lexer.near_key(self.tokens, self.i, lenient=True, focus=self.focus)
        if guess:
            raise near_key_error(guess)
        token = self.peek()
        if token is None:
            raise ArgError(f"Which {what}? Add its key, like `CPE-3222`.")
        raise ArgError(f"{code(token.value)} is not a ticket key; keys look like `CPE-3222`.")

    def resolve(self, explicit: str | None) -> tuple[str, bool]:
        """(key, key_from_focus): the typed key, else the focus ticket, else MissingKey."""
        if explicit:
            return explicit, False
        if self.focus:
            return self.focus, True
        raise MissingKey("Which ticket?")

    def rest_raw(self) -> str:
        token = self.peek()
        return self.text[token.start :] if token else ""

    def free_text(self) -> str:
        """Everything left, as free text; consumes it."""
        raw = self.rest_raw()
        self.i = len(self.tokens)
        return limited(lexer.read_free(raw))

    def person(self, what: str = "person") -> PersonRef:
        found = read_person(self.peek(), what)
        self.i += 1
        return found

    def end(self) -> None:
        """Fail on leftovers, pointing at a mistyped key when that is what they look like."""
        token = self.peek()
        if token is None:
            return
        guess = lexer.near_key(self.tokens, self.i, lenient=True, focus=self.focus)
        if guess:
            raise near_key_error(guess)
        raise ArgError(f"I didn't expect {code(self.rest_raw_value())} here.")

    def rest_raw_value(self) -> str:
        return mrkdwn.unescape(self.rest_raw())


Parser = Callable[[Args], Command]


def simple(cls: type[Command]) -> Parser:
    """Parser for commands whose only argument is the ticket key, per the catalog's key rule."""
    rule = CATALOG[cls.name].key

    def parse(args: Args) -> Command:
        if rule == "none":
            args.end()
            return cls()
        if rule == "required":
            key = args.need_key("ticket")
            args.end()
            return cls(key=key)
        explicit = args.key()
        args.end()
        key, from_focus = args.resolve(explicit)
        return cls(key=key, key_from_focus=from_focus)

    return parse

"""Bulk commands (many tickets at once), Insight commands, and work Session commands."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from remedy.commands.args import ArgError, Args, Parser, code, limited, near_key_error, simple
from remedy.commands.lexer import Token, as_key, emit_free, near_key, quote, read_free
from remedy.commands.model import Command, Scope, When
from remedy.commands.people import is_separator, split_words
from remedy.commands.ticket import short
from remedy.commands.timespec import MAX_SESSION_MINUTES, duration_minutes, format_minutes, read_when
from remedy.slack import mrkdwn

_SCOPE_LEAD = ("on", "in", "for", "across", "under")
MAX_SCOPE_KEYS = 100


class FocusEpic(Command):
    name: ClassVar[str] = "focus epic"


class Risks(Command):
    name: ClassVar[str] = "risks"


class TeamImpact(Command):
    name: ClassVar[str] = "team impact"


class ComplianceGaps(Command):
    name: ClassVar[str] = "compliance gaps"


class SessionStatus(Command):
    name: ClassVar[str] = "status"


class NextAction(Command):
    name: ClassVar[str] = "next"


class CompleteSession(Command):
    name: ClassVar[str] = "complete session"


class BatchComment(Command):
    name: ClassVar[str] = "batch comment"
    body: str
    scope: Scope = Scope()

    def describe(self) -> str:
        return f"Commenting on {mrkdwn.escape(self.scope.describe())}: “{short(self.body)}”"

    def text(self) -> str:
        body = quote(self.body) or mrkdwn.escape(self.body)
        return f"batch comment {body}{scope_text(self.scope, 'on')}"


class CloseAllResolved(Command):
    name: ClassVar[str] = "close all resolved"
    scope: Scope = Scope()

    def describe(self) -> str:
        return f"Closing resolved tickets in {mrkdwn.escape(self.scope.describe())}"

    def text(self) -> str:
        return f"close all resolved{scope_text(self.scope, 'in')}"


class ComplianceReport(Command):
    name: ClassVar[str] = "compliance report"
    scope: Scope = Scope()

    def describe(self) -> str:
        return f"Building the compliance report for {mrkdwn.escape(self.scope.describe())}"

    def text(self) -> str:
        return f"compliance report{scope_text(self.scope, 'for')}"


class ExecSummary(Command):
    """Leadership one-pager over `scope` (default: every remediation) for the last `period`."""

    name: ClassVar[str] = "exec summary"
    scope: Scope = Scope()
    period: Literal["week", "month", "quarter"] = "week"

    def describe(self) -> str:
        what = "all remediations" if self.scope.kind == "default" else mrkdwn.escape(self.scope.describe())
        return f"Building the executive summary of {what} for the last {self.period}"

    def text(self) -> str:
        return f"exec summary {self.period}{scope_text(self.scope, 'for')}"


class AuditTrail(Command):
    """Audit events for `key`, or for every ticket when `key` is None (`audit trail all`)."""

    name: ClassVar[str] = "audit trail"
    since: When | None = None

    def describe(self) -> str:
        since = f" since {mrkdwn.escape(self.since.raw)}" if self.since else ""
        return f"Collecting the audit trail for {self.key or 'all tickets'}{since}"

    def text(self) -> str:
        since = f" since {self.since.raw}" if self.since else ""
        return f"audit trail {self.key or 'all'}{since}"


class StartSession(Command):
    name: ClassVar[str] = "start session"
    minutes: int = Field(ge=1, le=MAX_SESSION_MINUTES)

    def describe(self) -> str:
        return f"Planning a {format_minutes(self.minutes)} work session"

    def text(self) -> str:
        return f"start session {format_minutes(self.minutes)}"


def scope_text(scope: Scope, lead: str) -> str:
    if scope.kind == "epic":
        return f" {lead} epic {scope.epic}" if scope.epic else f" {lead} epic"
    if scope.kind == "keys":
        return f" {lead} " + " ".join(scope.keys)
    if scope.kind == "jql":
        return f" {lead} jql {emit_free(scope.jql or '')}"
    return ""


def read_scope(args: Args) -> Scope:
    args.skip(*_SCOPE_LEAD)
    word = args.word()
    if args.done() or word in ("mine", "my"):
        args.skip("mine", "my")
        args.skip("tickets")
        args.end()
        return Scope()
    if word == "epic":
        args.take()
        epic = args.key()
        args.end()
        return Scope(kind="epic", epic=epic)
    if word == "jql":
        args.take()
        jql = args.free_text()
        if not jql:
            raise ArgError('Which query? Put the JQL in quotes: `jql "project = CPE AND status = Pilot"`.')
        return Scope(kind="jql", jql=jql)
    return Scope(kind="keys", keys=_read_keys(args))


def _read_keys(args: Args) -> tuple[str, ...]:
    tokens = split_words(args.tokens[args.i :])
    keys: list[str] = []
    for j, token in enumerate(tokens):
        if is_separator(token):
            continue
        key = as_key(token)
        if key is None:
            guess = near_key(tokens, j, lenient=True, focus=args.focus)
            if guess:
                raise near_key_error(guess)
            hint = 'Use `epic [KEY]`, ticket keys or `jql "…"`.'
            raise ArgError(f"{code(token.value)} is not a scope. {hint}")
        keys.append(key)
    args.i = len(args.tokens)
    unique = tuple(dict.fromkeys(keys))
    if not unique:
        raise ArgError('Which tickets? Use `epic [KEY]`, ticket keys or `jql "…"`.')
    if len(unique) > MAX_SCOPE_KEYS:
        raise ArgError(f"That is {len(unique)} tickets; name at most {MAX_SCOPE_KEYS} or use `jql`.")
    return unique


def _batch_comment(args: Args) -> Command:
    first = args.peek()
    if first is None:
        raise ArgError('What should the comment say? `batch comment "Weekly security update"`.')
    if first.kind == "quoted" and first.closed:
        start = args.i
        args.take()
        if args.done() or args.word() in _SCOPE_LEAD:
            body = mrkdwn.unescape(first.body).strip()
            return _batch(body, read_scope(args))
        args.i = start
    for j in _scope_starts(args.tokens, args.i):
        if (scope := _scope_at(args, j)) is not None:
            body = read_free(args.text[first.start : args.tokens[j].start])
            return _batch(body, scope)
    return _batch(args.free_text(), Scope())


def _scope_starts(tokens: list[Token], start: int) -> list[int]:
    """Where an unquoted comment may end: the first `on jql`, or the `on` before trailing keys/epic.

    Only these can start a scope that runs to the end, so each is tried once (linear, not
    quadratic, on long text).
    """
    pairs = range(start + 1, len(tokens) - 1)
    starts = [next((j for j in pairs if tokens[j].low == "on" and tokens[j + 1].low == "jql"), -1)]
    k = len(tokens)
    while k > start + 1 and _keyish(tokens[k - 1]):
        k -= 1
    if k > start + 1 and tokens[k - 1].low == "epic":
        k -= 1
    if k > start + 1 and tokens[k - 1].low == "on":
        starts.append(k - 1)
    return sorted({j for j in starts if j > start})


def _keyish(token: Token) -> bool:
    return is_separator(token) or all(as_key(part) for part in split_words([token]))


def _scope_at(args: Args, j: int) -> Scope | None:
    probe = Args(args.text, list(args.tokens), args.focus)
    probe.i = j
    try:
        scope = read_scope(probe)
    except ArgError:
        return None
    return scope if probe.done() and scope.kind != "default" else None


def _batch(body: str, scope: Scope) -> Command:
    if not body:
        raise ArgError('What should the comment say? `batch comment "Weekly security update"`.')
    return BatchComment(body=limited(body), scope=scope)


def _close_all(args: Args) -> Command:
    return CloseAllResolved(scope=read_scope(args))


def _compliance_report(args: Args) -> Command:
    return ComplianceReport(scope=read_scope(args))


_PERIODS = {"week": "week", "weekly": "week", "7d": "week", "month": "month", "monthly": "month",
            "30d": "month", "quarter": "quarter", "quarterly": "quarter", "90d": "quarter"}
_PERIOD_FILLER = ("last", "past", "this", "the", "for", "over")


def _exec_summary(args: Args) -> Command:
    # The period comes first or last ("exec summary month", "… epic CPE-123 for the last month").
    while args.word() in _PERIOD_FILLER and args.word(1) in _PERIODS:
        args.take()
    period = _PERIODS.get(args.word())
    if period is not None:
        args.take()
    elif args.tokens and args.tokens[-1].kind == "word" and args.tokens[-1].low in _PERIODS:
        if "jql" in (t.low for t in args.tokens[args.i:]):  # the query is read from the raw text to its end
            raise ArgError('Put the period before the query: `exec summary month jql "project = CPE"`.')
        period = _PERIODS[args.tokens[-1].low]
        args.tokens = args.tokens[:-1]
        while len(args.tokens) > args.i and args.tokens[-1].low in _PERIOD_FILLER:
            args.tokens = args.tokens[:-1]
    return ExecSummary(scope=read_scope(args), period=period or "week")


def _audit_trail(args: Args) -> Command:
    every = args.skip("all", "everything")
    explicit = None if every else args.key()
    since = None
    if args.skip("since", "from", "after"):
        found = read_when(args.tokens, args.i)
        if found is None:
            raise ArgError("Since when? Use a day or date such as `yesterday`, `mon` or `2026-11-01`.")
        since, args.i = found
    args.end()
    if every:
        return AuditTrail(since=since)
    key, from_focus = args.resolve(explicit)
    return AuditTrail(key=key, key_from_focus=from_focus, since=since)


def _start_session(args: Args) -> Command:
    args.skip("for")
    typed = " ".join(token.value for token in args.tokens[args.i :])
    if not typed:
        raise ArgError("How long? Add a duration such as `2h`, `90m` or `1h30m`.")
    minutes = duration_minutes(typed)
    if minutes is None:
        raise ArgError(f"{code(typed)} is not a duration; use `2h`, `90m` or `1h30m`.")
    if minutes > MAX_SESSION_MINUTES:
        raise ArgError(f"Sessions last at most {MAX_SESSION_MINUTES // 60}h.")
    args.i = len(args.tokens)
    return StartSession(minutes=minutes)


def _status(args: Args) -> Command:
    key = as_key(args.peek())
    if key:
        hint = f"`status` shows your work session. For a ticket try {code('analyze ' + key)}."
        raise ArgError(hint, suggestion="analyze")
    args.end()
    return SessionStatus()


PARSERS: dict[str, Parser] = {
    "focus epic": simple(FocusEpic),
    "batch comment": _batch_comment,
    "close all resolved": _close_all,
    "compliance report": _compliance_report,
    "risks": simple(Risks),
    "team impact": simple(TeamImpact),
    "compliance gaps": simple(ComplianceGaps),
    "audit trail": _audit_trail,
    "exec summary": _exec_summary,
    "start session": _start_session,
    "status": _status,
    "next": simple(NextAction),
    "complete session": simple(CompleteSession),
}

"""The subset of JQL remedy uses, parsed for real; anything else is a 400 worded as Jira words it.

Supported: ``field = value`` and ``field in (a, b)`` for key, parent, status, assignee, labels and
project; ``updated``/``created`` compared (``=``, ``>=``, ``>``, ``<=``, ``<``) with a date, a date and
time, a relative period (``-3d``, ``-2w``, ``-4h``, ``-30m``), ``now()`` or ``startOfDay()``; clauses
joined by AND; ``ORDER BY`` key, created, updated or priority, each ASC or DESC.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from remedy.sandbox import seed
from remedy.sandbox.seed import IssueRecord

if TYPE_CHECKING:
    from remedy.sandbox.jira_state import JiraState


class JqlError(ValueError):
    """A JQL problem, worded the way Jira words it in ``errorMessages``."""


_UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_SUPPORTED = (
    "supported: key, parent, status, assignee, labels, project with = or in; updated and created with "
    "=, >=, >, <=, <; joined by AND; ORDER BY key, created, updated or priority"
)
_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s(),"'=!~<>]+(?:\(\))?)"""
_CLAUSE = re.compile(
    rf"\s*(?P<field>\w+)\s*(?:(?P<op>>=|<=|>|<|=)\s*(?P<value>{_VALUE})"
    rf"|(?i:in)\s*\((?P<list>\s*{_VALUE}(?:\s*,\s*{_VALUE})*)\s*\))"
)
# After a clause: AND and another clause, ORDER BY and its sort keys, or the end.
_TAIL = re.compile(r"\s+(?P<and>AND)\s+|\s+ORDER\s+BY\s+(?P<order>.+)$|\s*$", re.IGNORECASE | re.DOTALL)
_ONLY_ORDER = re.compile(r"\s*(?:ORDER\s+BY\b.*)?", re.IGNORECASE | re.DOTALL)
_SORT_KEY = re.compile(r"\s*(?P<field>\w+)(?:\s+(?P<dir>ASC|DESC))?\s*", re.IGNORECASE)
# For each set-valued field, the values an issue has (compared with the query's canonical values).
_ISSUE_VALUES: dict[str, Callable[[IssueRecord], set[str | None]]] = {
    "key": lambda i: {i.key}, "issuekey": lambda i: {i.key}, "parent": lambda i: {i.parent_key},
    "status": lambda i: {i.status}, "assignee": lambda i: {i.assignee},
    "labels": lambda i: {label.lower() for label in i.labels}, "project": lambda i: {seed.PROJECT["key"]},
}  # fmt: skip
_DATES: dict[str, Callable[[IssueRecord], datetime]] = {"updated": lambda i: i.updated, "created": lambda i: i.created}
_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "=": operator.eq, ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}  # fmt: skip
_SORTS: dict[str, Callable[[IssueRecord], float]] = {
    "key": lambda i: int(i.key.split("-")[1]), "issuekey": lambda i: int(i.key.split("-")[1]),
    "created": lambda i: i.created.timestamp(), "updated": lambda i: i.updated.timestamp(),
    # Jira ranks Highest above Lowest, so "ORDER BY priority DESC" lists Highest (id 1) first.
    "priority": lambda i: -int(seed.PRIORITIES[i.priority]),
}  # fmt: skip
_UNFILTERED = ("summary", "text", "priority")  # real Jira fields this simulator cannot filter on
_PERIOD = re.compile(r"(?P<sign>[-+]?)(?P<n>\d+)(?P<unit>[wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_BAD_DATE = (
    "Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
    "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)

Predicate = Callable[[IssueRecord], bool]


@dataclass(frozen=True)
class JqlQuery:
    """A parsed query: which issues match, and the ``ORDER BY`` (by key ascending when absent)."""

    checks: tuple[Predicate, ...]
    order: tuple[tuple[str, bool], ...] = (("key", False),)  # (field, descending)

    def __call__(self, issue: IssueRecord) -> bool:
        return all(check(issue) for check in self.checks)

    def sort(self, issues: list[IssueRecord]) -> list[IssueRecord]:
        ordered = sorted(issues, key=_SORTS["key"])  # the final tie-break, as Jira's is by id
        for name, descending in reversed(self.order):
            ordered.sort(key=_SORTS[name], reverse=descending)  # stable: earlier keys win
        return ordered


def parse_jql(jql: str, state: JiraState) -> JqlQuery:
    """The query ``jql`` asks for; raises JqlError where Jira would answer 400."""
    if _ONLY_ORDER.fullmatch(jql):
        raise JqlError(_UNBOUNDED)
    checks: list[Predicate] = []
    pos = 0
    while True:
        clause = _CLAUSE.match(jql, pos)
        name = clause["field"].lower() if clause else (re.findall(r"\w+", jql[pos:]) or ["?"])[0].lower()
        # A real field used in a way the simulator cannot run is "cannot run", not "does not exist".
        if name in _UNFILTERED or (clause is None and name in (*_ISSUE_VALUES, *_DATES)):
            raise JqlError(f"The remedy Jira simulator cannot run '{jql[pos:].strip()[:50]}' ({_SUPPORTED}).")
        if clause is None or name not in (*_ISSUE_VALUES, *_DATES):
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        checks.append(_check(state, name, clause))
        tail = _TAIL.match(jql, clause.end())
        if tail is None:
            word = jql[clause.end() :].split()[0]
            raise JqlError(f"The remedy Jira simulator does not support '{word}' ({_SUPPORTED}).")
        if tail["order"]:
            return JqlQuery(tuple(checks), _order(tail["order"]))
        if not tail["and"]:
            return JqlQuery(tuple(checks))
        pos = tail.end()


def _check(state: JiraState, name: str, clause: re.Match[str]) -> Predicate:
    op = clause["op"] or "in"
    if name in _DATES:
        if op == "in":
            raise JqlError(f"The operator 'in' is not supported by the '{name}' field.")
        moment, compare, get = _moment(state, name, clause["value"]), _COMPARE[op], _DATES[name]
        return lambda issue: compare(get(issue), moment)
    if op not in ("=", "in"):
        raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
    values = re.findall(_VALUE, clause["list"]) if clause["list"] else [clause["value"]]
    wanted, values_of = {_canonical(state, name, value) for value in values}, _ISSUE_VALUES[name]
    return lambda issue: bool(values_of(issue) & wanted)


def _order(text: str) -> tuple[tuple[str, bool], ...]:
    order = []
    for part in text.split(","):
        sort_key = _SORT_KEY.fullmatch(part)
        if sort_key is None:
            raise JqlError(f"The remedy Jira simulator cannot order by '{part.strip()}' ({_SUPPORTED}).")
        name = sort_key["field"].lower()
        if name not in _SORTS:
            raise JqlError(f"The remedy Jira simulator cannot order by '{name}' ({_SUPPORTED}).")
        order.append((name, (sort_key["dir"] or "ASC").upper() == "DESC"))
    return tuple(order)


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value[1:-1]) if value[:1] in ('"', "'") else value


def _moment(state: JiraState, field_name: str, raw: str) -> datetime:
    """A JQL date value as a moment; dates are midnight and times minutes, in the caller's zone (UTC)."""
    value, now = _unquote(raw).strip(), state.clock().astimezone(UTC)
    if value.lower() == "now()":
        return now
    if value.lower() == "startofday()":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = _PERIOD.fullmatch(value)
    if period:
        delta = timedelta(**{_UNITS[period["unit"]]: int(period["n"])})
        return now - delta if period["sign"] == "-" else now + delta
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(_BAD_DATE.format(value=value, field=field_name))


def _canonical(state: JiraState, field_name: str, value: str) -> str | None:
    """The stored form of a (possibly quoted) JQL value; unknown values are a 400, as in Jira."""
    value = _unquote(value)
    low = value.lower()
    if field_name in ("key", "issuekey", "parent"):
        issue = state.find_issue(value)
        if issue is None:
            raise JqlError(f"An issue with key '{value}' does not exist for field '{field_name}'.")
        return issue.key
    if field_name == "status" and low in (names := {s.name.lower(): s.name for s in seed.WORKFLOW}):
        return names[low]
    if field_name == "assignee" and (low in ("empty", "null", "currentuser()") or value in state.users):
        return None if low in ("empty", "null") else state.myself_id if low == "currentuser()" else value
    if field_name == "labels":
        return low
    if field_name == "project" and low in (seed.PROJECT["key"].lower(), seed.PROJECT["id"]):
        return seed.PROJECT["key"]
    raise JqlError(f"The value '{value}' does not exist for the field '{field_name}'.")

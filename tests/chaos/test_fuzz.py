"""Bad input: whatever a user types, `/remedy` answers (never an exception), never broadcasts, never
links where the user didn't, never splices user text into JQL, and refuses oversized input clearly.

The grammar fuzz parses only (no I/O) so 10,000 examples take seconds; the hostile commands then go
through the real app (signed requests, real Redis and PostgreSQL, the jobs, the simulators) to show
that what Slack and Jira finally receive is clean too.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remedy.commands import CATALOG, Command, Help, parse
from remedy.commands.grammar import MAX_INPUT_CHARS
from remedy.jira.jql import in_list, quote
from remedy.sandbox.jira_state import JiraState
from remedy.sandbox.jql import parse_jql
from remedy.sandbox.run import Sandbox
from remedy.sandbox.slack_state import SlackState
from remedy_cli.embedded import Runtime
from tests.chaos.conftest import ChaosReport
from tests.conftest import ROOT

BROADCASTS = ("<!channel", "<!here", "<!everyone")
INTERNAL_ERROR = "Sorry, I could not read that command"
# Markup that may stay in a command's text(): mentions, which parse back to the same person. Anything else
# (a link, a broadcast) must come out escaped.
_MARKUP = re.compile(r"<([^<>]*)>")
_MENTION = re.compile(r"[@#][A-Z0-9]+(\|[^<>]*)?|!subteam\^[A-Z0-9]+(\|[^<>]*)?")
HOSTILE = [
    "<!channel>", "<!here>", "<!everyone>", "<!here|here>", "<!channel|@channel>", "<@U123>", "<@U02SARAH|sarah>",
    "<#C0123|ops>", "<!subteam^S0DEV|@dev-team>", "<https://evil.example|click here>", "<mailto:a@evil.example|x>",
    "&lt;!channel&gt;", "&amp;lt;!here&amp;gt;", '" OR project = X', "' OR 1=1 --", '\\" OR key = CPE-1',
    'project = CPE AND status = "Pilot"', "ORDER BY rank", ") OR (project = X", "CPE-3222", "cpe 3222", "epic",
    "on", "jql", "to", "because", "`code`", "*bold*", "~strike~", "> quote", "```", "\u202e", "\u200b", "\x00",
    "🚀", "ünïcödé", "中文", "\n", "\t", '"', "'", "“", "”", "„", "‘", "’", "<", ">", "&", "%s", "{0}", "\\",
]  # fmt: skip
PHRASES = sorted({phrase for spec in CATALOG.values() for phrase in spec.phrases})
commandish = st.builds(
    lambda phrase, rest: " ".join([phrase, *rest]),
    st.sampled_from(PHRASES),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=16)), max_size=12),
)
huge = st.builds(lambda phrase, chunk, times: f"{phrase} {chunk * times}", st.sampled_from(PHRASES),
                 st.sampled_from(["<!channel> ", '" OR ', "x", "<", "🚀", "&lt;"]), st.integers(1_000, 12_000))
inputs = st.one_of(st.text(), st.text(st.characters(codec="utf-8"), max_size=300), commandish, commandish, commandish,
                   huge)


def broadcast_free(text: str) -> bool:
    return not any(b in text for b in BROADCASTS)


def check_echo(result: Command | Help) -> None:
    if isinstance(result, Help):
        assert INTERNAL_ERROR not in result.text  # parse caught an exception: a bug, even if answered
        shown = result.text + json.dumps(result.blocks())
        assert "<" not in result.text and broadcast_free(shown)
        return
    line, text = result.describe(), result.text()
    assert "<" not in line and broadcast_free(line)
    assert broadcast_free(text)
    assert all(_MENTION.fullmatch(m) for m in _MARKUP.findall(text)), text[:300]  # no link markup
    json.dumps(result.args())


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=inputs)
def test_grammar_fuzz_never_raises_never_broadcasts(text: str) -> None:
    check_echo(parse(text))
    check_echo(parse(text, focus="CPE-3222"))


@settings(max_examples=2_000, deadline=None)
@given(values=st.lists(st.one_of(st.sampled_from(HOSTILE), st.text()), min_size=1, max_size=4))
def test_quote_and_in_list_keep_any_text_one_literal(values: list[str]) -> None:
    """Jira's string literal is "…" with backslash escapes: whatever the value, quote() yields exactly one
    literal that reads back as the value, so no user text can end it and add a clause."""
    literal = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
    for value in values:
        found = literal.fullmatch(quote(value))
        assert found is not None and re.sub(r"\\(.)", r"\1", found.group(1), flags=re.DOTALL) == value
    state = JiraState.seeded()
    query = parse_jql(f"{in_list('labels', values)} AND status = {quote('Pilot')}", state)
    assert len(query.checks) == 2  # the simulator's real JQL parser sees two clauses, whatever the values


# -- every JQL remedy builds: values through quote()/in_list() -------------------------------------------
_JQL_WORDS = re.compile(r"(\s=\s|\bin\s*\(|\bORDER BY\b|\bAND\b|\bOR\b)")
_SAFE_CALLS = frozenset({"quote", "in_list", "_epic_jql"})


def _jql_fstrings() -> Iterator[tuple[str, int, str]]:
    """(file, line, unsafe part) for f-strings that look like JQL and format anything but quote()/in_list()."""
    for path in [*(ROOT / "remedy").rglob("*.py"), *(ROOT / "workers").glob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        if "sandbox" in path.parts:
            continue  # the simulators parse JQL; they build none
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            if not _JQL_WORDS.search(literal) or not re.search(r"\b(assignee|parent|key|status|project|labels)\b",
                                                                 literal):
                continue
            for part in node.values:
                if isinstance(part, ast.FormattedValue) and not _safe(part.value):
                    yield str(path.relative_to(ROOT)), node.lineno, ast.unparse(part.value)


def _safe(expr: ast.expr) -> bool:
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id in _SAFE_CALLS


def test_every_jql_remedy_builds_quotes_its_values() -> None:
    """Keys, epics, account ids and statuses reach JQL only as quoted literals. The one exception is by
    design: the `jql "…"` scope of bulk commands (`batch comment`, `compliance report`, …) is the user's own
    query, run as the user typed it, with remedy's Jira account; the catalog says so ("passed to Jira as is")."""
    assert list(_jql_fstrings()) == []
    searches = [p for p in (ROOT / "remedy").rglob("*.py") if "sandbox" not in p.parts
                and ".search(" in p.read_text(encoding="utf-8")]
    assert any(p.name == "scope.py" for p in searches)  # the scan does look where the JQL is built
    assert "passed to Jira as is" in json.dumps([spec.details for spec in CATALOG.values()])


# -- hostile commands through the real app ---------------------------------------------------------------
@pytest.fixture
def rt(chaos_pg: str, chaos_redis: str) -> Iterator[Runtime]:
    sandbox = Sandbox.start(fleet_size=60)
    runtime = Runtime.start(sandbox, chaos_pg, redis_url=chaos_redis, REMEDY_RETRY_DELAYS=[0])
    yield runtime
    runtime.stop()
    sandbox.stop()


def slack_shows(state: SlackState) -> list[str]:
    """Everything the workspace shows: messages with their edit history, ephemerals, response-URL posts."""
    shown = [m.text + json.dumps(m.blocks) + json.dumps(m.history) for m in state.all_messages()]
    shown += [e.text + json.dumps(e.blocks) for e in state.ephemerals]
    shown += [p.text + json.dumps(p.blocks) for url in list(state._responses) for p in state.response_posts(url)]
    return shown


HOSTILE_COMMANDS = [  # (user, text)
    ("U01ALICE", 'comment CPE-3222 "<!channel> patch now <https://evil.example|login here>"'),
    ("U01ALICE", "comment CPE-3301 <!here> &lt;!everyone&gt; <@U02SARAH> please look"),
    ("U01ALICE", "escalate CPE-3222 to sarah <!channel> urgent <https://evil.example|x>"),
    ("U02SARAH", 'assign CPE-3222 to "\\" OR project = X"'),
    ("U02SARAH", 'compliance report on epic "CPE-1\\" OR project = X"'),
    ("U02SARAH", "compliance report on CPE-3222 CPE-3301"),
    ("U02SARAH", 'batch comment "<!here> weekly <https://evil.example|update>" on CPE-3222 CPE-3301'),
    ("U02SARAH", "priority CPE-3445 P2 because <!everyone> said so"),
    ("U01ALICE", "priorities"),
    ("U01ALICE", "work CPE-3222\" OR project = X"),
    ("U01ALICE", "<!channel>"),
]


def test_hostile_commands_reach_slack_and_jira_clean(rt: Runtime, chaos_report: ChaosReport) -> None:
    sent = [rt.slash(text, user=user) for user, text in HOSTILE_COMMANDS]
    rt.drain()
    assert all(s.status == 200 for s in sent)
    finals = [rt.sandbox.slack_state.response_view(s.response_url) for s in sent]
    answered = [f.text if f else s.ack_text for s, f in zip(sent, finals, strict=True)]
    assert all(a and INTERNAL_ERROR not in a for a in answered), answered  # every one got a real answer
    shown = slack_shows(rt.sandbox.slack_state)
    assert all(broadcast_free(text) and "<https://evil" not in text for text in shown)
    # Jira got the comments as plain text (where they are harmless) and every search's values quoted.
    comments = [c for k in ("CPE-3222", "CPE-3301") for c in rt.sandbox.jira_state.issues[k].comments]
    assert sum("<!channel> patch now" in json.dumps(c.body) for c in comments) == 1  # once, not lost or doubled
    searches = [r.body["jql"] for r in rt.sandbox.jira_state.requests if r.path.endswith("/search/jql") and r.body]
    assert len(searches) >= 2  # `priorities` (assignee) and the report (keys) searched
    unquoted = [re.sub(r'"(?:[^"\\]|\\.)*"', '""', jql) for jql in searches]
    assert not any("project = X" in u or " OR " in u for u in unquoted), searches
    refused = sum(1 for s, a in zip(sent, answered, strict=True) if a.startswith("❌") or a == s.ack_text)
    applied = len(sent) - refused
    chaos_report.add("bad input: hostile commands", runs=len(sent), applied=applied, refused=refused)


def test_oversized_input_is_refused_at_the_ack(rt: Runtime, chaos_report: ChaosReport) -> None:
    """remedy's limits: 40,000 characters a command (remedy.commands.grammar), 32,000 of free text (Jira's
    comment limit is 32,767), checked by parse in the ack, before anything is enqueued. (Slack's own form
    may limit less; remedy does not rely on it.)"""
    big_slash = "work CPE-3222 " + "x " * 25_000  # 50 KB
    big_comment = 'comment CPE-3222 "' + "a" * 100_000 + '"'  # 100 KB
    just_over = 'comment CPE-3222 "' + "b" * 33_000 + '"'
    sent = [rt.slash(t) for t in (big_slash, big_comment, just_over)]
    assert [s.status for s in sent] == [200, 200, 200]
    assert sent[0].ack_text == f"That is 50014 characters; commands must be under {MAX_INPUT_CHARS}."
    assert sent[1].ack_text == f"That is 100019 characters; commands must be under {MAX_INPUT_CHARS}."
    assert "That text is 33000 characters; keep it under 32000." in sent[2].ack_text
    queue = redis.Redis.from_url(rt.services.settings.REDIS_URL)
    assert rt.services.queue.rq.count == 0 and not queue.keys("rq:job:*")  # nothing enqueued
    rt.drain()
    assert len(rt.sandbox.jira_state.issues["CPE-3222"].comments) == len(JiraState.seeded().issues["CPE-3222"].comments)
    chaos_report.add("bad input: oversized", runs=3, refused=3)

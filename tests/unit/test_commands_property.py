"""Properties of `parse`: it never raises, never echoes Slack markup, and `text()` round-trips."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remedy.commands import CATALOG, Command, Comment, Help, parse, parse_button
from remedy.slack import mrkdwn

PHRASES = sorted({phrase for spec in CATALOG.values() for phrase in spec.phrases})
FRAGMENTS = [
    "CPE-3222",
    "cpe-3301",
    "CPE3222",
    "cpe",
    "3222",
    "OPS-1",
    "CPE–12",
    "(CPE-7),",
    "<@U02SARAH>",
    "<@U02SARAH|sarah>",
    "<!subteam^S0DEV|@dev-team>",
    "<#C0123|ops>",
    "<#C0123|>",
    "<mailto:a@b.co|a@b.co>",
    "<https://evil.example|click>",
    "<https://x.atlassian.net/browse/CPE-9|CPE-9>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "&lt;!channel&gt;",
    "&lt;",
    "&gt;",
    "&amp;",
    "&amp;lt;",
    "<",
    ">",
    "to",
    "on",
    "in",
    "with",
    "because",
    "epic",
    "jql",
    "all",
    "since",
    "and",
    ",",
    "at",
    "help",
    "--help",
    "--no-jira",
    "—no-jira",
    "tomorrow",
    "mon",
    "2026-12-01",
    "2026-02-30",
    "15:00",
    "9:30",
    "3",
    "pm",
    "25:99",
    "Europe/Berlin",
    "europe/berln",
    "UTC",
    "../etc/passwd",
    "weekdays",
    "daily",
    "2h",
    "90m",
    "1h30m",
    "1.5h",
    "P1",
    "p4",
    "P9",
    "high",
    "LOWEST",
    "hihg",
    "by",
    "about",
    "pilot",
    "Build",
    "&amp;",
    "test",
    "in progress",
    "sarah",
    "@john",
    "john.smith",
    "dev-team",
    "Sarah",
    "Chen",
    "a@b.co",
    "#ops",
    "GoogleChrome-120.pkg",
    "7f3a9c2e",
    '"',
    "'",
    "“",
    "”",
    "‘",
    "’",
    '"quoted text"',
    "'single'",
    "“smart”",
    '"unterminated',
    'project = CPE AND status = "Pilot"',
    "ORDER BY rank",
    "🚀",
    "ünï",
    "\u200b",
    "\x00",
    "\n",
    "\t",
    "`",
    "*bold*",
    "_it_",
    "{key}",
    "%s",
    "\\",
    "/remedy",
    "remedy",
]


def _joined(parts: list[str]) -> str:
    return " ".join(parts)


commandish = st.builds(
    lambda phrase, rest, sep: phrase + sep + _joined(rest),
    st.sampled_from(PHRASES),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=10),
    st.sampled_from([" ", "  ", "\n", " \t"]),
)
huge = st.builds(
    lambda phrase, chunk, times: f"{phrase} {chunk * times}",
    st.sampled_from(PHRASES),
    st.sampled_from(["x ", "<", "&lt;!channel&gt; ", '"', "CPE-1 ", "on ", "🚀", "<@U1> ", "a"]),
    st.integers(min_value=1_000, max_value=40_000),
)
inputs = st.one_of(st.text(), commandish, commandish, commandish)
focuses = st.one_of(st.none(), st.just("CPE-3222"), st.just("cpe-3301"), st.text(max_size=10))


def check(result: Command | Help) -> None:
    assert isinstance(result, (Command, Help))
    if isinstance(result, Help):
        assert "<" not in result.text
        blocks = result.blocks()
        assert 1 <= len(blocks) <= mrkdwn.BLOCKS_MAX
        assert all(0 < len(block["text"]["text"]) <= mrkdwn.SECTION_TEXT_MAX for block in blocks)
        return
    line = result.describe()
    assert line and "<" not in line
    json.dumps(result.args())
    result.needs()
    result.job()
    explicit = result.model_copy(update={"key_from_focus": False})
    assert parse(result.text(), focus=None) == explicit, result.text()[:300]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=inputs, focus=focuses)
def test_parse_never_raises_and_never_echoes_markup(text: str, focus: str | None) -> None:
    check(parse(text, focus=focus))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=huge, focus=focuses)
def test_huge_input_never_raises(text: str, focus: str | None) -> None:
    check(parse(text, focus=focus))


free_text = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60)
FREE_TEXT_COMMANDS = [
    "comment CPE-1 {}",
    "batch comment {}",
    "batch comment {} on CPE-1 CPE-2",
    "batch comment {} on jql {}",
    "priority CPE-1 P2 because {}",
    "priority CPE-1 highest because {}",
    "draft comment CPE-1 about {}",
    "edit draft CPE-1 {}",
    "escalate CPE-1 to sarah {}",
    "validate package CPE-1 {}",
    "compliance report on jql {}",
    "move CPE-1 to {}",
]


@settings(max_examples=600, deadline=None)
@given(template=st.sampled_from(FREE_TEXT_COMMANDS), first=free_text, second=free_text)
def test_free_text_round_trips(template: str, first: str, second: str) -> None:
    result = parse(template.format(first, second))
    check(result)
    if isinstance(result, Command):
        assert parse(result.text()) == result


plain_text = st.text(
    st.characters(blacklist_categories=["Cc", "Cf", "Cs"], blacklist_characters="\"'“”„‘’"), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(body=plain_text)
def test_comment_keeps_the_users_words(body: str) -> None:
    result = parse(f"comment CPE-1 {mrkdwn.escape(body)}")
    if not body.strip():
        assert isinstance(result, Help) and result.is_error
        return
    assert isinstance(result, Comment)
    assert result.body == body.strip()
    assert "<" not in result.describe()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(action=inputs, ticket=focuses)
def test_buttons_never_raise_and_round_trip(action: str, ticket: str | None) -> None:
    result = parse_button(action, ticket)
    check(result)
    if isinstance(result, Command):
        assert not result.key_from_focus

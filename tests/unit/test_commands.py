"""The `/remedy` grammar: every command in the table, tolerance rules, help, and escaping."""

from __future__ import annotations

import json

import pytest

from remedy.commands import (
    AVAILABLE_JOBS,
    CATALOG,
    COMMAND_TYPES,
    PARSERS,
    AddBlocker,
    Analyze,
    Assign,
    Blocked,
    Command,
    Comment,
    Compliance,
    DailyUpdate,
    DiscardDraft,
    DraftComment,
    EditDraft,
    Escalate,
    Help,
    Jobs,
    Move,
    PostComment,
    Retry,
    Role,
    RolloutNext,
    SetPriority,
    Watch,
    Work,
    parse,
)
from tests.command_cases import CASES, FOCUS, F, K, handle


@pytest.mark.parametrize(("text", "focus", "expected"), CASES, ids=[case[0][:50] for case in CASES])
def test_parses_to_typed_command(text: str, focus: str | None, expected: Command) -> None:
    result = parse(text, focus=focus)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("text", "focus", "expected"), CASES, ids=[case[0][:50] for case in CASES])
def test_text_round_trips(text: str, focus: str | None, expected: Command) -> None:
    explicit = expected.model_copy(update={"key_from_focus": False})
    assert parse(expected.text()) == explicit
    assert parse(expected.text(), focus="OPS-1") == explicit


@pytest.mark.parametrize(("text", "focus", "expected"), CASES, ids=[case[0][:50] for case in CASES])
def test_describe_args_and_role(text: str, focus: str | None, expected: Command) -> None:
    line = expected.describe()
    assert line and "<" not in line and "{" not in line
    args = expected.args()
    assert args["key"] == expected.key and "key_from_focus" not in args
    json.dumps(args)
    assert expected.needs() is CATALOG[expected.name].role
    assert expected.job() == AVAILABLE_JOBS.get(expected.name)


def test_every_catalog_command_is_covered() -> None:
    names = set(CATALOG) - {"help"}
    assert names == set(COMMAND_TYPES) == set(PARSERS)
    assert names == {case[2].name for case in CASES}
    assert all(CATALOG[name].doing or "describe" in COMMAND_TYPES[name].__dict__ for name in names)


@pytest.mark.parametrize("name", sorted(set(CATALOG) - {"help"}))
def test_catalog_examples_parse_to_their_command(name: str) -> None:
    for example in CATALOG[name].examples:
        result = parse(example, focus=FOCUS)
        assert isinstance(result, COMMAND_TYPES[name]), (example, result)


def test_roles_come_from_the_table() -> None:
    assert Work(key="CPE-1").needs() is Role.VIEWER
    assert Move(key="CPE-1", phase="Pilot").needs() is Role.ENGINEER
    assert RolloutNext(key="CPE-1").needs() is Role.ENGINEER  # engineers propose; the Go/No-go buttons need a lead
    assert DailyUpdate(key="CPE-1").needs() is Role.ENGINEER
    assert Role.from_name("lead") is Role.LEAD and Role.from_name(" Admin ") is Role.ADMIN
    assert Role.ADMIN > Role.LEAD > Role.ENGINEER > Role.VIEWER
    with pytest.raises(ValueError, match="unknown role"):
        Role.from_name("owner")


def test_jobs_available_now() -> None:
    assert Work(key="CPE-1").job() == "workers.tickets.work"
    assert Jobs().job() == "workers.ops.list_jobs"
    assert Analyze(key="CPE-1").job() == "workers.analysis.analyze"
    assert Comment(key="CPE-1", body="x").job() == "workers.comments.comment"
    assert DraftComment(key="CPE-1").job() == "workers.comments.draft"
    assert PostComment(key="CPE-1").job() == "workers.comments.post_draft"
    assert DiscardDraft(key="CPE-1").job() == "workers.comments.discard_draft"
    assert EditDraft(key="CPE-1", body="x").job() == "workers.comments.edit_draft"
    assert Move(key="CPE-1", phase="Pilot").job() == "workers.jira_actions.move"
    assert Assign(key="CPE-1", assignee=handle("john")).job() == "workers.jira_actions.assign"
    assert SetPriority(key="CPE-1", priority="High").job() == "workers.jira_actions.set_priority"
    assert AddBlocker(key="CPE-1", blocker="CPE-2").job() == "workers.jira_actions.add_blocker"
    assert Watch(key="CPE-1").job() == "workers.jira_actions.watch"
    assert Blocked().job() == "workers.memory_jobs.blocked"
    assert Compliance(key="CPE-1").job() == "workers.jamf_actions.compliance"
    assert Work(key="cpe-1").args() == {"key": "CPE-1"}
    assert Retry(job_id="abc").args() == {"key": None, "job_id": "abc"}


@pytest.mark.parametrize(
    "text", ["analyze", "move to pilot", "comment hello", "escalate to sarah", "daily update", "audit trail"]
)
def test_no_key_and_no_focus_asks_which_ticket(text: str) -> None:
    result = parse(text)
    assert isinstance(result, Help) and result.is_error
    assert result.text.startswith("Which ticket?")
    assert "`work CPE-3222`" in result.text
    assert result.command == CATALOG[result.command or ""].name


def test_which_ticket_message_names_the_command() -> None:
    result = parse("analyze")
    assert isinstance(result, Help)
    assert result.text == "Which ticket? Add a key (`analyze CPE-3222`) or set a focus with `work CPE-3222`."


def test_work_never_uses_focus() -> None:
    result = parse("work", focus=FOCUS)
    assert isinstance(result, Help) and result.is_error and result.command == "work"


def test_invalid_focus_is_ignored() -> None:
    assert isinstance(parse("analyze", focus="not a key"), Help)
    assert parse("analyze", focus=" cpe-9 ") == Analyze(key="CPE-9", key_from_focus=True)


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("wrok CPE-3222", "work"),
        ("mvoe to pilot", "move"),
        ("escalte to sarah", "escalate"),
        ("daily", "daily update"),
        ("compliance reprot", "compliance report"),
        ("digest hre 09:00 Europe/Berlin", "digest here"),
        ("focus epci CPE-1", "focus epic"),
        ("CPE-3222", "work"),
    ],
)
def test_typos_suggest_a_command(text: str, suggestion: str) -> None:
    result = parse(text, focus=FOCUS)
    assert isinstance(result, Help) and result.is_error
    assert result.suggestion == suggestion
    assert f"`{suggestion}" in result.text


def test_unknown_with_no_close_command() -> None:
    result = parse("xylophone quartet")
    assert isinstance(result, Help) and result.is_error and result.suggestion is None
    assert "`xylophone`" in result.text and "`help`" in result.text


def test_unknown_word_shows_the_usage_line() -> None:
    result = parse("wrok CPE-3222")
    assert isinstance(result, Help)
    assert result.text.startswith("I don't know `wrok`. Did you mean `work`?")
    assert "`work KEY`" in result.text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("work CPE3222", "CPE-3222"),
        ("work cpe 3222", "CPE-3222"),
        ("analyze CPE3222", "CPE-3222"),
        ("analyze cpe 3222", "CPE-3222"),
        ("escalate CPE3222 sarah", "CPE-3222"),
        ("compliance report on CPE1 CPE-2", "CPE-1"),
    ],
)
def test_near_keys_get_did_you_mean(text: str, key: str) -> None:
    result = parse(text)
    assert isinstance(result, Help) and result.is_error
    assert result.suggestion == key
    assert f"Did you mean `{key}`?" in result.text


def test_near_key_uses_focus_project_for_bare_number() -> None:
    result = parse("analyze 3301", focus=FOCUS)
    assert isinstance(result, Help) and result.suggestion == "CPE-3301"


def test_people_that_merely_contain_digits_are_not_keys() -> None:
    result = parse("escalate to john 10 devices failing", focus=FOCUS)
    assert result == Escalate(**F, to=handle("john"), reason="10 devices failing")


def test_unicode_dash_and_punctuation_around_keys() -> None:
    assert parse("work CPE–3222") == Work(**K)
    assert parse("work (CPE-3222),") == Work(**K)


def test_jira_link_counts_as_key() -> None:
    link = "<https://corp.atlassian.net/browse/CPE-3222|https://corp.atlassian.net/browse/CPE-3222>"
    assert parse(f"work {link}") == Work(**K)

"""The `/remedy` grammar: every command in the table, tolerance rules, help, and escaping."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files

import pytest
import yaml

from remedy.commands import (
    AVAILABLE_JOBS,
    CATALOG,
    COMMAND_TYPES,
    PARSERS,
    PHASES,
    AddBlocker,
    Analyze,
    Assign,
    AuditReport,
    AuditTrail,
    BatchComment,
    Blocked,
    CloseAllResolved,
    Command,
    Comment,
    CompleteSession,
    Compliance,
    ComplianceGaps,
    ComplianceReport,
    CreateJamfPolicy,
    DailyUpdate,
    DailyUpdates,
    Delegate,
    DeployPilot,
    DigestHere,
    DigestOff,
    DigestShow,
    DiscardDraft,
    Doctor,
    DraftComment,
    EditDraft,
    Escalate,
    Exceptions,
    FocusEpic,
    Help,
    Jobs,
    Move,
    MyFocus,
    NextAction,
    PersonRef,
    PostComment,
    Progress,
    Resume,
    Retry,
    Risks,
    Role,
    RollbackStatus,
    RolloutNext,
    ScheduleDiscussion,
    Scope,
    SessionStatus,
    SetPriority,
    StartSession,
    Sync,
    TeamImpact,
    ValidatePackage,
    ValidateRollback,
    Watch,
    When,
    Work,
    parse,
    parse_button,
)
from remedy.slack import mrkdwn

FOCUS = "CPE-3222"


def handle(raw: str) -> PersonRef:
    return PersonRef(raw=raw, kind="handle")


def mention(raw: str, slack_id: str) -> PersonRef:
    return PersonRef(raw=raw, kind="mention", slack_id=slack_id)


K = {"key": "CPE-3222"}
F = {"key": FOCUS, "key_from_focus": True}

# (text, focus, expected). The roadmap's and DESIGN.md's examples appear verbatim.
CASES: list[tuple[str, str | None, Command]] = [
    # Ticket
    ("work CPE-3222", None, Work(**K)),
    ("work cpe-3222", FOCUS, Work(**K)),
    ("/remedy Work   CPE-3222", None, Work(**K)),
    ("remedy work CPE-3222", None, Work(**K)),
    ("analyze", FOCUS, Analyze(**F)),
    ("analyse CPE-3222", None, Analyze(**K)),
    ("draft comment", FOCUS, DraftComment(**F)),
    ("draft comment CPE-3222 about the pilot results", None, DraftComment(**K, about="the pilot results")),
    ('draft comment about "rollout &amp; comms"', FOCUS, DraftComment(**F, about="rollout & comms")),
    ("post comment CPE-3222", None, PostComment(**K)),
    ("discard draft", FOCUS, DiscardDraft(**F)),
    ("discard draft CPE-3222", None, DiscardDraft(**K)),
    ('edit draft "Pilot is healthy"', FOCUS, EditDraft(**F, body="Pilot is healthy")),
    ("edit draft CPE-3222 Vendor confirmed the fix", None, EditDraft(**K, body="Vendor confirmed the fix")),
    ('edit draft CPE-3222 "Line one\nLine &lt;two&gt;"', None, EditDraft(**K, body="Line one\nLine <two>")),
    ('comment "Pilot group looks healthy"', FOCUS, Comment(**F, body="Pilot group looks healthy")),
    ("comment CPE-3222 rest of the line counts", None, Comment(**K, body="rest of the line counts")),
    ("comment “smart quotes work”", FOCUS, Comment(**F, body="smart quotes work")),
    ("comment 'single quotes'", FOCUS, Comment(**F, body="single quotes")),
    ('comment "unterminated quote', FOCUS, Comment(**F, body="unterminated quote")),
    ("comment don't panic", FOCUS, Comment(**F, body="don't panic")),
    ("comment Tom &amp; Jerry &lt;3", FOCUS, Comment(**F, body="Tom & Jerry <3")),
    ("move to investigation", FOCUS, Move(**F, phase="Investigation")),
    ("move CPE-3222 to Pilot", None, Move(**K, phase="Pilot")),
    ("move CPE-3222 to build &amp; test", None, Move(**K, phase="Build & Test")),
    ("move to build and test", FOCUS, Move(**F, phase="Build & Test")),
    ("move to verification", FOCUS, Move(**F, phase="Verify")),
    ("move todo", FOCUS, Move(**F, phase="To Do")),
    ("assign to john", FOCUS, Assign(**F, assignee=handle("john"))),
    ("assign CPE-3222 to john.smith", None, Assign(**K, assignee=handle("john.smith"))),
    ("assign to @john", FOCUS, Assign(**F, assignee=handle("@john"))),
    ("assign to Sarah Chen", FOCUS, Assign(**F, assignee=PersonRef(raw="Sarah Chen", kind="name"))),
    ('assign to "Sarah Chen"', FOCUS, Assign(**F, assignee=PersonRef(raw="Sarah Chen", kind="name"))),
    (
        "assign to john@corp.example",
        FOCUS,
        Assign(**F, assignee=PersonRef(raw="john@corp.example", kind="email")),
    ),
    (
        "assign to <mailto:john@corp.example|john@corp.example>",
        FOCUS,
        Assign(**F, assignee=PersonRef(raw="john@corp.example", kind="email")),
    ),
    ("priority P1 because CVE 8.8", FOCUS, SetPriority(**F, priority="P1", reason="CVE 8.8")),
    ("priority CPE-3222 p2", None, SetPriority(**K, priority="P2")),
    (
        "priority P3 - vendor patch pending",
        FOCUS,
        SetPriority(**F, priority="P3", reason="vendor patch pending"),
    ),
    ("priority high", FOCUS, SetPriority(**F, priority="High")),
    (
        "priority CPE-3222 LOWEST because cosmetic only",
        None,
        SetPriority(**K, priority="Lowest", reason="cosmetic only"),
    ),
    (
        "priority CPE-3222 to Highest - actively exploited",
        None,
        SetPriority(**K, priority="Highest", reason="actively exploited"),
    ),
    (
        "priority medium, vendor says next week",
        FOCUS,
        SetPriority(**F, priority="Medium", reason="vendor says next week"),
    ),
    ("priority low", FOCUS, SetPriority(**F, priority="Low")),
    ("add blocker CPE-3301", FOCUS, AddBlocker(**F, blocker="CPE-3301")),
    ("add blocker CPE-3222 CPE-3301", None, AddBlocker(**K, blocker="CPE-3301")),
    ("add blocker CPE-3301 to CPE-3222", None, AddBlocker(**K, blocker="CPE-3301")),
    ("block CPE-3222 by CPE-3301", None, AddBlocker(**K, blocker="CPE-3301")),
    ("block cpe-3222 by cpe-3301", FOCUS, AddBlocker(**K, blocker="CPE-3301")),
    ("block by CPE-3301", FOCUS, AddBlocker(**F, blocker="CPE-3301")),
    ("watch", FOCUS, Watch(**F)),
    # Memory
    ("resume", None, Resume()),
    ("progress", None, Progress()),
    ("progress this week", None, Progress(period="week")),
    ("blocked", None, Blocked()),
    ("my focus", None, MyFocus()),
    ("focus", None, MyFocus()),
    # Team
    ("escalate CPE-3222 sarah", None, Escalate(**K, to=handle("sarah"))),
    ("escalate to sarah", FOCUS, Escalate(**F, to=handle("sarah"))),
    (
        "escalate CPE-3222 to <@U02SARAH> pilot failing",
        None,
        Escalate(**K, to=mention("<@U02SARAH>", "U02SARAH"), reason="pilot failing"),
    ),
    (
        "escalate <@U02SARAH|sarah> because 12 Macs fail",
        FOCUS,
        Escalate(**F, to=mention("<@U02SARAH|sarah>", "U02SARAH"), reason="12 Macs fail"),
    ),
    ("escalate sarah CPE-3222 overdue", None, Escalate(**K, to=handle("sarah"), reason="overdue")),
    ("delegate to dev-team", FOCUS, Delegate(**F, to=handle("dev-team"))),
    (
        "delegate CPE-3222 to <!subteam^S0DEV|@dev-team>",
        None,
        Delegate(**K, to=PersonRef(raw="<!subteam^S0DEV|@dev-team>", kind="group", slack_id="S0DEV")),
    ),
    (
        "schedule discussion tomorrow 15:00 with sarah john",
        FOCUS,
        ScheduleDiscussion(
            **F,
            when=When(raw="tomorrow 15:00", day="tomorrow", time="15:00"),
            attendees=(handle("sarah"), handle("john")),
        ),
    ),
    (
        'schedule discussion CPE-3222 mon 10:00 with sarah, <@U1JOHN> and "Ann Lee"',
        None,
        ScheduleDiscussion(
            **K,
            when=When(raw="mon 10:00", day="mon", time="10:00"),
            attendees=(
                handle("sarah"),
                mention("<@U1JOHN>", "U1JOHN"),
                PersonRef(raw="Ann Lee", kind="name"),
            ),
        ),
    ),
    (
        "schedule discussion 2026-12-01 14:00 with sarah",
        FOCUS,
        ScheduleDiscussion(
            **F,
            when=When(raw="2026-12-01 14:00", date=dt.date(2026, 12, 1), time="14:00"),
            attendees=(handle("sarah"),),
        ),
    ),
    (
        "schedule today at 9:30 with ann",
        FOCUS,
        ScheduleDiscussion(**F, when=When(raw="today at 9:30", day="today", time="09:30"), attendees=(handle("ann"),)),
    ),
    ("sync", None, Sync()),
    ("sync with slack", None, Sync()),
    ("sync #mac-remediation", None, Sync(channel=PersonRef(raw="#mac-remediation", kind="channel"))),
    (
        "sync <#C0123|ops>",
        None,
        Sync(channel=PersonRef(raw="<#C0123|ops>", kind="channel", slack_id="C0123")),
    ),
    # Bulk
    ("focus epic CPE-123", None, FocusEpic(key="CPE-123")),
    ("focus on epic cpe-123", FOCUS, FocusEpic(key="CPE-123")),
    ('batch comment "Weekly security update"', None, BatchComment(body="Weekly security update")),
    (
        'batch comment "Pilot starts Monday" on CPE-3222 CPE-3301',
        None,
        BatchComment(body="Pilot starts Monday", scope=Scope(kind="keys", keys=("CPE-3222", "CPE-3301"))),
    ),
    ('batch comment "Heads up" on epic', None, BatchComment(body="Heads up", scope=Scope(kind="epic"))),
    (
        'batch comment "Heads up" on jql "project = CPE AND status = Pilot ORDER BY rank"',
        None,
        BatchComment(body="Heads up", scope=Scope(kind="jql", jql="project = CPE AND status = Pilot ORDER BY rank")),
    ),
    (
        "batch comment Patch is out on CPE-1, CPE-2",
        None,
        BatchComment(body="Patch is out", scope=Scope(kind="keys", keys=("CPE-1", "CPE-2"))),
    ),
    ("close all resolved", None, CloseAllResolved()),
    (
        "close all resolved in epic CPE-123",
        None,
        CloseAllResolved(scope=Scope(kind="epic", epic="CPE-123")),
    ),
    ("compliance report", None, ComplianceReport()),
    (
        "compliance report for jql 'labels = chrome'",
        None,
        ComplianceReport(scope=Scope(kind="jql", jql="labels = chrome")),
    ),
    # Insight
    ("risks", None, Risks()),
    ("team impact", None, TeamImpact()),
    ("compliance gaps", None, ComplianceGaps()),
    ("audit trail", FOCUS, AuditTrail(**F)),
    (
        "audit trail CPE-3222 since 2026-11-01",
        None,
        AuditTrail(**K, since=When(raw="2026-11-01", date=dt.date(2026, 11, 1))),
    ),
    ("audit trail all since yesterday", FOCUS, AuditTrail(since=When(raw="yesterday", day="yesterday"))),
    # Session
    ("start session 2h", None, StartSession(minutes=120)),
    ("start session 90m", None, StartSession(minutes=90)),
    ("start session 1h30m", None, StartSession(minutes=90)),
    ("start session for 1h 15m", None, StartSession(minutes=75)),
    ("status", None, SessionStatus()),
    ("next", None, NextAction()),
    ("complete session", None, CompleteSession()),
    ("end session", None, CompleteSession()),
    # Jamf
    ("create jamf policy CPE-3222", None, CreateJamfPolicy(**K)),
    ("deploy pilot CPE-3222", None, DeployPilot(**K)),
    ("rollout next", FOCUS, RolloutNext(**F)),
    ("compliance CPE-3222", None, Compliance(**K)),
    ("check compliance CPE-3222", None, Compliance(**K)),
    ("exceptions CPE-3222", None, Exceptions(**K)),
    ("validate rollback CPE-3222", None, ValidateRollback(**K)),
    ("rollback status", FOCUS, RollbackStatus(**F)),
    ("audit report CPE-3222", None, AuditReport(**K)),
    ("validate package", FOCUS, ValidatePackage(**F)),
    (
        "validate package CPE-3222 GoogleChrome-120.pkg",
        None,
        ValidatePackage(**K, package="GoogleChrome-120.pkg"),
    ),
    ('validate package "Google Chrome"', FOCUS, ValidatePackage(**F, package="Google Chrome")),
    # Updates
    ("daily update CPE-3222", None, DailyUpdate(**K)),
    ("daily update --no-jira", FOCUS, DailyUpdate(**F, no_jira=True)),
    ("daily update —no-jira CPE-3222", None, DailyUpdate(**K, no_jira=True)),
    ("daily updates", None, DailyUpdates()),
    ("digest here 09:00 Europe/Berlin", None, DigestHere(time="09:00", tz="Europe/Berlin")),
    (
        "digest here 5:30pm america/new_york daily",
        None,
        DigestHere(time="17:30", tz="America/New_York", days="daily"),
    ),
    ("digest here at 8:00 UTC every day", None, DigestHere(time="08:00", tz="UTC", days="daily")),
    ("digest off", None, DigestOff()),
    ("digest show", None, DigestShow()),
    ("digest", None, DigestShow()),
    # Ops
    ("jobs", None, Jobs()),
    ("retry 7f3a9c2e-11_b", None, Retry(job_id="7f3a9c2e-11_b")),
    ("doctor", None, Doctor()),
]


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
    assert RolloutNext(key="CPE-1").needs() is Role.LEAD
    assert DailyUpdate(key="CPE-1").needs() is Role.ENGINEER
    assert Role.from_name("lead") is Role.LEAD and Role.from_name(" Admin ") is Role.ADMIN
    assert Role.ADMIN > Role.LEAD > Role.ENGINEER > Role.VIEWER
    with pytest.raises(ValueError, match="unknown role"):
        Role.from_name("owner")


def test_jobs_available_now() -> None:
    assert Work(key="CPE-1").job() == "workers.tickets.work"
    assert Jobs().job() == "workers.ops.list_jobs"
    assert Analyze(key="CPE-1").job() is None
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
    assert Blocked().job() == "workers.jira_actions.blocked"
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


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("move to in progress", "is not a phase. Phases:"),
        ("move to pliot", "Did you mean `Pilot`?"),
        ("move to", "Which phase?"),
        ("priority P7", "is not a priority"),
        ("priority urgent", "is not a priority; use one of `P1`"),
        ("priority hihg", "is not a priority. Did you mean `High`?"),
        ("priority", "Which priority?"),
        ("comment", "What should the comment say?"),
        ('comment ""', "What should the comment say?"),
        ("escalate", "Which person to escalate to?"),
        ("escalate to CPE-3301", "ticket key, not a person"),
        ("add blocker", "Which ticket is the blocker?"),
        ("add blocker CPE-3222", "cannot block itself"),
        ("block CPE-3301", "Blocked by which ticket?"),
        ("block by", "Which ticket blocks it?"),
        ("block by CPE-3222", "cannot block itself"),
        ("blocked by CPE-3301", "To record a blocker, use `block by CPE-3301`."),
        ("draft comment about", "About what?"),
        ("draft comment pilot results", "I didn't expect `pilot results` here."),
        ("edit draft", "What should the draft say instead?"),
        ("schedule discussion with sarah", "When?"),
        ("schedule discussion tomorrow 15:00", "With whom?"),
        ("start session", "How long?"),
        ("start session forever", "is not a duration"),
        ("start session 20h", "at most 12h"),
        ("digest here Europe/Berlin", "At what time?"),
        ("digest here 09:00", "Which timezone?"),
        ("retry", "Which job?"),
        ("retry a/b", "is not a job id"),
        ("sync nowhere", "is not a channel"),
        ("progress forever", "is not a period"),
        ("risks now please", "I didn't expect `now please` here."),
        ("my focus CPE-3301", "To change your focus, use `work CPE-3301`."),
        ("status CPE-3301", "For a ticket try `analyze CPE-3301`."),
    ],
)
def test_wrong_arguments_explain_and_show_usage(text: str, needle: str) -> None:
    result = parse(text, focus=FOCUS)
    assert isinstance(result, Help) and result.is_error, result
    assert needle in result.text
    assert result.command is not None
    assert "Usage: " in result.text and f"`help {result.command}`" in result.text


def test_bad_timezone_is_named_with_a_suggestion() -> None:
    result = parse("digest here 09:00 Europe/Berln")
    assert isinstance(result, Help) and result.is_error and result.command == "digest here"
    assert "`Europe/Berln`" in result.text and result.suggestion == "Europe/Berlin"
    result = parse("digest here 09:00 Mars/Olympus_Mons")
    assert isinstance(result, Help) and "`Mars/Olympus_Mons`" in result.text


def test_mentions_in_slack_escaped_form() -> None:
    result = parse("assign CPE-3222 to <@U02JOHN|john>")
    assert isinstance(result, Assign)
    assert result.assignee == mention("<@U02JOHN|john>", "U02JOHN")
    assert result.assignee.display() == "@john"
    assert result.describe() == "Assigning CPE-3222 to @john"
    assert mention("<@U02JOHN>", "U02JOHN").display() == "@U02JOHN"


def test_leading_bot_mention_is_ignored() -> None:
    assert parse("<@UREMEDY> work CPE-3222") == Work(**K)


def test_broadcast_in_a_comment_is_kept_but_never_echoed() -> None:
    result = parse("comment &lt;!channel&gt; pilot is done <!here>", focus=FOCUS)
    assert isinstance(result, Comment)
    assert result.body == "<!channel> pilot is done <!here>"
    line = result.describe()
    assert "<" not in line and "&lt;!channel&gt;" in line and "&lt;!here&gt;" in line
    assert parse(result.text()) == result.model_copy(update={"key_from_focus": False})


def test_hostile_text_in_help_is_escaped() -> None:
    for text in [
        "<!channel>",
        "<https://evil|click> me",
        "&lt;!here&gt;",
        "`<!everyone>`",
        "move to <!channel>",
    ]:
        result = parse(text, focus=FOCUS)
        assert isinstance(result, Help)
        assert "<" not in result.text, (text, result.text)


def test_jql_is_kept_opaque() -> None:
    result = parse('batch comment "x" on jql "assignee = currentUser() AND text ~ \\"&lt;b&gt;\\""')
    assert isinstance(result, BatchComment) and result.scope.kind == "jql"
    assert result.scope.jql == 'assignee = currentUser() AND text ~ \\"<b>\\"'


def test_empty_text_is_general_help() -> None:
    for text in ["", "   ", "/remedy", "remedy"]:
        result = parse(text)
        assert isinstance(result, Help) and not result.is_error and result.command is None
        assert "*Ticket*" in result.text and "*Ops*" in result.text


def test_general_help_lists_every_command_within_block_limits() -> None:
    result = parse("help")
    assert isinstance(result, Help) and not result.is_error
    for spec in CATALOG.values():
        assert mrkdwn.inline_code(spec.usage) in result.text
    _check_blocks(result)
    assert "<" not in result.text


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_help_for_each_command(name: str) -> None:
    result = parse(f"help {name}")
    assert isinstance(result, Help) and not result.is_error and result.command == name
    spec = CATALOG[name]
    assert mrkdwn.inline_code(spec.usage) in result.text
    assert f"needs {spec.role.name.lower()}" in result.text
    for example in spec.examples:
        assert mrkdwn.inline_code(example) in result.text
    _check_blocks(result)


def test_help_by_alias_area_and_flag() -> None:
    assert parse("help check compliance") == parse("help compliance")
    area = parse("help jamf")
    assert isinstance(area, Help) and "`deploy pilot [KEY]`" in area.text
    assert parse("move --help") == parse("help move")


def test_help_for_unknown_command_suggests() -> None:
    result = parse("help wrok")
    assert isinstance(result, Help) and result.is_error and result.suggestion == "work"
    assert "Did you mean `work`?" in result.text


def test_help_blocks_split_long_text() -> None:
    long_help = Help(text="\n\n".join("x" * 2500 for _ in range(80)) + "\n\n" + "y" * 9000)
    _check_blocks(long_help)
    assert len(long_help.blocks()) == 50


def _check_blocks(result: Help) -> None:
    blocks = result.blocks()
    assert 1 <= len(blocks) <= mrkdwn.BLOCKS_MAX
    for block in blocks:
        assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
        assert 0 < len(block["text"]["text"]) <= mrkdwn.SECTION_TEXT_MAX


def test_very_long_and_odd_input_never_raises() -> None:
    assert isinstance(parse("comment " + "word " * 20_000), Help)  # over the size limit
    long_comment = parse("comment " + "ünïcødé 🚀 " * 3000, focus=FOCUS)
    assert isinstance(long_comment, Comment) and len(long_comment.describe()) < 200
    for text in ["\x00\x01work\x7f CPE-3222", "work\u200b CPE-3222", "work\r\nCPE-3222"]:
        assert parse(text) == Work(**K)
    assert isinstance(parse("<" * 100_000), Help)


def test_phases_are_the_workflow_phases() -> None:
    assert PHASES == ("To Do", "Investigation", "Plan", "Build & Test", "Pilot", "Rollout", "Verify", "Done")
    assert Move(key="CPE-1", phase="Build & Test").text() == "move CPE-1 to Build &amp; Test"


def test_priority_names_are_canonical_and_new_fields_reach_the_job() -> None:
    assert SetPriority.model_validate({"key": "CPE-1", "priority": "hIgH"}).priority == "High"
    assert SetPriority(key="CPE-1", priority="Lowest").text() == "priority CPE-1 Lowest"
    assert SetPriority(key="CPE-1", priority="High").args() == {"key": "CPE-1", "priority": "High", "reason": None}
    result = parse("priority hihg", focus=FOCUS)
    assert isinstance(result, Help) and result.suggestion == "High"
    assert DraftComment(key="CPE-1").args() == {"key": "CPE-1", "about": None}
    draft = DraftComment(key="CPE-1", about="<!channel> & rollout")
    assert draft.describe() == "Drafting a comment for CPE-1 about “&lt;!channel&gt; &amp; rollout”"
    assert draft.text() == "draft comment CPE-1 about &lt;!channel&gt; &amp; rollout"
    assert parse(draft.text()) == draft
    edit = EditDraft(key="CPE-1", body="<!here> new text")
    assert "<" not in edit.describe() and parse(edit.text()) == edit
    assert EditDraft(key="CPE-1", body="x").args() == {"key": "CPE-1", "body": "x"}


def test_block_by_is_add_blocker_and_blocked_stays_its_own_command() -> None:
    assert parse("block CPE-3222 by CPE-3301") == parse("add blocker CPE-3222 CPE-3301")
    assert parse("block by CPE-3301", focus=FOCUS) == parse("add blocker CPE-3301", focus=FOCUS)
    assert parse("blocked") == Blocked() and parse("blocked", focus=FOCUS) == Blocked()
    missing = parse("block by CPE-3301")
    assert isinstance(missing, Help) and missing.needs_focus and missing.command == "add blocker"
    blocked_by = parse("blocked by CPE-3301", focus=FOCUS)
    assert isinstance(blocked_by, Help) and blocked_by.command == "blocked"
    assert blocked_by.suggestion == "add blocker"


@pytest.mark.parametrize(
    ("topic", "needle"),
    [
        ("priority", mrkdwn.inline_code(CATALOG["priority"].usage)),
        ("discard draft", "Throw away your draft comment"),
        ("edit draft", mrkdwn.inline_code('edit draft [KEY] "text"')),
        ("block", "`block CPE-3222 by CPE-3301`"),
        ("draft comment", mrkdwn.inline_code("draft comment [KEY] [about <topic…>]")),
    ],
)
def test_help_for_the_ticket_actions(topic: str, needle: str) -> None:
    assert "<P1..P4 | highest | high | medium | low | lowest>" in CATALOG["priority"].usage
    result = parse(f"help {topic}")
    assert isinstance(result, Help) and not result.is_error and needle in result.text
    assert result.command in {"priority", "discard draft", "edit draft", "add blocker", "draft comment"}
    assert f"needs {CATALOG[result.command or ''].role.name.lower()}" in result.text
    assert parse("help block") == parse("help add blocker")


def _workflow_suggestions() -> list[str]:
    workflow = yaml.safe_load((files("remedy") / "defaults" / "workflow.yml").read_text(encoding="utf-8"))
    found = [action for phase in workflow["phases"] for action in phase.get("suggest", [])]
    assert found
    return sorted(set(found))


@pytest.mark.parametrize("action", _workflow_suggestions())
def test_card_buttons_act_on_their_ticket(action: str) -> None:
    result = parse_button(action, FOCUS)
    assert isinstance(result, Command), (action, result)
    assert action == result.name or action.startswith(result.name + " ")
    scope = getattr(result, "scope", None)
    if isinstance(scope, Scope):  # a bulk command: the button narrows it to the card's ticket
        assert result.key is None and scope == Scope(kind="keys", keys=(FOCUS,))
    else:
        assert result.key == FOCUS and not result.key_from_focus
    assert parse(result.text()) == result
    if isinstance(result, Move):
        typed = action.removeprefix("move to ")
        assert result.phase == next(phase for phase in PHASES if phase.casefold() == typed.casefold())


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("work", Work(**K)),
        ("focus epic", FocusEpic(**K)),
        ("move to build & test", Move(**K, phase="Build & Test")),
        ("move to plan", Move(**K, phase="Plan")),
        ("draft comment", DraftComment(**K)),
        ("post comment", PostComment(**K)),
        ("discard draft", DiscardDraft(**K)),
        ("compliance", Compliance(**K)),
        ("compliance report", ComplianceReport(scope=Scope(kind="keys", keys=(FOCUS,)))),
        ("audit trail", AuditTrail(**K)),
        ("blocked", Blocked()),
        ("risks", Risks()),
    ],
)
def test_parse_button_is_the_command_typed_about_the_ticket(action: str, expected: Command) -> None:
    assert parse_button(action, FOCUS) == expected
    assert parse_button(action, "cpe-3222") == expected


def test_parse_button_without_a_usable_ticket_is_plain_parse() -> None:
    for ticket in (None, "", "not a key", "CPE-1 to CPE-2"):
        assert parse_button("move to plan", ticket) == parse("move to plan")
        assert parse_button("work", ticket) == parse("work")
    edit = parse_button("edit draft", FOCUS)  # the Edit button opens a modal; its text comes back typed
    assert isinstance(edit, Help) and edit.is_error and edit.command == "edit draft"
    assert parse_button("comment", FOCUS) == parse("comment", focus=FOCUS)

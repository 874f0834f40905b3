"""What the grammar answers when the text is not a plain command: typos, near-keys, wrong
arguments, hostile text, help, and card buttons."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from remedy.commands import (
    CATALOG,
    PHASES,
    Assign,
    AuditTrail,
    BatchComment,
    Blocked,
    Command,
    Comment,
    Compliance,
    ComplianceReport,
    DiscardDraft,
    DraftComment,
    EditDraft,
    FocusEpic,
    Help,
    Move,
    PostComment,
    Risks,
    Scope,
    SetPriority,
    Work,
    parse,
    parse_button,
)
from remedy.slack import mrkdwn
from tests.command_cases import FOCUS, K, mention


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

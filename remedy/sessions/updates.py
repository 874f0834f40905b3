"""The end of a session: a summary of what changed, and one stakeholder update per touched ticket
(a Jira comment and a post in the ticket's thread).

The changes come from the audit trail; the model, when present, only rewords the template texts
and is checked against the same facts (remedy.llm.words). Texts are kept plain here: the Slack
card escapes them, Jira takes them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from remedy.commands.timespec import format_minutes
from remedy.llm.client import Llm, Use
from remedy.llm.words import phrase
from remedy.sessions.plan import Item

SESSION_UPDATE = Use(
    name="session_update", version=1,
    instructions=("You are remedy, writing a stakeholder update about one macOS app remediation ticket after an "
                  "engineer's focused work session. Say what changed and what comes next, plainly, for colleagues "
                  "and managers. No greeting, no signature, nothing beyond the facts."),
    fields={"comment": "the Jira comment: what changed on the ticket in this session and what is next, "
                       "at most four sentences",
            "thread": "one sentence for the ticket's Slack thread"},
)
COMMENT_MAX = 2000


@dataclass(frozen=True)
class Update:
    key: str
    comment: str
    thread: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Update:
        return cls(str(data["key"]), str(data["comment"]), str(data["thread"]))


def _upcoming(items: Sequence[Item], key: str) -> list[str]:
    """The ticket's open steps planned after its last one done: the earlier ones were overtaken
    (a ticket moved on to Plan no longer needs its Investigation drafts announced as next)."""
    mine = [i for i in items if i.key == key]
    last = max((n for n, i in enumerate(mine) if i.done), default=-1)
    return [i.label for i in mine[last + 1:] if not i.done]


def draft(llm: Llm | None, key: str, items: Sequence[Item], changed: list[str], who: str) -> Update:
    """One ticket's update: the template states the changes and the next planned step."""
    summary = next((i.summary for i in items if i.key == key and i.summary), "")
    upcoming = _upcoming(items, key)
    facts: dict[str, Any] = {"ticket": key, "summary": summary or "not planned in this session",
                             "changed": changed, "next": upcoming[:3] or ["nothing planned"], "by": who}
    did = "; ".join(changed)
    nxt = f" Next: {upcoming[0]}." if upcoming else ""
    about = f" ({summary})" if summary else ""
    comment = f"Work session update on {key}{about} from {who}: {did}.{nxt}"
    thread = f"🗂 Session update from {who}: {did}.{nxt}"
    words = phrase(llm, SESSION_UPDATE, facts, {"comment": comment, "thread": thread}, limit=COMMENT_MAX,
                   for_slack=False)
    return Update(key, words["comment"], words["thread"])


def draft_all(llm: Llm | None, items: Sequence[Item], changes: dict[str, list[str]], who: str) -> list[Update]:
    return [draft(llm, key, items, changed, who) for key, changed in changes.items()]


def summary(items: Sequence[Item], changes: dict[str, list[str]], minutes: int) -> str:
    """Plain text: how much of the plan got done, and what changed per ticket."""
    done = sum(1 for i in items if i.done)
    head = f"{done} of {len(items)} planned actions done in {format_minutes(max(minutes, 1))}."
    if not changes:
        return f"{head} Nothing changed in Jira or Jamf."
    return "\n".join([head, *(f"{key}: {'; '.join(words)}" for key, words in changes.items())])

"""Who does the user mean? A name typed in Slack → a person with a Jira account.

Order: the team directory (Slack mention, handle, email, name), then Jira's user search by
email, then by name. Ambiguity or no match is a question back to the user, never a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from remedy.commands import PersonRef
from remedy.errors import UserError
from remedy.jira.client import JiraClient
from remedy.team.directory import Directory, Person


@dataclass(frozen=True)
class Resolved:
    account_id: str
    name: str
    person: Person | None = None  # the directory entry, when there is one


def _from_directory(ref: PersonRef, team: Directory) -> tuple[Person | None, tuple[Person, ...]]:
    if ref.kind == "mention" and ref.slack_id:
        return team.by_slack_id(ref.slack_id), ()
    found = team.resolve(ref.raw)
    return found.person, found.candidates


def _ask(label: str, names: list[str]) -> UserError:
    return UserError(f"Who did you mean by “{label}”: {', '.join(names)}? Use their handle or email.")


def _from_jira(query: str, jira: JiraClient, label: str) -> Resolved | None:
    users = [u for u in jira.find_users(query) if u.active]
    if len(users) > 1:
        exact = [u for u in users if (u.email or "").lower() == query.lower()]
        if len(exact) != 1:
            raise _ask(label, [f"{u.display_name} ({u.email or u.account_id})" for u in users[:5]])
        users = exact
    return Resolved(users[0].account_id, users[0].display_name) if users else None


def resolve_jira_user(ref: PersonRef, team: Directory, jira: JiraClient,
                      slack_email: Callable[[str], str | None] | None = None) -> Resolved:
    label = ref.display()
    person, candidates = _from_directory(ref, team)
    if candidates:
        raise _ask(label, [f"{p.name} ({p.handle})" for p in candidates])
    if person is not None and person.jira_account_id:
        return Resolved(person.jira_account_id, person.name, person)
    email = person.email if person else None
    if email is None and ref.kind == "mention" and ref.slack_id and slack_email is not None:
        email = slack_email(ref.slack_id)
    if email is None and ref.kind == "email":
        email = ref.raw.removeprefix("mailto:")
    for query in filter(None, (email, None if ref.kind == "mention" else ref.raw.lstrip("@"))):
        found = _from_jira(query, jira, label)
        if found is not None:
            return Resolved(found.account_id, found.name, person)
    raise UserError(f"I can't find “{label}” in the team directory or in Jira.")



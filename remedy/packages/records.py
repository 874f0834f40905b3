"""What remedy remembers of package validations, and the exit check that reads it.

`validate package` stores one row per run. Leaving Build & Test needs the ticket's *latest* validation to
have passed, for the package the install policy holds in Jamf *now*, with the hash Jamf records *now*:
a package swapped on the policy, or re-uploaded under the same id, must be validated again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from remedy.db.models import PackageValidation
from remedy.db.session import Database
from remedy.jamf.client import JamfClient
from remedy.jamf.errors import JamfNotFound
from remedy.jira.models import Issue
from remedy.packages.checks import Validation
from remedy.parallel import later
from remedy.remediation import store
from remedy.slack.mrkdwn import escape
from remedy.workflow.moves import Gate


@dataclass(frozen=True)
class Recorded:
    package_id: int | None
    package_name: str
    hash_value: str | None
    passed: bool
    failed: tuple[str, ...]


def save(db: Database, validation: Validation, actor: str, job_id: str) -> None:
    """Record a run; a retried job replaces its own row instead of adding a second."""
    package = validation.package
    with db.session() as s:
        row = s.scalar(select(PackageValidation).where(PackageValidation.job_id == job_id))
        if row is None:
            row = PackageValidation(ticket_key=validation.key, job_id=job_id)
            s.add(row)
        row.package_id = package.id if package else None
        row.package_name = validation.subject
        row.hash_value = package.hash_value if package else None
        row.passed, row.failed, row.actor = validation.passed, list(validation.failed), actor
        row.checks = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in validation.checks]


def latest(db: Database, key: str) -> Recorded | None:
    with db.session() as s:
        row = s.scalar(select(PackageValidation).where(PackageValidation.ticket_key == key)
                       .order_by(PackageValidation.id.desc()).limit(1))
        if row is None:
            return None
        return Recorded(row.package_id, row.package_name, row.hash_value, row.passed, tuple(row.failed))


def gate(db: Database, jamf: JamfClient, early_for: str | None = None) -> Gate:
    """The ``package_validated`` exit check, for :func:`remedy.workflow.moves.move`. With ``early_for``
    (a command that always leaves Build & Test, like `deploy pilot`), that ticket's check starts now, its
    Jamf reads beside the move's Jira reads, and the move takes the answer when it gets there."""
    early = later(lambda: package_failures(db, jamf, early_for)) if early_for else None

    def failures(issue: Issue) -> list[str]:
        if early is not None and issue.key == early_for:
            return early()
        return package_failures(db, jamf, issue.key)

    return failures


def package_failures(db: Database, jamf: JamfClient, key: str) -> list[str]:
    """Why ``key``'s package is not validated ([] when it is), each a sentence naming what to do."""
    again = f"Run `validate package {key}`; a lead can `deploy pilot {key} override because …`."
    known = store.load(db, key)
    if known is None or known.policy is None:
        return [f"it has no Jamf policy yet, so no package to validate: run `create jamf policy {key}`."]
    try:
        policy = jamf.get_policy(known.policy.policy_id)
        package = jamf.package(policy.package_ids[0]) if policy.package_ids else None
    except JamfNotFound as exc:
        return [f"Jamf no longer has its policy or package ({escape(str(exc))}). {again}"]
    if package is None:
        return [f"policy {policy.id} installs no package. {again}"]
    last, name = latest(db, key), f"*{escape(package.name)}* (id {package.id})"
    if last is None:
        return [f"the package {name} has not been validated. {again}"]
    if not last.passed:
        return [f"the last package validation ({escape(last.package_name)}) failed: {', '.join(last.failed)}. "
                f"Fix it and run `validate package {key}` again; a lead can "
                f"`deploy pilot {key} override because …`."]
    if last.package_id != package.id:
        return [f"the last validation was of {escape(last.package_name)}, but policy {policy.id} installs {name}. "
                f"{again}"]
    if last.hash_value != package.hash_value:
        return [f"{name} changed in Jamf (its hash) since it was validated. {again}"]
    return []

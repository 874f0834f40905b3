"""`validate package`: which Jamf package, read from where, and every check in order.

The package is the one the user named (Jamf package name or file name), else the one the ticket's install
policy was made for, else the one `create jamf policy` would pick. Its bytes come from the distribution
point (:mod:`remedy.packages.source`), streamed once; everything else is read from Jamf and the records of
`create jamf policy`. Nothing in the package is executed or extracted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from remedy.db.session import Database
from remedy.errors import UserError
from remedy.jamf.client import JamfClient
from remedy.jamf.errors import JamfNotFound
from remedy.jamf.models import Package, Policy
from remedy.packages import checks
from remedy.packages.checks import Check, Validation
from remedy.packages.local import Attached, for_package, named
from remedy.packages.source import Copy, DistributionPoint, Inspection, inspect, jamf_algorithm
from remedy.parallel import parallel
from remedy.remediation import plan, store
from remedy.remediation.facts import Facts
from remedy.remediation.store import PolicyIds
from remedy.slack.mrkdwn import escape

T = TypeVar("T")
NO_SOURCE = ("remedy has no way to read the package: set REMEDY_PACKAGE_SOURCE to the distribution point's "
             "package URL (e.g. https://dp.example.com/CasperShare/Packages)")
_AFTER_JAMF = ("hash", "format", "bundle id", "version", "signature", "policy", "rollback")


@dataclass(frozen=True)
class JamfView:
    """What Jamf holds for the ticket now; None where it has nothing (deleted, or never made)."""

    packages: list[Package]
    ids: PolicyIds | None
    install: Policy | None
    rollback: Policy | None


def read_jamf(jamf: JamfClient, db: Database, key: str) -> JamfView:
    known = store.load(db, key)
    ids = known.policy if known is not None else None
    packages, install, rollback = parallel([
        jamf.packages,
        lambda: _unless_missing(jamf.get_policy, ids.policy_id) if ids else None,
        lambda: _unless_missing(jamf.get_policy, ids.rollback_policy_id) if ids and ids.rollback_policy_id else None,
    ])
    return JamfView(packages, ids, install, rollback)


def _unless_missing(read: Callable[[int], T], ident: int) -> T | None:
    try:
        return read(ident)
    except JamfNotFound:
        return None


def find_package(packages: list[Package], typed: str) -> Package | None:
    """The package called ``typed`` by its Jamf name or file name (any case, ``.pkg`` optional)."""
    wanted = typed.strip().casefold().removesuffix(".pkg")
    return next((p for p in packages
                 if wanted in (p.name.casefold().removesuffix(".pkg"), p.file_name.casefold().removesuffix(".pkg"))),
                None)


def choose(facts: Facts, asked: str | None, view: JamfView,
           attached: Sequence[Attached] = ()) -> tuple[Package | None, str]:
    """(the package to validate, how answers name it); None when Jamf has no such package. A name that
    is not Jamf's but a file attached to the ticket is a local copy of the ticket's package."""
    if asked and (found := find_package(view.packages, asked)) is not None:
        return found, found.name
    if asked and named(attached, asked) is None:
        return None, asked
    if view.ids is not None:
        recorded = next((p for p in view.packages if p.id == view.ids.package_id), None)
        if recorded is not None:
            return recorded, recorded.name
    try:
        target = plan.choose_packages(facts, view.packages).target
    except UserError:
        return None, f"{facts.app_name} {facts.target_version}"
    return target, target.name


def run(facts: Facts, asked: str | None, view: JamfView, source: DistributionPoint | None,
        now: datetime, attached: Sequence[Attached] = ()) -> Validation:
    """Every check of one package, in order (see :mod:`remedy.packages.checks`)."""
    package, subject = choose(facts, asked, view, attached)
    if package is None:
        missing = Check("jamf", False, f"Jamf has no package “{escape(subject)}”, and no file of that name is "
                                       f"attached to {facts.key}; `validate package {facts.key} <name>` takes a "
                                       "Jamf package name or file name")
        return Validation(facts.key, subject, None, (missing, *checks.skipped(_AFTER_JAMF, "no package")))
    local = for_package(attached, asked, package)
    seen, seen_local = parallel([
        lambda: _inspect(package, source.copy(package.file_name) if source else None),
        lambda: _inspect(package, local.copy if local else None),
    ])
    by_id = {p.id: p for p in view.packages}
    found = [checks.jamf_record(package), checks.hash_check(package, seen, NO_SOURCE),
             *([checks.local_copy(package, seen_local)] if seen_local is not None else []),
             *checks.contents(seen, facts, now),
             *checks.policies(facts, package, view.ids, view.install, view.rollback, by_id)]
    return Validation(facts.key, subject, package, tuple(found))


def _inspect(package: Package, copy: Copy | None) -> Inspection | None:
    if copy is None:
        return None
    # Hash with the algorithm Jamf used; with one not worth trusting, SHA-512 still lets the rest be read.
    return inspect(copy, jamf_algorithm(package.hash_type) or "sha512")

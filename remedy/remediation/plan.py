"""Derive a remediation's Jamf configuration from the ticket: which package installs the target
version, which older one rolls back, the policy names, and the Jamf group of each ring.

Pure functions over what Jamf lists, so they are tested without a server and a rerun of
`create jamf policy` derives the same configuration (and so finds its own policies by name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remedy.errors import UserError
from remedy.jamf.models import Group, Package
from remedy.jamf.versions import compare_versions, version_key
from remedy.remediation.facts import Facts
from remedy.remediation.store import RingView
from remedy.workflow.template import WorkflowTemplate

_VERSION = re.compile(r"(\d+(?:\.\d+)+)")


@dataclass(frozen=True)
class PackagePlan:
    target: Package
    rollback: Package | None
    rollback_version: str | None


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _tokens(facts: Facts) -> list[str]:
    """Words that identify the app in a package name: "Chrome", "com.google.Chrome" → chrome, google."""
    words = re.split(r"[\s.]+", f"{facts.app_name} {facts.bundle_id}")
    return [_norm(w) for w in words if len(_norm(w)) >= 3 and _norm(w) not in ("com", "org", "net", "app", "mac")]


def version_of(package: Package) -> str | None:
    found = _VERSION.search(package.file_name) or _VERSION.search(package.name)
    return found.group(1) if found else None


def _named(packages: list[Package], wanted: str) -> Package | None:
    low = wanted.rstrip(".").lower()
    return next((p for p in packages if low in (p.name.lower(), p.file_name.lower())
                 or low.removesuffix(".pkg") == p.name.lower()), None)


def _for_app(facts: Facts, packages: list[Package]) -> list[tuple[Package, str]]:
    tokens = _tokens(facts)
    found = []
    for package in packages:
        version = version_of(package)
        if version and any(t in _norm(package.name + package.file_name) for t in tokens):
            found.append((package, version))
    return found


def choose_packages(facts: Facts, packages: list[Package]) -> PackagePlan:
    """The package at the target version and the newest older one for rollback (or those the
    ticket names); a clear question when Jamf has no package for the target."""
    mine = _for_app(facts, packages)
    target = _named(packages, facts.package) if facts.package else next(
        (p for p, v in mine if compare_versions(v, facts.target_version) == 0), None)
    if target is None:
        wanted = f"“{facts.package}”" if facts.package else f"{facts.app_name} {facts.target_version}"
        raise UserError(f"Jamf has no package for {wanted}. Upload it to Jamf, or name it in the ticket's "
                        "description as “Package: <Jamf package name>”.")
    if facts.rollback_package:
        rollback = _named(packages, facts.rollback_package)
        return PackagePlan(target, rollback, version_of(rollback) if rollback else None)
    older = [(p, v) for p, v in mine if compare_versions(v, facts.target_version) < 0]
    if not older:
        return PackagePlan(target, None, None)
    best = max(older, key=lambda pv: version_key(pv[1]))
    return PackagePlan(target, best[0], best[1])


def policy_name(facts: Facts) -> str:
    """Stable per ticket and target: a rerun finds the policy it made instead of making another."""
    return f"{facts.key} {facts.app_name} {facts.target_version}"


def rollback_policy_name(facts: Facts, version: str) -> str:
    return f"{facts.key} {facts.app_name} rollback to {version}"


def ring_plan(workflow: WorkflowTemplate, facts: Facts, groups: list[Group]) -> list[RingView]:
    """Each ring's Jamf group: the first of its candidate names that Jamf has (case-insensitive)."""
    by_name = {g.name.lower(): g for g in groups}
    planned, missing = [], []
    for position, ring in enumerate(workflow.rings):
        names = [name.replace("{app}", facts.app_name) for name in ring.groups]
        group = next((by_name[n.lower()] for n in names if n.lower() in by_name), None)
        if group is None:
            missing.append(f"{ring.label} ({' or '.join(f'“{n}”' for n in names)})")
            continue
        planned.append(RingView(position, ring.name, ring.label, group.id, group.name, ring.threshold,
                                ring.soak_hours, "pending", None))
    if missing:
        raise UserError("Jamf has no group for ring " + ", ".join(missing) + ". Create the smart group in Jamf, "
                        "or change the ring's `groups` in workflow.yml.")
    return planned

"""Is a remediation's rollback ready to use? The checks behind `rollback status` and `validate rollback`.

A rollback policy is only worth something if, on the day it is needed, enabling it downgrades exactly
the Macs that got the update to an older build. So it must exist in Jamf, install one package older
than the target, be scoped to the install policy's groups, and stay disabled until then. The checks are
pure functions over what the job read from Jamf, one ✅/❌ line each naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from remedy.jamf.models import Package, Policy
from remedy.jamf.versions import compare_versions
from remedy.remediation.facts import Facts
from remedy.remediation.plan import version_of
from remedy.remediation.store import PolicyIds
from remedy.slack.mrkdwn import escape


@dataclass(frozen=True)
class Check:
    ok: bool
    line: str

    def __str__(self) -> str:
        return f"{'✅' if self.ok else '❌'} {self.line}"


@dataclass(frozen=True)
class Found:
    """What Jamf holds now, as a job read it; None where Jamf had nothing (deleted, or never made)."""

    rollback: Policy | None = None
    package: Package | None = None  # the package the rollback policy installs
    install: Policy | None = None
    group_names: Mapping[int, str] = field(default_factory=dict)


def checks(facts: Facts, ids: PolicyIds | None, found: Found, *, validate: bool = False) -> list[Check]:
    """The checks in order; a check that depends on a failed one is left out rather than guessed.
    ``validate`` adds the install policy's own check (`validate rollback`)."""
    recorded = _recorded(facts, ids)
    if ids is None or ids.rollback_policy_id is None:
        return [recorded, *([_install(facts, ids, found)] if validate else [])]
    result = [recorded, _exists(facts, ids.rollback_policy_id, found.rollback)]
    if found.rollback is not None:
        result += [_package(facts, found.rollback, found.package), _scope(ids, found),
                   _disabled(found.rollback)]
    if validate:
        result.append(_install(facts, ids, found))
    return result


def problems(results: Sequence[Check]) -> int:
    return sum(not c.ok for c in results)


def summary(results: Sequence[Check]) -> str:
    """"Rollback ready ✅", or "Rollback NOT ready ❌: 2 problems"."""
    count = problems(results)
    if not count:
        return "Rollback ready ✅"
    return f"Rollback NOT ready ❌: {count} problem{'s' if count > 1 else ''}"


def lines(results: Sequence[Check]) -> str:
    return "\n".join(str(c) for c in results)


def _recorded(facts: Facts, ids: PolicyIds | None) -> Check:
    if ids is None or ids.rollback_policy_id is None:
        return Check(False, f"No rollback policy recorded for *{facts.key}*: run `create jamf policy {facts.key}` "
                            f"after uploading an older package of {escape(facts.app_name)} (older than "
                            f"{escape(facts.target_version)}) to Jamf")
    to = f" to {escape(ids.rollback_version)}" if ids.rollback_version else ""
    return Check(True, f"Rollback policy {ids.rollback_policy_id}{to} is recorded for *{facts.key}*")


def _exists(facts: Facts, policy_id: int, policy: Policy | None) -> Check:
    if policy is None:
        return Check(False, f"Rollback policy {policy_id} was deleted in Jamf: run `create jamf policy {facts.key}` "
                            "to create it again")
    return Check(True, f"Policy {policy_id} *{escape(policy.name)}* exists in Jamf")


def _package(facts: Facts, policy: Policy, package: Package | None) -> Check:
    target = escape(facts.target_version)
    if len(policy.package_ids) != 1:
        count = len(policy.package_ids)
        return Check(False, f"Rollback policy {policy.id} installs {count or 'no'} package{'s' if count != 1 else ''}"
                            f"; it must install exactly one older than {target}")
    if package is None:
        return Check(False, f"Rollback policy {policy.id} installs package {policy.package_ids[0]}, "
                            "which Jamf no longer has")
    version, name = version_of(package), escape(package.file_name or package.name)
    if version is None:
        return Check(False, f"Can't tell the version of *{name}* from its name, so not that it is older than {target}")
    if compare_versions(version, facts.target_version) >= 0:
        return Check(False, f"Installs *{name}* ({escape(version)}), which is not older than the target {target}")
    return Check(True, f"Installs *{name}* ({escape(version)}), older than the target {target}")


def _scope(ids: PolicyIds, found: Found) -> Check:
    assert found.rollback is not None
    if found.install is None:
        return Check(False, f"Scope can't be compared: install policy {ids.policy_id} was deleted in Jamf")
    have, want = set(found.rollback.group_ids), set(found.install.group_ids)
    if have == want:
        return Check(True, f"Scoped like install policy {ids.policy_id}: {_names(want, found.group_names)}")
    gaps = [f"{label} {_names(groups, found.group_names)}"
            for label, groups in (("missing", want - have), ("extra", have - want)) if groups]
    return Check(False, f"Scope differs from install policy {ids.policy_id}: " + "; ".join(gaps))


def _names(group_ids: set[int], names: Mapping[int, str]) -> str:
    if not group_ids:
        return "no groups"
    return ", ".join(f"{escape(names[g])} (group {g})" if g in names else f"group {g}" for g in sorted(group_ids))


def _disabled(policy: Policy) -> Check:
    if policy.enabled:
        return Check(False, f"Rollback policy {policy.id} is enabled: it would downgrade Macs now")
    return Check(True, f"Rollback policy {policy.id} is disabled until needed")


def _install(facts: Facts, ids: PolicyIds | None, found: Found) -> Check:
    if ids is None:
        return Check(False, f"No install policy recorded for *{facts.key}*")
    if found.install is None:
        return Check(False, f"Install policy {ids.policy_id} was deleted in Jamf")
    if found.rollback is not None and found.install.id == found.rollback.id:
        return Check(False, f"Install policy {ids.policy_id} is the rollback policy itself")
    shared = set(found.install.package_ids) & set(found.rollback.package_ids if found.rollback else ())
    if shared:
        ids_text = ", ".join(str(p) for p in sorted(shared))
        return Check(False, f"Install policy {ids.policy_id} installs the rollback's package too ({ids_text})")
    return Check(True, f"Install policy {ids.policy_id} *{escape(found.install.name)}* is a different policy, "
                       f"installing a different package (*{escape(ids.package_name)}*)")

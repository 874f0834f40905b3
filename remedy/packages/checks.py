"""The checks of `validate package`, one ✅/❌ line each, as pure functions over what was read.

Order and names (the names are what `deploy pilot` lists when it refuses):
``jamf`` record · ``hash`` · ``local copy`` (only when one is attached to the ticket) · ``format`` ·
``bundle id`` · ``version`` · ``signature`` · ``policy`` · ``rollback``. A check that could not run
because an earlier one failed says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from remedy.jamf.models import Package, Policy
from remedy.jamf.versions import compare_versions
from remedy.packages import pkginfo, signing
from remedy.packages.pkginfo import Declared
from remedy.packages.source import JAMF_HASH_NAMES, Inspection, jamf_algorithm
from remedy.packages.toc import XarError
from remedy.remediation.facts import Facts
from remedy.remediation.plan import version_of
from remedy.remediation.store import PolicyIds
from remedy.slack.mrkdwn import escape, truncate

LABELS = {"jamf": "Jamf record", "hash": "Hash", "local copy": "Local copy", "format": "Format",
          "bundle id": "Bundle id", "version": "Version", "signature": "Signature", "policy": "Policy",
          "rollback": "Rollback"}
_SHOWN = 300  # characters of any one detail: package-made text must not flood the thread


@dataclass(frozen=True)
class Check:
    name: str  # a key of LABELS
    ok: bool
    detail: str  # mrkdwn, already escaped

    def __str__(self) -> str:
        return f"{'✅' if self.ok else '❌'} *{LABELS[self.name]}*: {self.detail}"


@dataclass(frozen=True)
class Validation:
    key: str
    subject: str  # the package as named in answers (Jamf's name, or what the user typed)
    package: Package | None
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.ok)

    def lines(self) -> str:
        return "\n".join(str(c) for c in self.checks)


def _check(name: str, ok: bool, detail: str) -> Check:
    return Check(name, ok, truncate(detail, _SHOWN))


def skipped(names: tuple[str, ...], why: str) -> list[Check]:
    return [_check(name, False, f"not checked: {why}") for name in names]


def jamf_record(package: Package) -> Check:
    """The package's record in Jamf must carry a hash worth trusting and a size."""
    what = f"*{escape(package.name)}* (id {package.id}, {escape(package.file_name)})"
    algorithm = jamf_algorithm(package.hash_type)
    if algorithm is None or not package.hash_value:
        kind = escape(package.hash_type or "none")
        return _check("jamf", False, f"{what} has no SHA-512 or SHA3-512 hash recorded (hash type {kind}); "
                                     "upload it again so Jamf hashes it")
    if not package.size:
        return _check("jamf", False, f"{what} has no size recorded; its upload may not have finished")
    return _check("jamf", True, f"{what}, {escape(package.size)}, {JAMF_HASH_NAMES[algorithm]} recorded")


def hash_check(package: Package, seen: Inspection | None, no_copy: str) -> Check:
    """The distribution point's copy must have the hash Jamf recorded."""
    if seen is None:
        return _check("hash", False, no_copy)
    return _same_file("hash", package, seen, "")


def local_copy(package: Package, seen: Inspection) -> Check:
    """A copy attached to the ticket must be the very file Jamf recorded."""
    return _same_file("local copy", package, seen, ": the package in Jamf is not this file")


def _same_file(name: str, package: Package, seen: Inspection, differs: str) -> Check:
    if seen.digest is None:
        return _check(name, False, escape(seen.problem or f"could not read {seen.copy.label}"))
    algorithm = jamf_algorithm(package.hash_type)
    hashed = JAMF_HASH_NAMES.get(algorithm or "", "SHA-512")
    what = f"{escape(seen.copy.label)} ({seen.size:,} bytes)"
    if algorithm is None or seen.digest != (package.hash_value or "").lower():
        return _check(name, False, f"{what} has {hashed} {seen.digest[:16]}…, Jamf recorded "
                                   f"{escape((package.hash_value or 'nothing')[:16])}…{differs}")
    return _check(name, True, f"{what} matches Jamf's {hashed}")


def contents(seen: Inspection | None, facts: Facts, now: datetime) -> list[Check]:
    """format, bundle id, version and signature, from the archive the copy held."""
    rest = ("bundle id", "version", "signature")
    if seen is None or seen.unreadable:
        return skipped(("format", *rest), "there is no copy of the package to read")
    archive = seen.archive
    if archive is None:
        return [_check("format", False, f"not a readable Apple flat package: {escape(seen.problem or '')}"),
                *skipped(rest, "the package could not be read")]
    problems = archive.problems()
    fmt = _check("format", not problems, "; ".join(escape(p) for p in problems) if problems else
                 f"Apple flat package (xar), TOC checksum ({escape(archive.toc.checksum_style)}) matches the heap, "
                 f"{archive.verified_members} file checksums verified")
    declared, unread = _declared(seen)
    if not declared and unread:
        return [fmt, *skipped(("bundle id", "version"), escape(unread)), _signature(seen, now)]
    bundle, version = pkginfo.judge(declared, facts.bundle_id, facts.target_version)
    return [fmt, _check("bundle id", bundle.ok, escape(bundle.detail)),
            _check("version", version.ok, escape(version.detail)), _signature(seen, now)]


def _declared(seen: Inspection) -> tuple[list[Declared], str]:
    """What PackageInfo/Distribution declare, and why none could be read (when so)."""
    assert seen.archive is not None
    archive, found, problems = seen.archive, [], []
    paths = [m.path for m in archive.toc.members if pkginfo.is_metadata(m.path)]
    for path in paths:
        try:
            found += pkginfo.declarations(path, archive.read(path))
        except XarError as exc:
            problems.append(str(exc))
    if not paths:
        return found, "the package has no PackageInfo or Distribution"
    return found, "; ".join(problems)


def _signature(seen: Inspection, now: datetime) -> Check:
    assert seen.archive is not None
    result = signing.check(seen.archive, now)
    return _check("signature", result.ok, result.detail)


def policies(facts: Facts, package: Package, ids: PolicyIds | None, install: Policy | None,
             rollback: Policy | None, named: dict[int, Package]) -> list[Check]:
    """The install policy must install this package; the rollback policy another, older one."""
    key = facts.key
    if ids is None:
        return skipped(("policy", "rollback"), f"{key} has no Jamf policy yet: run `create jamf policy {key}`")
    if install is None:
        policy = _check("policy", False, f"policy {ids.policy_id} is gone from Jamf: run `create jamf policy {key}`")
    elif package.id not in install.package_ids:
        policy = _check("policy", False, f"*{escape(install.name)}* (id {install.id}) installs "
                                         f"{_names(install.package_ids, named)}, not *{escape(package.name)}* "
                                         f"(id {package.id})")
    else:
        policy = _check("policy", True, f"*{escape(install.name)}* (id {install.id}) installs this package")
    return [policy, _rollback(facts, package, ids, rollback, named)]


def _rollback(facts: Facts, package: Package, ids: PolicyIds, rollback: Policy | None,
              named: dict[int, Package]) -> Check:
    if ids.rollback_policy_id is None:
        return _check("rollback", False, "there is no rollback policy: Jamf has no older package of this app")
    if rollback is None:
        return _check("rollback", False, f"rollback policy {ids.rollback_policy_id} is gone from Jamf")
    if not rollback.package_ids:
        return _check("rollback", False, f"*{escape(rollback.name)}* installs no package")
    if package.id in rollback.package_ids:
        return _check("rollback", False, f"*{escape(rollback.name)}* installs this same package, so it cannot "
                                         "undo the update")
    older = named.get(rollback.package_ids[0])
    version = version_of(older) if older else None
    what = f"*{escape(rollback.name)}* installs {_names(rollback.package_ids, named)}"
    if version is None or compare_versions(version, facts.target_version) >= 0:
        return _check("rollback", False, f"{what}, which is not older than {escape(facts.target_version)}")
    return _check("rollback", True, f"{what} ({escape(version)} < {escape(facts.target_version)})")


def _names(ids: tuple[int, ...], named: dict[int, Package]) -> str:
    shown = [f"*{escape(named[i].name)}* (id {i})" if i in named else f"package {i}" for i in ids]
    return ", ".join(shown) or "no package"

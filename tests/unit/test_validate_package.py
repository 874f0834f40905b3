"""`validate package` and the Build & Test → Pilot gate through the whole path: signed Slack requests →
Bolt → RQ → the Jira and Jamf simulators (the Jamf one also playing the distribution point that serves
the package files) → the Slack simulator. Packages are real xar archives built at test time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from remedy.db.models import AuditEvent, PackageValidation
from remedy.sandbox.jamf import DISTRIBUTION_POINT
from remedy.sandbox.run import Sandbox
from remedy.sandbox.seed import NOW
from remedy.sandbox.xarbuild import OLDER, Spec, build, chunks, make_signer
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, only_thread
from tests.unit.test_rollout import ALICE, PILOT, SARAH, _run

CHROME_PKG, CHROME_FILE = "GoogleChrome-120.0.6099.109", "GoogleChrome-120.0.6099.109.pkg"
MAIN, ROLLBACK, ZOOM_PACKAGE = 1, 2, 2  # the simulator's ids: install and rollback policy, Zoom's package
SIGNER = make_signer()
VALID = Spec(signer=SIGNER)


@pytest.fixture
def rt(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    """The embedded runtime reading packages from the simulator's distribution point."""
    source = sandbox.jamf.url + DISTRIBUTION_POINT.rstrip("/")
    runtime = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                            REMEDY_PACKAGE_SOURCE=source)
    yield runtime
    runtime.stop()


def _upload(rt: Runtime, spec: Spec = VALID, **jamf: Any) -> None:
    """Upload the Chrome 120 package to Jamf (a re-upload: it keeps package id 1)."""
    rt.sandbox.jamf_state.upload_package(CHROME_PKG, CHROME_FILE, build(spec), **jamf)


def _in_build_and_test(rt: Runtime, spec: Spec = VALID) -> None:
    """CPE-3222 back in Build & Test with its subtasks done, its policies made and its package uploaded."""
    assert _run(rt, "move CPE-3222 to build & test").startswith("✅")
    jira = rt.sandbox.jira_state
    with jira.lock:
        for subtask in jira.subtasks("CPE-3222"):
            subtask.status = "Done"
    assert _run(rt, "create jamf policy CPE-3222").startswith("✅")
    _upload(rt, spec)


def _validate(rt: Runtime, text: str = "validate package CPE-3222") -> str:
    return _run(rt, text)


def _audit(rt: Runtime, action: str) -> list[dict[str, Any]]:
    with rt.services.db.session() as s:
        return [dict(e.data) for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                .order_by(AuditEvent.seq))]


def _still_in_build_and_test(rt: Runtime) -> None:
    assert rt.sandbox.jira_state.status_of("CPE-3222") == "Build & Test"
    assert not rt.sandbox.jamf_state.policies[MAIN].enabled


def test_a_valid_package_passes_and_the_pilot_proceeds(rt: Runtime) -> None:
    _in_build_and_test(rt)
    answer = _validate(rt)
    assert answer.startswith(f"✅ Package *{CHROME_PKG}* for *CPE-3222* passed all 8 checks.")
    assert answer.count("✅") == 9 and "❌" not in answer
    assert f"✅ *Jamf record*: *{CHROME_PKG}* (id 1, {CHROME_FILE}), " in answer
    assert "✅ *Hash*: the distribution point's copy (" in answer and "matches Jamf's SHA-512" in answer
    assert "✅ *Format*: Apple flat package (xar), TOC checksum (sha1) matches the heap, 2 file checksums" in answer
    assert "✅ *Bundle id*: declares com.google.Chrome" in answer
    assert "✅ *Version*: com.google.Chrome 120.0.6099.109 (target 120.0.6099.109)" in answer
    expiry = SIGNER.chain[0].not_valid_after_utc
    assert (f"✅ *Signature*: signed by *Developer ID Installer: Google LLC (EQHXZ8M8AV)*, valid until "
            f"{expiry:%Y-%m-%d}; chain of 2 certificates links up; RSA signature over the TOC verifies") in answer
    assert "✅ *Policy*: *CPE-3222 Chrome 120.0.6099.109* (id 1) installs this package" in answer
    assert "✅ *Rollback*: *CPE-3222 Chrome rollback to 119.0.6045.199* installs *GoogleChrome-119.0.6045.199* (id 4)" \
        in answer
    thread = "\n".join(block_texts(m.blocks) for m in only_thread(rt.sandbox.slack_state))
    assert f"📦 *Alice Martin* validated *{CHROME_PKG}* for *CPE-3222*: all 8 checks pass" in thread
    (event,) = _audit(rt, "jamf.package.validate")
    assert (event["passed"], event["failed"], event["package_id"]) == (True, [], 1)

    deployed = _run(rt, "deploy pilot CPE-3222")
    assert deployed.startswith("✅ *CPE-3222* is deploying to *Pilot*")
    assert rt.sandbox.jira_state.status_of("CPE-3222") == "Pilot"
    assert rt.sandbox.jamf_state.policies[MAIN].enabled and rt.sandbox.jamf_state.policies[MAIN].group_ids == [PILOT]


def _swap_dp_file(rt: Runtime) -> None:
    # The file on the distribution point replaced behind Jamf's back: Jamf's recorded hash is now stale.
    state = rt.sandbox.jamf_state
    other = build(VALID, version="120.0.6099.110")
    state.packages[1] = dataclasses.replace(state.packages[1], content=lambda: [other])


def _policy_installs_zoom(rt: Runtime) -> None:
    rt.sandbox.jamf_state.policies[MAIN].packages = [(ZOOM_PACKAGE, "Install")]


def _rollback_installs_the_same(rt: Runtime) -> None:
    rt.sandbox.jamf_state.policies[ROLLBACK].packages = [(1, "Install")]


EXPIRED = make_signer(not_after=NOW - dt.timedelta(days=3))
FAILING = [
    ("corrupt-checksum", Spec(signer=SIGNER, corrupt_checksum=True), None, "format",
     "❌ *Format*: the TOC checksum (sha1) does not match the heap"),
    ("wrong-bundle-id", Spec(signer=SIGNER, bundle_id="com.example.NotChrome"), None, "bundle id, version",
     "❌ *Bundle id*: does not declare com.google.Chrome; it declares com.example.NotChrome"),
    ("older-version", Spec(signer=SIGNER, version=OLDER), None, "version",
     f"❌ *Version*: com.google.Chrome {OLDER} is older than the ticket's target 120.0.6099.109"),
    ("unsigned", Spec(), None, "signature", "❌ *Signature*: unsigned: the TOC carries no signature"),
    ("expired", Spec(signer=EXPIRED), None, "signature",
     f"❌ *Signature*: signed by *Developer ID Installer: Google LLC (EQHXZ8M8AV)*, but the certificate expired on "
     f"{EXPIRED.chain[0].not_valid_after_utc:%Y-%m-%d}"),
    ("hash-mismatch", VALID, _swap_dp_file, "hash", "❌ *Hash*: the distribution point's copy ("),
    ("policy-elsewhere", VALID, _policy_installs_zoom, "policy",
     "❌ *Policy*: *CPE-3222 Chrome 120.0.6099.109* (id 1) installs *Zoom-5.17.5* (id 2), not "
     f"*{CHROME_PKG}* (id 1)"),
    ("rollback-same", VALID, _rollback_installs_the_same, "rollback",
     "❌ *Rollback*: *CPE-3222 Chrome rollback to 119.0.6045.199* installs this same package, so it cannot undo"),
]


@pytest.mark.parametrize(("spec", "change", "check", "line"), [case[1:] for case in FAILING],
                         ids=[case[0] for case in FAILING])
def test_each_failing_check_says_why_and_blocks_the_pilot(
        rt: Runtime, spec: Spec, change: Any, check: str, line: str) -> None:
    _in_build_and_test(rt, spec)
    if change is not None:
        change(rt)
    answer = _validate(rt)
    assert answer.startswith(f"❌ Package *{CHROME_PKG}* for *CPE-3222* failed {check}.")
    assert line in answer
    failed = check.split(", ")
    assert answer.count("❌") == 1 + len(failed)  # the verdict and exactly the failing checks
    with rt.services.db.session() as s:
        (row,) = s.scalars(select(PackageValidation))
        assert (row.passed, row.failed, row.package_id) == (False, failed, 1)

    refused = _run(rt, "deploy pilot CPE-3222")
    assert refused.startswith("❌ CPE-3222 can't leave Build & Test: the last package validation")
    assert f"failed: {check}." in refused and "override because" in refused
    _still_in_build_and_test(rt)


def test_move_to_pilot_obeys_the_same_check(rt: Runtime) -> None:
    _in_build_and_test(rt, Spec())  # unsigned
    _validate(rt)
    refused = _run(rt, "move CPE-3222 to pilot")
    assert refused.startswith("❌ CPE-3222 can't leave Build & Test") and "validate package" in refused
    _still_in_build_and_test(rt)


def test_no_validation_or_a_changed_package_blocks_the_pilot(rt: Runtime) -> None:
    _in_build_and_test(rt)
    never = _run(rt, "deploy pilot CPE-3222")
    assert f"the package *{CHROME_PKG}* (id 1) has not been validated" in never
    assert _validate(rt).startswith("✅")
    _upload(rt, Spec(signer=SIGNER, payload=b"a rebuilt payload"))  # re-uploaded after the validation
    changed = _run(rt, "deploy pilot CPE-3222")
    assert f"*{CHROME_PKG}* (id 1) changed in Jamf (its hash) since it was validated" in changed
    _still_in_build_and_test(rt)
    assert _validate(rt).startswith("✅") and _run(rt, "deploy pilot CPE-3222").startswith("✅")


def test_a_lead_can_override_with_a_reason_and_it_is_audited(rt: Runtime) -> None:
    _in_build_and_test(rt, Spec())  # unsigned: the validation fails on the signature
    assert _validate(rt).startswith("❌")
    engineer = _run(rt, "deploy pilot CPE-3222 override because vendor hotfix", user=ALICE)
    assert engineer.startswith("❌ 🔒 Overriding the package validation needs the *lead* role")
    _still_in_build_and_test(rt)
    assert _audit(rt, "auth.refused")[-1]["doing"] == "Overriding the package validation"

    lead = _run(rt, "deploy pilot CPE-3222 override because vendor hotfix, signer checked by hand", user=SARAH)
    assert lead.startswith("✅ *CPE-3222* is deploying to *Pilot*")
    assert rt.sandbox.jira_state.status_of("CPE-3222") == "Pilot" and rt.sandbox.jamf_state.policies[MAIN].enabled
    (event,) = _audit(rt, "jamf.package.override")
    assert event["reason"] == "vendor hotfix, signer checked by hand"
    assert "failed: signature" in event["overridden"][0]
    thread = "\n".join(block_texts(m.blocks) for m in only_thread(rt.sandbox.slack_state))
    assert "⚠️ Package validation overridden by *Sarah Chen* because “vendor hotfix, signer checked by hand”" in thread


def test_sha3_512_a_named_package_and_an_unknown_one(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _upload(rt, VALID, hash_type="SHA3_512")
    assert "✅ *Hash*: the distribution point's copy" in _validate(rt) and "Jamf's SHA3-512" in _validate(rt)
    # The sandbox serves a real file for each seeded package: the 119 rollback package reads fine, and is
    # simply not the target version (nor what the policy installs).
    older = _validate(rt, "validate package CPE-3222 GoogleChrome-119.0.6045.199.pkg")
    assert older.startswith("❌ Package *GoogleChrome-119.0.6045.199* for *CPE-3222* failed version, policy, rollback")
    assert "✅ *Hash*: the distribution point's copy" in older and "✅ *Format*: Apple flat package" in older
    # A Jamf record whose file never reached the distribution point: the copy cannot be read at all.
    state = rt.sandbox.jamf_state
    state.packages[4] = dataclasses.replace(state.packages[4], content=None)
    older = _validate(rt, "validate package CPE-3222 GoogleChrome-119.0.6045.199.pkg")
    assert older.startswith("❌ Package *GoogleChrome-119.0.6045.199* for *CPE-3222* failed hash, format")
    assert "❌ *Hash*: could not read the distribution point's copy: the distribution point answered HTTP 404" in older
    unknown = _validate(rt, "validate package CPE-3222 Nope.pkg")
    assert "❌ *Jamf record*: Jamf has no package “Nope.pkg”" in unknown and unknown.count("❌") == 9


def test_without_a_package_source_the_validation_says_what_to_set(sandbox: Sandbox, sqlite_url: str) -> None:
    runtime = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                            REMEDY_PACKAGE_SOURCE=None)
    try:
        _in_build_and_test(runtime)
        answer = _validate(runtime)
    finally:
        runtime.stop()
    assert "❌ *Hash*: remedy has no way to read the package: set REMEDY_PACKAGE_SOURCE" in answer
    assert "❌ *Format*: not checked: there is no copy of the package to read" in answer


def _peak_validating(rt: Runtime, payload_size: int) -> tuple[str, int]:
    big = Spec(signer=SIGNER, payload_size=payload_size)
    rt.sandbox.jamf_state.upload_package(CHROME_PKG, CHROME_FILE, lambda: chunks(big))  # generated, never held
    tracemalloc.start()
    try:
        answer = _validate(rt)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answer, peak


def test_a_200_mb_package_is_hashed_streaming_with_flat_memory(rt: Runtime) -> None:
    _in_build_and_test(rt)
    _, small = _peak_validating(rt, 20 << 20)
    answer, peak = _peak_validating(rt, 200 << 20)
    assert rt.sandbox.jamf_state.packages[1].size == "200MB"
    assert answer.startswith("✅"), answer
    assert "✅ *Hash*: the distribution point's copy (209," in answer  # 200 MiB payload + header, TOC, metadata
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB while validating a 200 MB package"
    assert peak < small + (4 << 20), f"{peak / 2**20:.1f} MiB for 200 MB vs {small / 2**20:.1f} MiB for 20 MB"

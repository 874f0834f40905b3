"""Read what a ticket remediates from its Jira description.

Teams write it in a few ways ("Bundle ID: com.google.Chrome", "(bundle ID us.zoom.xos)",
"Target version: 120.0.6099.109", "Target: … 5.17.5 or later", "Update Slack to 4.36.140");
when the description says neither, the user is told what to add instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from remedy.errors import UserError
from remedy.jira.models import Issue

_BUNDLE = re.compile(r"bundle\s*id\W{0,3}([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)", re.IGNORECASE)
_TARGET_VERSION = re.compile(r"target\s+version\W{0,3}(\d+(?:\.\d+)+)", re.IGNORECASE)
_NEAR_TARGET = re.compile(r"target\b.{0,80}?\b(\d+(?:\.\d+)+)", re.IGNORECASE | re.DOTALL)
_DOTTED = re.compile(r"\b(\d+(?:\.\d+){2,})\b")
# "Package: GoogleChrome-120.0.6099.109.pkg" / "Rollback package: …": the Jamf package names, when a
# team states them instead of letting remedy find them by app name and version.
_PACKAGE = re.compile(r"(?<!rollback )\bpackage\s*:\s*([^\s,;]+)", re.IGNORECASE)
_ROLLBACK_PACKAGE = re.compile(r"rollback\s+package\s*:\s*([^\s,;]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Facts:
    key: str
    app_name: str
    bundle_id: str
    target_version: str
    package: str | None = None
    rollback_package: str | None = None


def _version(text: str) -> str | None:
    for pattern in (_TARGET_VERSION, _NEAR_TARGET, _DOTTED):
        found = pattern.search(text)
        if found:
            return found.group(1)
    return None


def _app_name(summary: str) -> str:
    # "Chrome 120 security update" → "Chrome"; "Slack 4.36 update" → "Slack"
    words = re.split(r"\s+\d", summary, maxsplit=1)[0].split()
    return " ".join(words[:3]) or summary


def facts_from_issue(issue: Issue) -> Facts:
    text = issue.description_text.replace("*", "")
    bundle = _BUNDLE.search(text)
    version = _version(text)
    if bundle is None or version is None:
        missing = [n for n, v in (("Bundle ID: …", bundle), ("Target version: …", version)) if v is None]
        raise UserError(f"I can't tell what {issue.key} remediates: add {' and '.join(missing)} "
                        "to its Jira description (e.g. “Bundle ID: com.google.Chrome” and "
                        "“Target version: 120.0.6099.109”).")
    package, rollback = _PACKAGE.search(text), _ROLLBACK_PACKAGE.search(text)
    return Facts(issue.key, _app_name(issue.summary), bundle.group(1), version,
                 package.group(1) if package else None, rollback.group(1) if rollback else None)

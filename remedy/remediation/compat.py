"""macOS compatibility facts: which macOS versions the Macs with the app run, how many run a macOS
older than the version asked about (`draft comment about macOS 14.2 compatibility`), and — only when
the ticket states it — the app's minimum macOS. Versions compare in full (14.1.2 is older than 14.2,
14.4.1 is not), never by major alone. Unknown stays unknown: remedy never guesses a vendor's
requirement."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from remedy.jamf.client import JamfClient
from remedy.jamf.versions import compare_versions
from remedy.remediation.facts import Facts

_MINIMUM = re.compile(r"(?:requires|minimum|min\.?|supported on)\s+(?:is\s+)?macOS\s+(\d+(?:\.\d+)*)",
                      re.IGNORECASE)
_ASKED = re.compile(r"\bmacOS\s+(\d+(?:\.\d+)*)", re.IGNORECASE)


@dataclass(frozen=True)
class Compatibility:
    app: str
    target: str
    minimum_macos: str | None  # None: the ticket does not say
    macs_with_app: int
    by_major: dict[str, int]  # "14" → Macs with the app on macOS 14.x
    below_minimum: int | None  # None when the minimum is unknown
    asked_macos: str | None = None  # the version the user asked about, if any
    below_asked: int | None = None  # Macs with the app on an older macOS than asked_macos

    def as_facts(self) -> dict[str, object]:
        found: dict[str, object] = {
            "app": self.app, "target_version": self.target,
            "minimum_macos": self.minimum_macos or "unknown (not stated in the ticket)",
            "macs_with_app": self.macs_with_app,
            "macs_by_macos": {f"macOS {k}": v for k, v in sorted(self.by_major.items(), key=_major, reverse=True)},
            "macs_below_minimum": "unknown" if self.below_minimum is None else self.below_minimum}
        if self.asked_macos is not None:
            found |= {"asked_macos": self.asked_macos, "macs_below_asked": self.below_asked}
        return found


def _major(item: tuple[str, int]) -> int:
    return int(item[0]) if item[0].isdigit() else -1


def minimum_from(description: str) -> str | None:
    found = _MINIMUM.search(description)
    return found.group(1) if found else None


def asked_from(about: str | None) -> str | None:
    """The macOS version a request names ("macOS 14.2 compatibility" → "14.2"), or None."""
    found = _ASKED.search(about or "")
    return found.group(1) if found else None


def _older(os_version: str | None, than: str | None) -> bool:
    return bool(than and os_version and compare_versions(os_version, than) < 0)


def compatibility(jamf: JamfClient, facts: Facts, description: str, asked: str | None = None) -> Compatibility:
    minimum = minimum_from(description)
    majors: Counter[str] = Counter()
    below = below_asked = 0
    for computer in jamf.inventory(sections=("APPLICATIONS", "OPERATING_SYSTEM")):
        if facts.bundle_id not in computer.apps:
            continue
        majors[(computer.os_version or "unknown").split(".")[0]] += 1
        below += _older(computer.os_version, minimum)
        below_asked += _older(computer.os_version, asked)
    return Compatibility(facts.app_name, facts.target_version, minimum, sum(majors.values()), dict(majors),
                         below if minimum else None, asked, below_asked if asked else None)


def template(c: Compatibility) -> str:
    spread = ", ".join(f"{n} on macOS {k}" for k, n in sorted(c.by_major.items(), key=_major, reverse=True))
    text = f"macOS compatibility for {c.app} {c.target}: {c.macs_with_app} Macs have the app ({spread})."
    if c.asked_macos is not None:
        text += f" {c.below_asked} of them run a macOS older than {c.asked_macos}."
    need = (f"The ticket states macOS {c.minimum_macos} as the minimum: {c.below_minimum} of them run an older "
            "macOS and need an OS update first." if c.minimum_macos else
            f"The minimum macOS for {c.app} {c.target} is unknown: the ticket does not state it; "
            "check the vendor's release notes before the pilot.")
    return f"{text} {need}"

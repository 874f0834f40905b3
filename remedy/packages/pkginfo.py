"""What a flat package says it installs, from its PackageInfo (component package) and Distribution
(product archive) files — the same declarations `installer` and Jamf's inventory go by.

``<pkg-info identifier=… version=…>`` names the package, ``<bundle id=… CFBundleShortVersionString=…>``
the app bundles inside it; a Distribution lists ``<pkg-ref id=… version=…>`` and ``<product>``. The app
bundle's own version is what compliance compares later, so it is preferred when present.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from remedy.jamf.versions import compare_versions, version_key
from remedy.packages.toc import parse_xml

METADATA = ("PackageInfo", "Distribution")
_MAX_DEPTH = 1  # PackageInfo at the root (component package) or one level down (product archive)


@dataclass(frozen=True)
class Declared:
    bundle_id: str
    version: str | None
    where: str  # "PackageInfo <bundle>"
    app: bool  # an app bundle's own version, not the package's


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


def is_metadata(path: str) -> bool:
    """The members worth reading: PackageInfo and Distribution at the root or one directory down."""
    parts = path.split("/")
    return parts[-1] in METADATA and len(parts) - 1 <= _MAX_DEPTH


def declarations(path: str, xml: bytes) -> list[Declared]:
    """Every (id, version) a PackageInfo or Distribution file declares."""
    root = parse_xml(xml, path)
    found = []
    for node in root.iter():
        if node.tag == "pkg-info" and node.get("identifier"):
            found.append(Declared(node.get("identifier", ""), node.get("version"), f"{path} <pkg-info>", False))
        elif node.tag == "bundle" and node.get("id"):
            version = node.get("CFBundleShortVersionString") or node.get("CFBundleVersion")
            found.append(Declared(node.get("id", ""), version, f"{path} <bundle>", True))
        elif node.tag in ("pkg-ref", "product") and node.get("id"):
            found.append(Declared(node.get("id", ""), node.get("version"), f"{path} <{node.tag}>", False))
    return found


def judge(declared: Iterable[Declared], bundle_id: str, target: str) -> tuple[Verdict, Verdict]:
    """(bundle id, version) verdicts for the ticket's app: the package must declare ``bundle_id``, and the
    lowest version it declares for it (app bundles first) must be at least ``target``."""
    every = list(declared)
    mine = [d for d in every if d.bundle_id.casefold() == bundle_id.casefold()]
    if not mine:
        others = sorted({d.bundle_id for d in every})
        said = ", ".join(others[:4]) + (" …" if len(others) > 4 else "") if others else "no bundle id at all"
        return (Verdict(False, f"does not declare {bundle_id}; it declares {said}"),
                Verdict(False, f"not checked: the package does not declare {bundle_id}"))
    where = mine[0].where
    found = Verdict(True, f"declares {bundle_id} ({where})")
    versions = [d.version for d in mine if d.app and d.version] or [d.version for d in mine if d.version]
    if not versions:
        return found, Verdict(False, f"declares no version for {bundle_id}")
    lowest = min(versions, key=version_key)
    if compare_versions(lowest, target) < 0:
        return found, Verdict(False, f"{bundle_id} {lowest} is older than the ticket's target {target}")
    return found, Verdict(True, f"{bundle_id} {lowest} (target {target})")

"""How much of the fleet runs an app at or above a target version, read straight from Jamf inventory.

Jamf cannot filter inventory by app version, so this pages every Mac and compares versions here
(:mod:`remedy.jamf.versions`). It streams: memory stays flat in the fleet size apart from the ids of
the Macs still behind, which is the list a rollout needs anyway.
"""

from __future__ import annotations

from remedy.jamf.client import JamfClient
from remedy.jamf.models import ComplianceCount
from remedy.jamf.versions import is_compliant


def compliance(client: JamfClient, bundle_id: str, target: str, device_ids: set[int] | None = None) -> ComplianceCount:
    """Count Macs with ``bundle_id`` at ``target`` or newer; ``device_ids`` limits the count to those Macs."""
    with_app = compliant = missing = 0
    behind: list[int] = []
    # APPLICATIONS only: GENERAL would double the payload for nothing this count reads.
    for computer in client.inventory(sections=("APPLICATIONS",)):
        if device_ids is not None and computer.id not in device_ids:
            continue
        installed = computer.apps.get(bundle_id)
        if installed is None:
            missing += 1
            continue
        with_app += 1
        if is_compliant(installed, target):
            compliant += 1
        else:
            behind.append(computer.id)
    return ComplianceCount(total_with_app=with_app, compliant=compliant, behind=behind, missing_app=missing)

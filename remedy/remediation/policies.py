"""Make a remediation's Jamf policies exist exactly once, and keep their scope in step with the rings.

Jamf refuses a second policy with the same name (409), and our names are derived from the
ticket, so "look up by name, else create" is idempotent across retries and concurrent runs: the
loser of a create race meets the winner's policy and updates it instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from remedy.jamf.client import JamfClient
from remedy.jamf.errors import JamfConflict
from remedy.jamf.models import PolicySpec

CATEGORY = None  # Jamf categories are site-specific; policies stay uncategorised unless a team asks


@dataclass(frozen=True)
class Ensured:
    policy_id: int
    created: bool
    enabled: bool
    group_ids: tuple[int, ...]


def ensure_policy(jamf: JamfClient, name: str, package_id: int, scope: Sequence[int]) -> Ensured:
    """Create the policy disabled and scoped to ``scope``, or — when a run already made it — point it
    at ``package_id`` while keeping the scope and enabled state a rollout may have changed since."""
    found = jamf.find_policy_by_name(name)
    if found is None:
        spec = PolicySpec(name=name, package_id=package_id, group_ids=tuple(scope), enabled=False)
        try:
            return Ensured(jamf.create_policy(spec), True, False, tuple(scope))
        except JamfConflict:
            found = jamf.find_policy_by_name(name)  # created meanwhile (a retry after a lost answer, a race)
            if found is None:
                raise
    current = jamf.get_policy(found)
    groups = current.group_ids or tuple(scope)
    jamf.update_policy(found, PolicySpec(name=name, package_id=package_id, group_ids=groups, enabled=current.enabled))
    return Ensured(found, False, current.enabled, groups)


def scope_to(jamf: JamfClient, policy_id: int, group_ids: Sequence[int], enable: bool | None = None) -> None:
    """Set the full scope (Jamf replaces the list) and, if asked, enable or disable: one PUT."""
    jamf.set_policy_scope(policy_id, list(group_ids), enabled=enable)

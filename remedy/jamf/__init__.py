"""Jamf Pro client: ``JamfClient``, typed models, one error family and version comparison."""

from remedy.jamf.client import MAX_PAGE_SIZE, JamfClient
from remedy.jamf.compliance import compliance
from remedy.jamf.errors import (
    JamfAuthError,
    JamfConflict,
    JamfError,
    JamfForbidden,
    JamfInvalid,
    JamfNotFound,
    JamfRateLimited,
    JamfUnavailable,
)
from remedy.jamf.http import VERSIONS, api_path
from remedy.jamf.models import (
    ComplianceCount,
    Computer,
    Group,
    Package,
    PatchSummary,
    PatchTitle,
    PatchVersionCount,
    Policy,
    PolicySpec,
)
from remedy.jamf.versions import compare_versions, is_compliant, version_key

__all__ = [
    "MAX_PAGE_SIZE",
    "VERSIONS",
    "ComplianceCount",
    "Computer",
    "Group",
    "JamfAuthError",
    "JamfClient",
    "JamfConflict",
    "JamfError",
    "JamfForbidden",
    "JamfInvalid",
    "JamfNotFound",
    "JamfRateLimited",
    "JamfUnavailable",
    "Package",
    "PatchSummary",
    "PatchTitle",
    "PatchVersionCount",
    "Policy",
    "PolicySpec",
    "api_path",
    "compare_versions",
    "compliance",
    "is_compliant",
    "version_key",
]

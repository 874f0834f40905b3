"""Jira Cloud (REST v3, ADF) client: ``JiraClient``, typed models and one error family."""

from remedy.jira.adf import adf_to_text, text_to_adf
from remedy.jira.client import ISSUE_FIELDS, JiraClient, normalize_issue_key
from remedy.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraForbidden,
    JiraInvalid,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)
from remedy.jira.models import BulkResult, Comment, Issue, IssueLink, JiraUser, SubtaskRef, Transition
from remedy.jira.pacer import WritePacer

__all__ = [
    "ISSUE_FIELDS",
    "BulkResult",
    "Comment",
    "Issue",
    "IssueLink",
    "JiraAuthError",
    "JiraClient",
    "JiraError",
    "JiraForbidden",
    "JiraInvalid",
    "JiraNotFound",
    "JiraRateLimited",
    "JiraUnavailable",
    "JiraUser",
    "SubtaskRef",
    "Transition",
    "WritePacer",
    "adf_to_text",
    "normalize_issue_key",
    "text_to_adf",
]

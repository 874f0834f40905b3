"""Slack's external upload in its two halves, so the slow half can overlap the message a file goes with.

``files_upload_v2`` does three calls in a row: files.getUploadURLExternal, a POST of the bytes to the
URL it gave, files.completeUploadExternal (which shares the file in a channel or thread). The first two
need only the file, not the message it belongs under: :func:`stage` does them while that message is
being posted, and :func:`complete` shares the staged file afterwards. A staged file nobody completes
(the job died in between) is never shown in Slack, so staging again on a retry leaves no duplicate.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from remedy.errors import ServiceError
from remedy.slack.poster import PERMANENT_ERRORS, SlackPostError


class SlackUploadError(ServiceError):
    """The file's bytes did not reach Slack's upload URL (worth retrying)."""


@dataclass(frozen=True)
class Staged:
    file_id: str
    title: str


@functools.cache
def _upload_client() -> httpx.Client:
    """One client per process: building one loads the CA bundle (tens of ms of CPU), which three
    uploads side by side would otherwise each pay. httpx clients are thread-safe."""
    return httpx.Client()


def stage(client: WebClient, filename: str, content: bytes, title: str, timeout: float) -> Staged:
    """Get an upload URL for ``filename`` and send ``content`` there; nothing is visible in Slack yet."""
    try:
        resp = client.files_getUploadURLExternal(filename=filename, length=len(content))
    except SlackApiError as exc:
        raise _refused(exc) from exc
    try:
        answer = _upload_client().post(str(resp["upload_url"]), content=content, timeout=timeout)
    except httpx.HTTPError as exc:
        raise SlackUploadError(f"Slack's file upload did not answer ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise SlackUploadError(f"Slack's file upload answered HTTP {answer.status_code}", answer.status_code)
    return Staged(str(resp["file_id"]), title)


def complete(client: WebClient, staged: Staged, channel: str, thread_ts: str | None,
             initial_comment: str | None = None) -> str:
    """Share the staged file in ``channel`` (under ``thread_ts``); returns the file id."""
    try:
        resp = client.files_completeUploadExternal(files=[{"id": staged.file_id, "title": staged.title}],
                                                   channel_id=channel, thread_ts=thread_ts,
                                                   initial_comment=initial_comment)
    except SlackApiError as exc:
        raise _refused(exc) from exc
    files: list[dict[str, Any]] = resp.get("files") or [{"id": staged.file_id}]
    return str(files[0]["id"])


def _refused(exc: SlackApiError) -> Exception:
    error = str(exc.response.get("error", "unknown_error"))
    if error in PERMANENT_ERRORS:
        return SlackPostError(error, f"Slack refused the file: {error}")
    return exc

"""Build requests exactly as Slack sends them: form/JSON bodies signed with the signing secret.

Used by the console, the demo, tests and benchmarks, so they all exercise Bolt's real
signature check instead of bypassing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: str, content_type: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(secret, ts, body)}


def slash_body(text: str, user_id: str, channel_id: str, response_url: str, *,
               team_id: str = "T0SANDBOX", user_name: str = "", command: str = "/remedy") -> str:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": team_id, "team_domain": "sandbox",
        "channel_id": channel_id, "channel_name": "cpe-remediation", "user_id": user_id,
        "user_name": user_name or user_id, "command": command, "text": text,
        "api_app_id": "A0REMEDY", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
    })


def block_action_body(user_id: str, channel_id: str | None, message_ts: str, action_id: str, value: str,
                      response_url: str | None, *, is_ephemeral: bool = False, team_id: str = "T0SANDBOX") -> str:
    """A button press; with no ``channel_id`` it comes from App Home (a view: no channel, no response URL)."""
    if channel_id is None:
        where: dict[str, Any] = {"container": {"type": "view", "view_id": "V0HOME"},
                                 "view": {"id": "V0HOME", "type": "home"}}
    else:
        where = {"container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                               "is_ephemeral": is_ephemeral},
                 "channel": {"id": channel_id}, "response_url": response_url}
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": team_id, "domain": "sandbox"},
        "user": {"id": user_id, "username": user_id, "team_id": team_id}, "api_app_id": "A0REMEDY",
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}", **where,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


FORM = "application/x-www-form-urlencoded"


def view_submission_body(user_id: str, callback_id: str, values: dict[str, dict[str, Any]],
                         response_urls: list[dict[str, str]], *, team_id: str = "T0SANDBOX",
                         private_metadata: str | None = None) -> str:
    """What Slack sends when a modal is submitted (``values`` as in ``view.state.values``)."""
    payload: dict[str, Any] = {
        "type": "view_submission", "team": {"id": team_id, "domain": "sandbox"},
        "user": {"id": user_id, "username": user_id, "team_id": team_id}, "api_app_id": "A0REMEDY",
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(8)}", "response_urls": response_urls,
        "view": {"id": "V0MODAL", "type": "modal", "callback_id": callback_id, "state": {"values": values},
                 "private_metadata": private_metadata or ""},
    }
    return urlencode({"payload": json.dumps(payload)})

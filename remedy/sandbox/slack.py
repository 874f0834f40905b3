"""A stateful Slack Web API simulator as a plain WSGI app: ``create_app(SlackState.seeded())``.

It answers as slack.com does, errors included (HTTP 200 with ``{"ok": false, "error": …}``, 429 with
Retry-After), so code that passes here behaves the same against Slack. Point slack_sdk at it with
``WebClient(base_url=sim.url + "/api/")``. Besides ``/api/<method>`` it serves the URLs Slack hands
out: response URLs (``/response/<rid>``) and file upload URLs (``/upload/<file_id>``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from remedy.sandbox import slack_state as st
from remedy.sandbox.slack_records import SlackError
from remedy.sandbox.slack_state import BOT_USER_ID, SlackState
from remedy.sandbox.slack_wire import (
    JSON_FIELDS,
    SCOPES,
    WEB,
    Params,
    channel_json,
    message_json,
    page,
    parse_blocks,
    parse_metadata,
    parse_text,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["METHODS", "SlackApp", "SlackState", "create_app"]

def _auth_test(state: SlackState, p: Params) -> dict[str, Any]:
    return {"url": WEB + "/", "team": st.TEAM_NAME, "user": st.BOT_NAME, "team_id": st.TEAM_ID,
            "user_id": BOT_USER_ID, "bot_id": st.BOT_ID, "is_enterprise_install": False}


def _post_message(state: SlackState, p: Params) -> dict[str, Any]:
    channel = p.get("channel")
    if channel is None:
        raise SlackError("channel_not_found")
    msg = state.post_message(channel, text=parse_text(p) or "", blocks=parse_blocks(p), thread_ts=p.get("thread_ts"),
                             metadata=parse_metadata(p), reply_broadcast=p.flag("reply_broadcast"))
    return {"channel": msg.channel, "ts": msg.ts, "message": message_json(state, msg, True)}


def _update(state: SlackState, p: Params) -> dict[str, Any]:
    channel, ts = p.need("channel"), p.need("ts")
    text, blocks, metadata = parse_text(p), parse_blocks(p), parse_metadata(p)
    if text is None and blocks is None and metadata is None:
        raise SlackError("no_text")
    msg = state.update_message(channel, ts, text=text, blocks=blocks, metadata=metadata)
    return {"channel": channel, "ts": ts, "text": msg.text, "message": message_json(state, msg, True)}


def _delete(state: SlackState, p: Params) -> dict[str, Any]:
    state.delete_message(p.need("channel"), p.need("ts"))
    return {"channel": p.need("channel"), "ts": p.need("ts")}


def _post_ephemeral(state: SlackState, p: Params) -> dict[str, Any]:
    eph = state.post_ephemeral(p.need("channel"), p.need("user"), text=parse_text(p) or "", blocks=parse_blocks(p),
                               thread_ts=p.get("thread_ts"))
    return {"message_ts": eph.ts}


def _permalink(state: SlackState, p: Params) -> dict[str, Any]:
    channel = p.need("channel")
    msg = state.get_message(channel, p.need("message_ts"))
    thread = f"?thread_ts={msg.thread_ts}&cid={channel}" if msg.thread_ts else ""
    return {"channel": channel, "permalink": f"{WEB}/archives/{channel}/p{msg.ts.replace('.', '')}{thread}"}


def _open(state: SlackState, p: Params) -> dict[str, Any]:
    users = [u.strip() for u in (p.get("users") or "").split(",") if u.strip()]
    if not users:  # resuming a conversation by ``channel`` is not simulated
        raise SlackError("users_list_not_supplied")
    channel_id, existed = state.open_dm(users)
    channel = channel_json(state.channels[channel_id]) if p.flag("return_im") else {"id": channel_id}
    return {"channel": channel, **({"no_op": True, "already_open": True} if existed else {})}


def _replies(state: SlackState, p: Params) -> dict[str, Any]:
    channel = p.need("channel")
    if channel not in state.channels:
        raise SlackError("channel_not_found")
    thread = state.thread(channel, p.need("ts"))  # ts may be the parent or any reply: same thread
    if not thread:
        raise SlackError("thread_not_found")
    return page(thread, p, state, 1000)


def _history(state: SlackState, p: Params) -> dict[str, Any]:
    channel = p.need("channel")
    if channel not in state.channels:
        raise SlackError("channel_not_found")
    low, high = float(p.get("oldest") or 0), float(p.get("latest") or 9e9)
    bounds = () if p.flag("inclusive") else (low, high)
    # Broadcast replies show in the channel as well, and history lists what the channel shows.
    shown = [m for m in state.all_messages(channel) if m.reply_broadcast or not m.thread_ts]
    newest_first = [m for m in reversed(shown) if low <= (t := float(m.ts)) <= high and t not in bounds]
    return {**page(newest_first, p, state, 100), "pin_count": 0}


def _info(state: SlackState, p: Params) -> dict[str, Any]:
    channel = state.channels.get(p.need("channel"))
    if channel is None:
        raise SlackError("channel_not_found")
    return {"channel": channel_json(channel)}


def _user_info(state: SlackState, p: Params) -> dict[str, Any]:
    user = state.users.get(p.need("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user}


def _lookup_by_email(state: SlackState, p: Params) -> dict[str, Any]:
    email = p.need("email").lower()
    found = [u for u in state.users.values() if (u["profile"]["email"] or "").lower() == email]
    if not found:
        raise SlackError("users_not_found")
    return {"user": found[0]}


def _upload_url(state: SlackState, p: Params) -> dict[str, Any]:
    filename = p.need("filename")
    if not (p.get("length") or "").isdigit():
        raise SlackError("invalid_arguments", "[ERROR] missing required field: length")
    upload = state.start_upload(filename)
    return {"upload_url": f"{p.base_url}/upload/{upload.id}", "file_id": upload.id}


def _complete_upload(state: SlackState, p: Params) -> dict[str, Any]:
    files = p.json("files", "invalid_arguments")
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) and "id" in f for f in files):
        raise SlackError("invalid_arguments", "[ERROR] missing required field: files")
    channel = p.get("channel_id") or (p.get("channels") or "").split(",")[0] or None
    done = state.complete_upload([(str(f["id"]), f.get("title")) for f in files], channel,
                                 p.get("thread_ts"), p.get("initial_comment"))
    return {"files": [{"id": u.id, "name": u.filename, "title": u.title, "size": len(u.content or b""),
                       "user": BOT_USER_ID, "channels": [u.channel] if u.channel else [],
                       "permalink": f"{WEB}/files/{BOT_USER_ID}/{u.id}/{u.filename}"} for u in done]}


def _publish(state: SlackState, p: Params) -> dict[str, Any]:
    view = p.json("view", "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise SlackError("invalid_arguments", "[ERROR] view.type must be home [json-pointer:/view/type]")
    blocks = parse_blocks(Params({"blocks": view.get("blocks", [])}, p.base_url), limit=100)  # Home allows 100
    return {"view": state.publish_home(p.need("user_id"), {**view, "blocks": blocks or []})}


def _open_modal(state: SlackState, p: Params) -> dict[str, Any]:
    view = p.json("view", "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise SlackError("invalid_arguments", "[ERROR] view.type must be modal [json-pointer:/view/type]")
    title = (view.get("title") or {}).get("text", "")
    if not title or len(title) > 24:  # Block Kit: modal titles are at most 24 characters
        raise SlackError("invalid_arguments", "[ERROR] must be 1..24 characters [json-pointer:/view/title/text]")
    blocks = parse_blocks(Params({"blocks": view.get("blocks", [])}, p.base_url), limit=100)
    return {"view": state.open_modal(p.need("trigger_id"), {**view, "blocks": blocks or []})}


def _connections_open(state: SlackState, p: Params) -> dict[str, Any]:
    # Nothing listens there: the sandbox drives Bolt over HTTP, not over a Socket Mode WebSocket.
    return {"url": p.base_url.replace("http", "ws", 1) + f"/link/?ticket=sandbox&app_id={st.APP_ID}"}


Handler = Callable[[SlackState, Params], dict[str, Any]]
METHODS: dict[str, Handler] = {
    "auth.test": _auth_test, "chat.postMessage": _post_message, "chat.update": _update,
    "chat.delete": _delete, "chat.postEphemeral": _post_ephemeral, "chat.getPermalink": _permalink,
    "conversations.open": _open, "conversations.replies": _replies, "conversations.history": _history,
    "conversations.info": _info, "users.info": _user_info, "users.lookupByEmail": _lookup_by_email,
    "files.getUploadURLExternal": _upload_url, "files.completeUploadExternal": _complete_upload,
    "views.publish": _publish, "views.open": _open_modal, "apps.connections.open": _connections_open,
}
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json; charset=utf-8")


def _read_params(request: Request) -> tuple[dict[str, Any], str | None]:
    """Query, form and JSON arguments merged, and the token; Slack reads the token of a JSON body
    only from the Authorization header."""
    values: dict[str, Any] = dict(request.args.items())
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        values.update({k: v for k, v in body.items() if k != "token"})
    else:
        values.update(request.form.items())
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else values.get("token")
    values.pop("token", None)
    for key in JSON_FIELDS:
        if isinstance(values.get(key), str):
            with contextlib.suppress(ValueError):  # left a string: the method reports its own *_format error
                values[key] = json.loads(values[key])
    return values, (str(token) if token else None)


def _check_token(state: SlackState, method: str, token: str | None) -> None:
    if not token:
        raise SlackError("not_authed")
    if token not in (state.bot_token, state.app_token):
        raise SlackError("invalid_auth")
    if (token == state.app_token) != (method in _APP_TOKEN_METHODS):
        raise SlackError("not_allowed_token_type")


class SlackApp:
    """The WSGI app; ``state`` is what it serves and what tests inspect."""

    def __init__(self, state: SlackState) -> None:
        self.state = state
        self.url_map = Map([Rule("/api/<method>", endpoint="api", methods=["GET", "POST"]),
                            Rule("/response/<rid>", endpoint="response", methods=["POST"]),
                            Rule("/upload/<file_id>", endpoint="upload", methods=["POST"])])

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_form_memory_size = 16 * 1024 * 1024  # App Home views outgrow werkzeug's 500 kB default
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            view: Callable[..., Response] = getattr(self, f"_{endpoint}")
            return view(request, **args)(environ, start_response)
        except HTTPException as exc:
            return exc(environ, start_response)

    def _api(self, request: Request, method: str) -> Response:
        headers = {"X-OAuth-Scopes": SCOPES}
        try:
            values, token = _read_params(request)
        except SlackError as exc:
            return _json({"ok": False, "error": exc.error}, headers=headers)
        delay, failure = self.state.begin_call(method, values)
        time.sleep(delay)
        if failure is not None:
            status, retry_after, error = failure
            retry = {"Retry-After": str(retry_after)} if status == 429 else {}  # only a 429 carries it
            return _json({"ok": False, "error": error}, status, retry)
        handler = METHODS.get(method)
        try:
            if handler is None:
                raise SlackError("unknown_method")
            _check_token(self.state, method, token)
            base_url = self.state.base_url or request.host_url.rstrip("/")
            body = {"ok": True, **handler(self.state, Params(values, base_url))}
        except SlackError as exc:
            body = {"ok": False, "error": exc.error}
            body.update({"response_metadata": {"messages": exc.messages}} if exc.messages else {})
        return _json(body, headers=headers)

    def _response(self, request: Request, rid: str) -> Response:
        try:
            payload = json.loads(request.get_data() or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return Response("invalid_payload", 400, content_type="text/plain")
        status, result = self.state.deliver_response(rid, payload)
        if status == 200:
            return _json({"ok": True})
        return Response(result, status, content_type="text/plain")  # webhook errors are bare strings

    def _upload(self, request: Request, file_id: str) -> Response:
        # slack_sdk posts the raw bytes (urllib labels them form-urlencoded); curl and browsers use multipart.
        if request.mimetype == "multipart/form-data":
            content = next(iter(request.files.values())).read() if request.files else b""
        else:
            content = request.get_data()
        if not self.state.receive_upload(file_id, content):
            return Response("file_not_found", 404, content_type="text/plain")
        return Response(f"OK - {len(content)}", content_type="text/plain")


def create_app(state: SlackState) -> WSGIApplication:
    """The simulator for ``state``; serve it with :func:`remedy.sandbox.server.serve`."""
    return SlackApp(state)

"""Serve the Bolt app: HTTP at /slack/events (waitress, threaded) or Socket Mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import jamf_webhook
from bot.jamf_webhook import JamfWebhooks

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App, webhooks: JamfWebhooks | None = None) -> WSGIApplication:
    """A WSGI app answering Slack at /slack/events, Jamf at /jamf/webhook (refused without
    ``webhooks``) and a health probe at /healthz."""
    handler = SlackRequestHandler(app)
    jamf = webhooks if webhooks is not None else jamf_webhook.disabled

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path == jamf_webhook.PATH:
            return jamf(environ, start_response)
        if path != EVENTS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        result: Iterable[bytes] = handler(environ, start_response)
        return result

    return application


def serve_http(app: App, port: int, host: str = "0.0.0.0", threads: int = 16,
               webhooks: JamfWebhooks | None = None, **kw: Any) -> None:
    from waitress import serve

    serve(wsgi_app(app, webhooks), host=host, port=port, threads=threads, ident="remedy", **kw)


def serve_socket(app: App, app_token: str) -> None:
    SocketModeHandler(app, app_token).start()

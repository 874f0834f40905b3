"""The baseline: a Bolt app that only acks `/remedy`, served exactly like remedy (waitress, WSGI)."""

from __future__ import annotations

import os
import sys

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.server import serve_http


def main(port: int) -> None:
    app = App(token=os.environ["SLACK_BOT_TOKEN"], signing_secret=os.environ["SLACK_SIGNING_SECRET"],
              client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
              process_before_response=True)

    @app.command("/remedy")
    def only_ack(ack: Ack) -> None:
        ack(text="⏳ ok", response_type="ephemeral")

    serve_http(app, port, host="127.0.0.1", threads=16)


if __name__ == "__main__":
    main(int(sys.argv[1]))

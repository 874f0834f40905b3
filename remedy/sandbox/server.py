"""Serve a simulator's WSGI app on 127.0.0.1 (port 0 by default) in a background thread.

Simulators are plain WSGI apps so that the same app can be reached two ways: over a real
socket (slack_sdk and subprocesses need a URL) or in-process through ``httpx.WSGITransport``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


@dataclass
class RunningSim:
    """A simulator served over HTTP: ``url`` is its base URL, ``state`` the object behind it."""

    url: str
    state: Any
    app: WSGIApplication
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _SteppedReader:
    """The request stream, read in steps for large sizes. After each response werkzeug's dev server drains
    the socket with ``rfile.read(10_000_000)``, and a buffered read allocates the whole size up front even
    when the client has only closed: 10 MB per request, in the process that also runs remedy in tests —
    where it hides the memory remedy itself uses. Reading in steps keeps the same blocking semantics
    (up to ``size`` bytes or the end) and allocates only what arrives."""

    STEP = 1 << 16

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size <= self.STEP:
            return bytes(self._raw.read(size))
        got = bytearray()
        while len(got) < size:
            piece = self._raw.read(min(self.STEP, size - len(got)))
            if not piece:
                break
            got += piece
        return bytes(got)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.rfile = _SteppedReader(self.rfile)  # type: ignore[assignment]


def start(app: WSGIApplication, state: Any = None, host: str = "127.0.0.1", port: int = 0) -> RunningSim:
    """Start ``app`` in a daemon thread; the caller must ``stop()`` it (or use :func:`serve`)."""
    # One log line per simulated request drowns what the console and tests print.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(host, port, app, threaded=True, request_handler=_Handler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    url = f"http://{host}:{server.server_port}"
    return RunningSim(url=url, state=state, app=app, _server=server, _thread=thread)


@contextmanager
def serve(app: WSGIApplication, state: Any = None, port: int = 0) -> Iterator[RunningSim]:
    sim = start(app, state, port=port)
    try:
        yield sim
    finally:
        sim.stop()

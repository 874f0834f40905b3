"""Jamf forgets every token while `inventory(concurrency=5)` has several pages in flight: the read
still returns every Mac, the client asks for exactly one new token (not one per page that met the
401), and no page is refused twice. The simulator answers through httpx's WSGI transport; a WSGI
layer in front of it holds each inventory request a moment, so the pages really overlap."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import httpx

from remedy.jamf import JamfClient
from remedy.sandbox.jamf import JamfState, create_app

SECRET = "sandbox-jamf-secret"
INVENTORY = "computers-inventory"


class ExpireMidRead:
    """Holds inventory requests ``linger`` seconds before Jamf answers them (after which Jamf checks
    the token), and expires every token when the ``at``-th inventory request arrives."""

    def __init__(self, app: Any, state: JamfState, at: int, linger: float = 0.1,
                 also_at_page: int | None = None) -> None:
        self.app, self.state, self.at, self.linger = app, state, at, linger
        self.also_at_page = also_at_page  # expire again when this page is first asked for
        self.arrived = self.in_flight = self.peak = 0
        self._seen_pages: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if INVENTORY not in environ.get("PATH_INFO", ""):
            return list(self.app(environ, start_response))
        page = int(parse_qs(environ.get("QUERY_STRING", ""))["page"][0])
        with self._lock:
            self.arrived += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            first_ask = page not in self._seen_pages
            self._seen_pages.add(page)
            if self.arrived == self.at or (first_ask and page == self.also_at_page):
                self.state.expire_tokens()  # Jamf's clock says every token is past its expiry
        try:
            time.sleep(self.linger)
            return list(self.app(environ, start_response))
        finally:
            with self._lock:
                self.in_flight -= 1


def _token_requests(state: JamfState) -> int:
    return sum(1 for r in state.requests if r.path.endswith("/oauth/token"))


def _page_statuses(state: JamfState) -> dict[int, list[int]]:
    pages: dict[int, list[int]] = {}
    for r in state.requests:
        if INVENTORY in r.path:
            pages.setdefault(int(parse_qs(r.query)["page"][0]), []).append(r.status)
    return pages


def test_tokens_expiring_mid_read_cost_one_refresh_and_lose_no_mac() -> None:
    state = JamfState.seeded(n=900)
    app = ExpireMidRead(create_app(state), state, at=3)  # page 0 is in; pages 1–5 are on their way
    with JamfClient("http://jamf.test", "remedy-sandbox", SECRET, transport=httpx.WSGITransport(app=app),
                    sleep=lambda _: None) as jamf:
        assert jamf.version()
        before = _token_requests(state)
        ids = [c.id for c in jamf.inventory(sections=("APPLICATIONS",), page_size=100, concurrency=5)]

    assert ids == list(range(1, 901))  # complete, in order, no Mac twice
    assert _token_requests(state) == before + 1 and jamf.token_fetches == 2
    pages = _page_statuses(state)
    assert sorted(pages) == list(range(9))
    refused = {page: statuses.count(401) for page, statuses in pages.items() if 401 in statuses}
    assert len(refused) >= 2, pages  # the expiry met several pages in flight at once …
    assert all(count == 1 for count in refused.values()), pages  # … each refused once, then answered
    assert all(statuses[-1] == 200 for statuses in pages.values()), pages
    assert app.peak >= 2


def test_a_second_expiry_later_in_the_read_costs_one_more_refresh() -> None:
    # The second expiry comes when page 14 is first asked for: the pages the first one met have long been
    # answered (a token outliving a page's retry by minutes, as in Jamf), the pages then in flight meet it.
    state = JamfState.seeded(n=2000)
    app = ExpireMidRead(create_app(state), state, at=3, also_at_page=14)
    with JamfClient("http://jamf.test", "remedy-sandbox", SECRET, transport=httpx.WSGITransport(app=app),
                    sleep=lambda _: None) as jamf:
        ids = [c.id for c in jamf.inventory(sections=("APPLICATIONS",), page_size=100, concurrency=5)]
    assert ids == list(range(1, 2001))
    assert _token_requests(state) == 3  # the first token, one refresh per expiry
    assert all(statuses.count(401) <= 1 for statuses in _page_statuses(state).values())

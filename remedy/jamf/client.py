"""Jamf Pro client: typed results, one error family, bounded time and connections.

Every request goes through :meth:`remedy.jamf.http.JamfHttp.send`, the single place where the token is
attached, failures become :mod:`remedy.jamf.errors` and retries happen. Methods here build requests and
parse answers: the Jamf Pro API (JSON, versioned paths from :data:`remedy.jamf.http.VERSIONS`) for
inventory and packages, the Classic API (XML, :mod:`remedy.jamf.policy_xml`) for policies and
(:mod:`remedy.jamf.history`) for the runs of policies on one Mac. Smart and static groups
(:mod:`remedy.jamf.groups`) and patch titles (:mod:`remedy.jamf.patch`) are mixed in.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

import httpx

from remedy.circuit import Circuit
from remedy.jamf import history, policy_xml
from remedy.jamf.errors import JamfConflict, JamfError, JamfInvalid
from remedy.jamf.groups import GroupCalls
from remedy.jamf.http import MAX_CONNECTIONS, JamfHttp, api_path
from remedy.jamf.http import json_object as _json
from remedy.jamf.models import Computer, Package, Policy, PolicyRun, PolicySpec
from remedy.jamf.patch import PatchCalls

__all__ = ["MAX_PAGE_SIZE", "JamfClient"]

MAX_PAGE_SIZE = 2000  # Jamf's cap on page-size for the Pro API's paged endpoints
_CLASSIC = "/JSSResource"
_XML = {"Accept": "application/xml", "Content-Type": "application/xml"}
# Inventory pages are read in id order: the default (by name) shifts when a Mac is renamed mid-read.
_INVENTORY_SORT = "id:asc"


class JamfClient(GroupCalls, PatchCalls):
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_tries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        circuit: Circuit | None = None,
    ) -> None:
        self._http = JamfHttp(base_url, client_id, client_secret, transport=transport, timeout=timeout,
                              max_tries=max_tries, sleep=sleep, clock=clock, circuit=circuit)  # fmt: skip
        self._send = self._http.send

    @property
    def token_fetches(self) -> int:
        """How many OAuth tokens this client has fetched (each refresh counts)."""
        return self._http.tokens.fetches

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JamfClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- server ---------------------------------------------------------------------------------
    def version(self) -> str:
        return str(_json(self._send("GET", api_path("jamf-pro-version"))).get("version") or "")

    def health(self) -> bool:
        """Whether Jamf says it is healthy (``/healthCheck.html`` answers ``[]``); needs no token."""
        try:
            body = self._send("GET", "/healthCheck.html", auth=False).json()
        except (JamfError, ValueError):
            return False
        return bool(body == [])  # Jamf lists its problems here; an empty list is the healthy answer

    # -- inventory ------------------------------------------------------------------------------
    def inventory(
        self, sections: Sequence[str] = ("GENERAL", "APPLICATIONS"), page_size: int = 1000, concurrency: int = 5
    ) -> Generator[Computer, None, None]:
        """Yield every computer in id order, reading up to ``concurrency`` pages at once.

        Streams: at most ``concurrency`` pages are held at any time, so a 100k-Mac fleet never sits in
        memory. Lazy: errors surface when iteration reaches the failing page; ``close()`` the generator
        to stop early and drop the pages still downloading.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise JamfInvalid(f"page_size must be between 1 and {MAX_PAGE_SIZE}", status=None)
        workers = max(1, min(concurrency, MAX_CONNECTIONS))
        params: dict[str, Any] = {"section": [s.upper() for s in sections], "page-size": page_size,
                                  "sort": _INVENTORY_SORT}  # fmt: skip

        def page(number: int) -> list[Computer]:
            body = _json(self._send("GET", api_path("computers-inventory"), params={**params, "page": number}))
            return [Computer.from_api(raw) for raw in body.get("results") or []]

        first = _json(self._send("GET", api_path("computers-inventory"), params={**params, "page": 0}))
        yield from (Computer.from_api(raw) for raw in first.get("results") or [])
        pages = -(-int(first.get("totalCount") or 0) // page_size)
        yield from _in_order(page, range(1, pages), workers)

    # -- packages -------------------------------------------------------------------------------
    def packages(self) -> list[Package]:
        return [Package.from_api(raw) for raw in self._http.paged(api_path("packages"))]

    def package(self, package_id: int) -> Package:
        path = api_path("packages", int(package_id))
        return Package.from_api(_json(self._http.named(f"Package {package_id}", "GET", path)))

    # -- policies (Classic API, XML) --------------------------------------------------------------
    def create_policy(self, spec: PolicySpec) -> int:
        """Create a policy and return its id; a name already taken raises JamfConflict."""
        try:
            # Never resent after a 502/504: the first try may have created it (see find_policy_by_name).
            answer = self._send("POST", f"{_CLASSIC}/policies/id/0", content=policy_xml.policy_document(spec),
                                headers=_XML)  # fmt: skip
        except JamfConflict as error:
            raise JamfConflict(f"Jamf refused policy '{spec.name}': {_reason(error)}") from None
        return policy_xml.parse_id(answer.content)

    def get_policy(self, policy_id: int) -> Policy:
        answer = self._http.named(f"Policy {policy_id}", "GET", _policy_path(policy_id), headers=_XML)
        return policy_xml.parse_policy(answer.content)

    def update_policy(self, policy_id: int, spec: PolicySpec) -> None:
        self._put_policy(policy_id, policy_xml.policy_document(spec))

    def set_policy_scope(self, policy_id: int, group_ids: Sequence[int], enabled: bool | None = None) -> None:
        """Scope the policy to exactly ``group_ids``: Jamf replaces the list, so pass all of them.
        ``enabled`` goes in the same PUT: one write, and never a moment enabled with the old scope."""
        self._put_policy(policy_id, policy_xml.scope_document(group_ids, enabled))

    def enable_policy(self, policy_id: int, enabled: bool) -> None:
        self._put_policy(policy_id, policy_xml.enabled_document(enabled))

    def find_policy_by_name(self, name: str) -> int | None:
        """The id of the policy called ``name`` (Jamf treats names case-insensitively), or None."""
        answer = self._send("GET", f"{_CLASSIC}/policies", headers=_XML)
        policies = policy_xml.parse_policy_list(answer.content)
        exact = [number for number, found in policies if found == name]
        folded = [number for number, found in policies if found.casefold() == name.casefold()]
        return next(iter(exact or folded), None)

    # -- computer history (Classic API, XML) --------------------------------------------------------
    def policy_history(self, computer_id: int) -> list[PolicyRun]:
        """Every policy run Jamf logged on the computer, newest first: which policy, Completed or Failed, when.

        Jamf does not say here why a run failed; pair it with inventory (e.g. ``free_disk_mb``). An unknown
        computer raises JamfNotFound naming it.
        """
        path = history.policy_logs_path(computer_id)
        answer = self._http.named(f"Computer {computer_id}", "GET", path, headers=_XML)
        return history.parse_policy_runs(answer.content)

    # -- helpers ----------------------------------------------------------------------------------
    def _put_policy(self, policy_id: int, document: bytes) -> None:
        try:
            self._http.named(f"Policy {policy_id}", "PUT", _policy_path(policy_id), content=document, headers=_XML)
        except JamfConflict as error:
            raise JamfConflict(f"Jamf refused the change to policy {policy_id}: {_reason(error)}") from None


def _in_order(fetch: Callable[[int], list[Computer]], numbers: range, workers: int) -> Iterator[Computer]:
    """Fetch pages with ``workers`` threads, yielding them in page order, ``workers`` pages ahead at most."""
    if not numbers:
        return
    pending: deque[Future[list[Computer]]] = deque()
    upcoming = iter(numbers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jamf-inventory") as pool:
        try:
            for number in upcoming:
                pending.append(pool.submit(fetch, number))
                if len(pending) >= workers:
                    break
            while pending:
                computers = pending.popleft().result()
                # Refill before yielding: the next page downloads while the caller works on this one.
                nxt = next(upcoming, None)
                if nxt is not None:
                    pending.append(pool.submit(fetch, nxt))
                yield from computers
        finally:
            for future in pending:  # the caller stopped early or a page failed: drop the rest
                future.cancel()


def _policy_path(policy_id: int) -> str:
    return f"{_CLASSIC}/policies/id/{int(policy_id)}"


def _reason(error: JamfError) -> str:
    text = error.message
    return text.split(": ", 1)[1] if ": " in text else text

"""A scripted Jira Cloud for client tests: ``FakeJira`` answers through ``httpx.MockTransport``
with bodies shaped like the OpenAPI spec's examples and records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from remedy.jira import (
    JiraClient,
    text_to_adf,
)

BASE = "https://acme.atlassian.net"
API = "/rest/api/3"
EMAIL, TOKEN = "remedy@acme.example", "ATATT-secret-token-value"
SARAH = "712020:5b10ac8d-82e0-5b22-cc7d-4ef5aaaa0001"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeJira:
    """Routes (method, path) to scripted answers; the last answer of a route repeats."""

    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, API + path)] = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, json={"errorMessages": [f"null for uri: {request.url}"], "errors": {}})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self, **options: Any) -> JiraClient:
        options.setdefault("sleep", self.sleeps.append)
        return JiraClient(BASE, EMAIL, TOKEN, transport=httpx.MockTransport(self.handle), **options)

    def sent(self, method: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if method is None or r.method == method]


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def user(account_id: str, name: str, email: str | None = None) -> dict[str, Any]:
    data = {"accountId": account_id, "accountType": "atlassian", "active": True, "displayName": name,
            "self": f"{BASE}{API}/user?accountId={account_id}", "timeZone": "Europe/Paris"}  # fmt: skip
    return {**data, "emailAddress": email} if email else data


def comment(comment_id: str, text: str, marker: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "author": user("557058:bot", "Remedy Bot"), "body": text_to_adf(text), "id": comment_id,
        "created": "2026-11-12T09:30:00.000+0000", "updated": "2026-11-12T09:30:00.000+0000",
        "self": f"{BASE}{API}/issue/10010/comment/{comment_id}", "jsdPublic": True,
    }  # fmt: skip
    if marker is not None:
        data["properties"] = [{"key": "remedy", "value": {"marker": marker}}]
    return data


def comment_page(comments: list[dict[str, Any]], start: int, total: int) -> httpx.Response:
    return httpx.Response(200, json={"comments": comments, "maxResults": 100, "startAt": start, "total": total})


def no_content() -> httpx.Response:
    return httpx.Response(204)


def status(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "id": "3", "statusCategory": {"id": 4, "key": category, "name": category.title()}}

"""`POST /jamf/webhook`: Jamf Pro tells remedy when a policy ran or a group changed, so compliance
is refreshed when something happened instead of by polling.

Jamf delivers at least once and retries on errors, and a rollout fires thousands of
`ComputerPolicyFinished` events. So: a body seen before is answered 200 and dropped (its sha256 is
kept a day), each ticket is refreshed at most once a minute, and when Redis is down the answer is
503 so that Jamf delivers again later rather than the event being lost. Events of other types are
accepted and ignored: an error would only make Jamf retry them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from remedy.db.session import Database
from remedy.queue import JobQueue, Origin, QueueUnavailable
from remedy.remediation.store import ticket_for_policy, tickets_for_group

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from remedy.services import Services

log = logging.getLogger("remedy.jamf.webhook")

PATH = "/jamf/webhook"
SECRET_ENVIRON = "HTTP_X_REMEDY_WEBHOOK_SECRET"  # the X-Remedy-Webhook-Secret header
MAX_BODY = 1024 * 1024
SEEN_KEY = "remedy:jamfhook:{digest}"
SEEN_TTL = 24 * 3600
REFRESH_KEY = "remedy:jamfhook:refresh:{key}"
REFRESH_EVERY = 60  # seconds: one refresh per ticket per minute, however many Macs report
REFRESH_JOB = "workers.webhooks.refresh_compliance"
ACTOR = "jamf-webhook"
POLICY_FINISHED = "ComputerPolicyFinished"
GROUP_CHANGED = "SmartGroupComputerMembershipChange"
# Which field of each event names what changed: the policy that ran, or the group.
_SUBJECT = {POLICY_FINISHED: ("policy", "policyId"), GROUP_CHANGED: ("group", "jssid")}


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()


DISABLED = Answer(404, "Jamf webhooks are disabled: set REMEDY_JAMF_WEBHOOK_SECRET to turn them on.")
UNAUTHORIZED = Answer(401, "unauthorized: send the shared secret in X-Remedy-Webhook-Secret or as the "
                           "Basic auth password", (("WWW-Authenticate", 'Basic realm="remedy"'),))
UNAVAILABLE = Answer(503, "remedy cannot take webhooks right now; deliver again later", (("Retry-After", "60"),))


class Malformed(Exception):
    """The request is not a Jamf webhook remedy can read: answered 400."""


@dataclass(frozen=True)
class Subject:
    """What an event is about: a Jamf policy or a Jamf computer group, by id."""

    kind: str  # policy | group
    id: int


def _send(start_response: StartResponse, answer: Answer) -> list[bytes]:
    body = answer.text.encode()
    status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                            *answer.headers])
    return [body]


def disabled(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The endpoint when the server was built without webhooks."""
    return _send(start_response, DISABLED)


class JamfWebhooks:
    """A WSGI app for Jamf's webhook deliveries: authenticate, deduplicate, enqueue refreshes."""

    def __init__(self, secret: str | None, redis: Redis, queue: JobQueue, db: Database) -> None:
        self._secret = secret.encode() if secret else None
        self._redis = redis
        self._queue = queue
        self._db = db

    @classmethod
    def from_services(cls, services: Services) -> JamfWebhooks:
        settings = services.settings
        secret = settings.secret("REMEDY_JAMF_WEBHOOK_SECRET") if settings.REMEDY_JAMF_WEBHOOK_SECRET else None
        return cls(secret, services.redis, services.queue, services.db)

    @property
    def enabled(self) -> bool:
        return self._secret is not None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return _send(start_response, self.answer(environ))

    def answer(self, environ: WSGIEnvironment) -> Answer:
        if self._secret is None:
            return DISABLED
        if environ.get("REQUEST_METHOD") != "POST":
            return Answer(405, "only POST", (("Allow", "POST"),))
        refused = self._refusal(environ)
        if refused:
            # Which check failed and from where; never what was sent.
            log.warning("jamf webhook refused from %s: %s", environ.get("REMOTE_ADDR", "?"), refused)
            return UNAUTHORIZED
        try:
            body = _read_body(environ)
            event_type, hook_id, event = _parse(body)
            if event_type not in _SUBJECT:
                log.info("jamf webhook %r (hook %s) ignored", event_type[:80], hook_id)
                return Answer(202, f"ignored: remedy does not use {event_type[:80]} events")
            subject = _subject(event_type, event)
        except Malformed as exc:
            log.info("jamf webhook rejected: %s", exc)
            return Answer(400, f"bad request: {exc}")
        try:
            answer = self._accept(body, event_type, subject)
        except (RedisError, QueueUnavailable, SQLAlchemyError) as exc:
            log.warning("jamf webhook %s (hook %s) not taken: %s", event_type, hook_id, type(exc).__name__)
            return UNAVAILABLE
        log.info("jamf webhook %s (hook %s, %s %d): %s", event_type, hook_id, subject.kind, subject.id, answer.text)
        return answer

    def _refusal(self, environ: WSGIEnvironment) -> str | None:
        """Why the request is not from Jamf, or None. Jamf's "Header Authentication" sends our header;
        its "Basic Authentication" sends the secret as the password (any user name)."""
        assert self._secret is not None
        offered = [value for value in (environ.get(SECRET_ENVIRON), _basic_password(environ)) if value]
        if not offered:
            return "no secret"
        # Every candidate is compared, so the timing does not tell which one was checked.
        matches = [hmac.compare_digest(value.encode(), self._secret) for value in offered]
        return None if any(matches) else "wrong secret"

    def _accept(self, body: bytes, event_type: str, subject: Subject) -> Answer:
        seen = SEEN_KEY.format(digest=hashlib.sha256(body).hexdigest())
        if not self._redis.set(seen, "1", nx=True, ex=SEEN_TTL):
            return Answer(200, "duplicate: this delivery was already received")
        try:
            tickets = self._tickets(subject)
            queued = [key for key in tickets if self._refresh(key, event_type)]
        except Exception:
            self._forget(seen)  # so that Jamf's next delivery is processed, not dropped as a duplicate
            raise
        if not tickets:
            return Answer(200, f"no remediation uses {subject.kind} {subject.id}")
        if not queued:
            return Answer(200, f"{', '.join(tickets)} refreshed less than {REFRESH_EVERY} s ago")
        return Answer(202, f"refreshing compliance of {', '.join(queued)}")

    def _tickets(self, subject: Subject) -> list[str]:
        if subject.kind == "policy":
            key = ticket_for_policy(self._db, subject.id)
            return [key] if key else []
        return tickets_for_group(self._db, subject.id)

    def _refresh(self, key: str, event_type: str) -> bool:
        """Enqueue a refresh of ``key`` unless one was enqueued within the last minute."""
        gate = REFRESH_KEY.format(key=key)
        if not self._redis.set(gate, "1", nx=True, ex=REFRESH_EVERY):
            return False
        text = f"refresh compliance {key}"
        origin = Origin(user_id=ACTOR, text=text, source="webhook", extra={"event": event_type})
        try:
            self._queue.enqueue(REFRESH_JOB, {"key": key}, origin, description=text)
        except Exception:
            self._forget(gate)  # nothing was queued: the next event must not be debounced away
            raise
        return True

    def _forget(self, name: str) -> None:
        try:
            self._redis.delete(name)
        except RedisError:
            log.warning("could not release %s after a failed webhook", name)


def _basic_password(environ: WSGIEnvironment) -> str | None:
    scheme, _, encoded = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon else None


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if not length_header:
        body: bytes = stream.read(MAX_BODY + 1)
    else:
        try:
            length = int(length_header)
        except ValueError:
            raise Malformed("invalid Content-Length") from None
        if length > MAX_BODY:
            raise Malformed("body larger than 1 MB")
        body = stream.read(length)
    if len(body) > MAX_BODY:
        raise Malformed("body larger than 1 MB")
    return body


def _parse(body: bytes) -> tuple[str, str, dict[str, Any]]:
    """(event type, webhook id, event) from Jamf's envelope {"webhook": {…}, "event": {…}}."""
    try:
        data = json.loads(body)
    except ValueError:
        raise Malformed("body is not JSON") from None
    hook = data.get("webhook") if isinstance(data, dict) else None
    if not isinstance(hook, dict) or not isinstance(hook.get("webhookEvent"), str):
        raise Malformed('expected {"webhook": {"webhookEvent": …}, "event": {…}}')
    event = data.get("event")
    if not isinstance(event, dict):
        event = {}
    return hook["webhookEvent"], str(hook.get("id", "?"))[:40], event


def _subject(event_type: str, event: dict[str, Any]) -> Subject:
    kind, field = _SUBJECT[event_type]
    value = event.get(field)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{event_type} without a numeric event.{field}")
    return Subject(kind, value)

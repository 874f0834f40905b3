"""OAuth client-credentials tokens for the Jamf Pro API, cached and refreshed before they expire.

Jamf API clients get a bearer token from ``POST /api/oauth/token`` (form body). Fetching one per request
would double the request count and hit Jamf's rate limits, so the token is cached and renewed a little
before expiry; a lock makes sure that threads paging inventory together trigger one refresh, not five.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remedy.jamf.errors import JamfAuthError

TOKEN_PATH = "/api/oauth/token"
# Renew when less than this is left (or 10% of the lifetime, whichever is more): a token that expires
# between our check and Jamf's check costs a 401 and a second round trip.
REFRESH_MARGIN = 60.0
REFRESH_FRACTION = 0.1


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the client's clock
    lifetime: float

    def stale(self, now: float) -> bool:
        margin = max(REFRESH_MARGIN, REFRESH_FRACTION * self.lifetime)
        # A very short lifetime would otherwise mean a refresh before every call.
        margin = min(margin, self.lifetime / 2)
        return now >= self.expires_at - margin

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at:g})"  # never print the bearer value


class TokenSource:
    """Hands out a valid bearer token; ``fetch`` posts the credentials and returns the token JSON."""

    def __init__(
        self, client_id: str, client_secret: str, fetch: Callable[[dict[str, str]], Any], clock: Callable[[], float]
    ) -> None:
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        self._fetch = fetch
        self._clock = clock
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.fetches = 0  # how many tokens this source asked for; tests and doctor read it

    def get(self) -> str:
        """A token with time to spare; at most one thread fetches, the others wait for its result."""
        with self._lock:
            if self._token is None or self._token.stale(self._clock()):
                self._token = self._new_token()
            return self._token.value

    def invalidate(self, used: str) -> None:
        """Drop ``used`` after Jamf answered 401 to it, unless another thread already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == used:
                self._token = None

    def _new_token(self) -> Token:
        started = self._clock()  # expiry counts from the request, not the answer: err on the early side
        body = self._fetch(self._form)
        self.fetches += 1
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise JamfAuthError("Jamf's token endpoint answered without an access token")
        try:
            lifetime = float(body.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        # Unknown lifetime: assume Jamf's default minimum for API clients rather than "forever".
        lifetime = lifetime if lifetime > 0 else 300.0
        return Token(value, started + lifetime, lifetime)

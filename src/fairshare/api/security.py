"""What keeps the server safe besides the token: security headers, throttled guessing, login sessions.

- Every response carries a Content-Security-Policy (scripts and styles from this origin and inline
  ones only, no framing), X-Frame-Options, nosniff and a Referrer-Policy.
- A client that presents `limit` wrong tokens (API or login form) within `window` seconds gets 429
  until the window slides on: 300 guesses in a second become 10.
- The login form stores a random session id in its cookie, never the API token itself; sessions
  live in memory for `SESSION_SECONDS` and end at logout.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from fastapi import FastAPI, Request

SESSION_SECONDS = 8 * 3600
MAX_SESSIONS = 10_000

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_security_headers(app: FastAPI) -> None:
    """Add the security headers to every response, errors and static files included."""

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


class Throttle:
    """Failed token checks per client address in a sliding window; `blocked` once `limit` is reached."""

    def __init__(self, limit: int = 10, window: float = 60.0):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> float:
        """Seconds until `client` may try again (0 when it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) < self.limit:
                return 0.0
            return max(0.0, times[0] + self.window - now)

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
            if len(self._failures) > MAX_SESSIONS:  # forget the quietest clients, keep memory bounded
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()


class Sessions:
    """Random session ids issued at login, each valid for `SESSION_SECONDS`."""

    def __init__(self, seconds: float = SESSION_SECONDS):
        self.seconds = seconds
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._expiry) >= MAX_SESSIONS:
                for key in sorted(self._expiry, key=self._expiry.get)[: len(self._expiry) // 10 + 1]:
                    del self._expiry[key]
            self._expiry[session] = now + self.seconds
        return session

    def valid(self, session: str | None) -> bool:
        if not session:
            return False
        with self._lock:
            expiry = self._expiry.get(session)
            if expiry is None:
                return False
            if expiry < time.monotonic():
                del self._expiry[session]
                return False
            return True

    def end(self, session: str | None) -> None:
        with self._lock:
            self._expiry.pop(session or "", None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"

"""Bearer-token auth: tokens from `[api] tokens` in fairshare.toml plus `FAIRSHARE_API_TOKEN`.

Every data endpoint and dashboard page requires a token, sent as `Authorization: Bearer <token>`,
or a login session: the dashboard's login form checks the token and sets the HttpOnly
`fairshare_session` cookie to a random session id (never the token). Comparison is constant-time
against every configured token; wrong tokens are throttled per client (`security.Throttle`).
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Iterable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fairshare.api.security import client_address
from fairshare.config import MIN_TOKEN_LENGTH

TOKEN_ENV = "FAIRSHARE_API_TOKEN"
COOKIE = "fairshare_session"

bearer = HTTPBearer(auto_error=False, description="A token from [api] tokens or FAIRSHARE_API_TOKEN")


class Tokens:
    """The accepted tokens; `valid()` compares in constant time."""

    def __init__(self, tokens: Iterable[str]):
        self._tokens = [t.encode("utf-8") for t in dict.fromkeys(tokens) if t]

    def __bool__(self) -> bool:
        return bool(self._tokens)

    def valid(self, candidate: str | None) -> bool:
        if not candidate or not self._tokens:
            return False
        given = candidate.encode("utf-8")
        ok = False
        for token in self._tokens:
            ok |= hmac.compare_digest(token, given)
        return ok


def configured_tokens(workspace_tokens: Iterable[str]) -> list[str]:
    """Workspace tokens plus the one in FAIRSHARE_API_TOKEN (if set; ValueError when too short)."""
    tokens = [t for t in workspace_tokens if t]
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if len(env) < MIN_TOKEN_LENGTH:
            raise ValueError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters; use a longer token")
        tokens.append(env)
    return tokens


def throttled(request: Request) -> HTTPException | None:
    """A 429 for a client that has sent too many wrong tokens lately, else None."""
    wait = request.app.state.throttle.blocked(client_address(request))
    if not wait:
        return None
    seconds = math.ceil(wait)
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(seconds)},
                         detail=f"too many wrong tokens from this address; try again in {seconds} s")  # fmt: skip


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> None:
    """FastAPI dependency: a valid bearer token or login session, else 401 (429 after many wrong tokens)."""
    state = request.app.state
    if (error := throttled(request)) is not None:
        raise error
    if credentials is not None and credentials.scheme.lower() == "bearer":
        if state.tokens.valid(credentials.credentials):
            return
        state.throttle.failed(client_address(request))
    elif state.sessions.valid(request.cookies.get(COOKIE)):
        return
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or invalid token (send Authorization: Bearer <token>)",
        headers={"WWW-Authenticate": "Bearer"},
    )

"""Bearer-token auth: tokens from `[api] tokens` in fairshare.toml plus `FAIRSHARE_API_TOKEN`.

Every data endpoint and dashboard page requires a token, sent as `Authorization: Bearer <token>` or
in the HttpOnly `fairshare_token` cookie that the dashboard's login form sets. Comparison is
constant-time against every configured token (no early exit that leaks which one matched).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

TOKEN_ENV = "FAIRSHARE_API_TOKEN"
COOKIE = "fairshare_token"

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
    """Workspace tokens plus the one in FAIRSHARE_API_TOKEN (if set)."""
    tokens = [t for t in workspace_tokens if t]
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        tokens.append(env)
    return tokens


def request_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    return request.cookies.get(COOKIE)


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> None:
    """FastAPI dependency: 401 unless the request carries a valid token."""
    if not request.app.state.tokens.valid(request_token(request, credentials)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid token (send Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )

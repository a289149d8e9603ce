"""Who is calling: a static bearer token, or an HS256 JWT signed with the configured secret
(its `exp` required). With neither configured the read API is public, and its OpenAPI document
declares no security scheme."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.farcaster.read_api.errors import ReadApiError
from app.settings import Settings

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _refused(message: str) -> ReadApiError:
    return ReadApiError(401, message, headers=CHALLENGE)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def identify(settings: Settings, token: str) -> str:
    """The caller's rate-limit identity for a presented token; 401 if it is not accepted."""
    for known in settings.farcaster_api_token_set:
        if hmac.compare_digest(token.encode(), known.encode()):
            return "token:" + _digest(token)
    if settings.farcaster_api_jwt_secret and token.count(".") == 2:
        try:
            claims = jwt.decode(token, settings.farcaster_api_jwt_secret, algorithms=["HS256"],
                                options={"require": ["exp"]})
        except jwt.ExpiredSignatureError:
            raise _refused("bearer token expired") from None
        except jwt.InvalidTokenError:
            raise _refused("invalid bearer token") from None
        subject = claims.get("sub")
        return f"jwt:{subject}" if isinstance(subject, str) and subject else "jwt:" + _digest(token)
    raise _refused("invalid bearer token")


def caller_dependency(settings: Settings) -> Callable[..., str]:
    """A dependency answering the caller's identity (the client address when auth is off)."""
    if not settings.farcaster_api_auth_configured:
        def anonymous(request: Request) -> str:
            return "address:" + (request.client.host if request.client else "unknown")

        return anonymous

    bearer = HTTPBearer(auto_error=False, scheme_name="FarcasterToken", description="A FARCASTER_API_TOKENS token or a JWT (HS256, with exp)")

    def authenticated(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> str:  # noqa: B008
        if credentials is None:
            raise _refused("missing bearer token")
        return identify(settings, credentials.credentials)

    return authenticated

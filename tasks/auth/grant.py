"""The OAuth 2.0 refresh-token grant (RFC 6749 section 6) over HTTP, with its errors classified."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

CLIENT_AUTH_METHODS = ("basic", "body")  # RFC 6749 section 2.3.1: HTTP Basic or body parameters


@dataclass(frozen=True, slots=True)
class Tokens:
    """A successful token response (RFC 6749 section 5.1)."""

    access_token: str = ""
    expires_in: int | None = None
    refresh_token: str | None = None  # None: the server kept the old one (no rotation)


class GrantError(Exception):
    """Raised when the token endpoint did not issue a token.

    `code` is the RFC 6749 section 5.2 error code (`invalid_grant`, ...) or one of ours
    (`network`, `http_503`, `invalid_response`); `transient` says whether a retry may succeed.
    """

    def __init__(self, code: str, description: str = "", *, transient: bool) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.transient = transient


def basic_credentials(client_id: str, client_secret: str) -> str:
    """The Authorization header value: both parts form-encoded first (RFC 6749 section 2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def request_refresh(
    client: httpx.Client, endpoint: str, *, refresh_token: str, client_id: str | None,
    client_secret: str | None, client_auth: str = "basic",
) -> Tokens:
    """POST the refresh-token grant to `endpoint`; returns the new tokens or raises GrantError."""
    if client_auth not in CLIENT_AUTH_METHODS:
        raise ValueError(f"client auth {client_auth!r} is not one of {CLIENT_AUTH_METHODS}")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {"Accept": "application/json"}
    if client_id:
        form["client_id"] = client_id  # identifies the client; harmless beside Basic auth
    if client_secret is not None:
        if client_auth == "basic" and client_id:
            headers["Authorization"] = basic_credentials(client_id, client_secret)
        else:
            form["client_secret"] = client_secret
    try:
        response = client.post(endpoint, data=form, headers=headers)
    except httpx.TransportError as exc:  # connect, read, timeouts: not ConnectionError subclasses
        raise GrantError("network", f"{type(exc).__name__}: {exc}", transient=True) from exc
    return parse_response(response)


def parse_response(response: httpx.Response) -> Tokens:
    """Turn a token endpoint's answer into Tokens, or a GrantError saying what went wrong."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise GrantError(f"http_{status}", response.reason_phrase, transient=True)
    body = _json_object(response)
    if status != 200:
        # Section 5.2: errors come as 400 (or 401 for invalid_client) with an `error` member.
        error, description = body.get("error"), body.get("error_description")
        code = error if isinstance(error, str) and error else f"http_{status}"
        text = description[:500] if isinstance(description, str) else ""
        raise GrantError(code, text, transient=False)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise GrantError("invalid_response", "no access_token in the response", transient=False)
    rotated = body.get("refresh_token")
    return Tokens(
        access_token=token,
        expires_in=_seconds(body.get("expires_in")),
        refresh_token=rotated if isinstance(rotated, str) and rotated else None,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        if response.status_code == 200:
            raise GrantError("invalid_response", "the response is not JSON",
                             transient=False) from None
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value: Any) -> int | None:
    """`expires_in` as whole seconds; some servers send it as a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(int(value), 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None

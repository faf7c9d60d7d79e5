"""Passwords out of anything air prints: URL user-info (with or without a scheme) and
`password=` query parameters become `***`. Every printer and log line uses this one function."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_TOKEN = re.compile(r"[^\s'\"]+")
_TEMPLATE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_QUERY = re.compile(r"(?i)((?:^|[?&;])(?:password|passwd|pass)=)[^&;#]*")


def redact(text: str) -> str:
    """`text` with every password in a URL (or URL-like `user:password@host`) masked."""
    return _TOKEN.sub(_redact_token, text) if ("@" in text or "=" in text) else text


def redact_data(value: Any) -> Any:
    """A JSON-like document with `redact` applied to every string in it, and the value of every
    `password` key (a Sentinel's, in the transport options) masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: MASK if key == "password" and item else redact_data(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


def _redact_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.count("://") > 1:  # sentinel://:pw@h1:26379;sentinel://:pw@h2:26379
        return ";".join(_redact_url(part) for part in token.split(";"))
    return _redact_url(token)


def _redact_url(token: str) -> str:
    token = _QUERY.sub(rf"\1{MASK}", token)
    at = token.rfind("@")
    if at <= 0:
        return token
    # user-info is what stands between the scheme's `://` (if any) and the last `@`: a URL
    # with a user and no password (`postgresql://postgres@host`) has nothing to mask.
    head = token[:at]
    scheme, sep, userinfo = head.rpartition("://")
    user, colon, password = userinfo.partition(":")
    if not password or password == MASK or _TEMPLATE.fullmatch(password):
        return token  # no password, already masked, or a `${VAR}` reference (no secret)
    return f"{scheme}{sep}{user}:{MASK}{token[at:]}"

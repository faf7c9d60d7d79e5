"""JSON Pointers (RFC 6901): the config paths that diagnostics and the position index use."""

from __future__ import annotations

from collections.abc import Iterable


def escape(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(pointer: str, *tokens: str | int) -> str:
    """Append tokens to a pointer: join('/tasks', 'a/b') == '/tasks/a~1b'."""
    return pointer + "".join("/" + escape(t) for t in tokens)


def build(tokens: Iterable[str | int]) -> str:
    return join("", *tokens)


def split(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [unescape(t) for t in pointer[1:].split("/")]


def parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0] if pointer else ""


def last(pointer: str) -> str:
    return unescape(pointer.rsplit("/", 1)[1]) if pointer else ""

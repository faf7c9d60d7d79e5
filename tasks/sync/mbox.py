"""Reading an mbox file incrementally: the messages appended since the cursor's byte offset.

A message starts at a line beginning 'From ' (bodies escape theirs as '>From ', as the stdlib
mailbox module writes them) and runs to the next such line or the end of the file. The cursor
    {"v": 1, "format": "mbox", "offset": <end of the last message read>,
     "last_start": <its start>, "last_digest": <sha256 of its bytes>}
is checked before use: if the file shrank below `offset`, the last message's bytes changed, or
no 'From ' line starts at `offset`, the file was rewritten (compacted, replaced) and is read
again from the start (record_interaction ignores the messages imported before).

Reads honour the locks the stdlib mailbox module (and mutt, procmail...) take while writing:
a '<file>.lock' dot-lock or an fcntl lock makes the sync fail transiently, to be retried.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tasks.errors import TransientError
from tasks.sync.source import SourceError

try:
    import fcntl
except ImportError:  # not POSIX: only the dot-lock is honoured
    fcntl = None  # type: ignore[assignment]

FORMAT = "mbox"
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MboxReader:
    format = FORMAT

    def __init__(self, path: Path, cursor: dict[str, Any] | None) -> None:
        self.path = path
        self.cursor_state: dict[str, Any] = dict(cursor or {})
        self.reset = False
        self._digests: dict[int, str] = {}  # span start -> digest of its bytes, from load()

    @contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        if Path(f"{self.path}.lock").exists():
            raise TransientError(f"mbox {self.path} is locked ({self.path}.lock exists)")
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise SourceError(f"mbox {self.path} is not readable: {exc.strerror or exc}") from exc
        with stream:
            if fcntl is not None:
                try:
                    fcntl.lockf(stream, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except OSError as exc:  # EAGAIN/EACCES: a writer holds it
                    raise TransientError(f"mbox {self.path} is locked by a writer") from exc
            yield stream  # closing the file releases the lock

    def pending(self) -> list[Span]:
        """The messages after the cursor (all of them when it does not fit the file)."""
        with self._open() as stream:
            size = os.fstat(stream.fileno()).st_size
            offset = self._valid_offset(stream, size)
            spans = self._index(stream, offset, size)
            if spans is None:
                self.reset, spans = True, self._index(stream, 0, size) or []
        if self.reset:
            self.cursor_state = {}
        return spans

    def _valid_offset(self, stream: IO[bytes], size: int) -> int:
        offset, start = self.cursor_state.get("offset"), self.cursor_state.get("last_start")
        if not isinstance(offset, int) or not isinstance(start, int):
            return 0
        if size < offset or start > offset:
            self.reset = True  # the file shrank: rewritten
            return 0
        stream.seek(start)
        if _digest(stream.read(offset - start)) != self.cursor_state.get("last_digest"):
            self.reset = True
            return 0
        return offset

    @staticmethod
    def _index(stream: IO[bytes], offset: int, size: int) -> list[Span] | None:
        """Message spans in [offset, size); None when text other than blank lines precedes
        the first 'From ' line after `offset` (it is not a message boundary)."""
        stream.seek(offset)
        spans: list[Span] = []
        start, pos = None, offset
        while pos < size:
            line = stream.readline(size - pos)
            if not line:
                break
            if line.startswith(b"From "):
                if start is not None:
                    spans.append(Span(start, pos))
                start = pos
            elif start is None and line.strip():
                return None
            pos += len(line)
        if start is not None:
            spans.append(Span(start, pos))
        return spans

    def load(self, span: Span) -> tuple[bytes, datetime]:
        """The message of `span` (without its 'From ' line) and its delivery time."""
        with self._open() as stream:
            stream.seek(span.start)
            data = stream.read(span.end - span.start)
        self._digests[span.start] = _digest(data)
        from_line, _, message = data.partition(b"\n")
        return _ESCAPED_FROM.sub(rb"\1", message), self._delivered(from_line)

    def _delivered(self, from_line: bytes) -> datetime:
        """The date of the 'From sender date' line; else the file's modification time."""
        parts = from_line.decode("ascii", "replace").split(None, 2)
        try:
            return datetime(*time.strptime(parts[2].strip(), "%a %b %d %H:%M:%S %Y")[:6],
                            tzinfo=UTC)
        except (IndexError, ValueError):
            return datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    def advance(self, done: list[Span]) -> dict[str, Any]:
        """The cursor once `done` (a prefix of pending(), each load()ed) is imported."""
        if done:
            last = done[-1]
            self.cursor_state = {"offset": last.end, "last_start": last.start,
                                 "last_digest": self._digests[last.start]}
        return self.cursor()

    def cursor(self) -> dict[str, Any]:
        state = {k: self.cursor_state.get(k) for k in ("offset", "last_start", "last_digest")}
        return {"v": 1, "format": FORMAT, **state}

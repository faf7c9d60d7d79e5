"""Single key presses from the terminal without blocking, in cbreak mode (keys arrive at once,
Ctrl-C still interrupts); the terminal's previous mode comes back on exit, whatever the exit."""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from types import TracebackType
from typing import IO, Any


class Keys:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdin
        self._saved: list[Any] | None = None

    @property
    def interactive(self) -> bool:
        return self.stream.isatty()

    def __enter__(self) -> Keys:
        if self.interactive:
            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self, timeout: float) -> str | None:
        """A key pressed within `timeout` seconds, or None; waits the timeout off a terminal."""
        if not self.interactive:
            select.select([], [], [], timeout)
            return None
        fd = self.stream.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        return os.read(fd, 1).decode(errors="replace") if ready else None

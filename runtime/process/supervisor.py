"""Run several long-lived child processes: prefixed logs, restart with back-off, bounded shutdown.

Each child gets its own process group, so a shutdown reaches a Celery worker's pool processes
too, and a Ctrl-C in the terminal reaches only the supervisor, which then stops the children in
order: SIGTERM (Celery's warm shutdown), then after the grace period SIGKILL to the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

MIN_BACKOFF, MAX_BACKOFF = 1.0, 30.0
STABLE_AFTER = 60.0  # seconds up after which a child's back-off resets


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = MIN_BACKOFF
    restart_at: float | None = None
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Supervisor:
    def __init__(
        self,
        children: list[Child],
        *,
        grace: float = 10.0,
        out: IO[str] | None = None,
        color: bool = False,
    ) -> None:
        self.children = children
        self.grace = grace
        self.out = out or sys.stdout
        self.color = color
        self.width = max((len(c.name) for c in children), default=4)
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    # -- output --------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        prefix = name.ljust(self.width)
        if self.color:
            prefix = f"\033[{31 + hash(name) % 6}m{prefix}\033[0m"
        with self.lock:
            self.out.write(f"{prefix} | {line}\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode("utf-8", "replace").rstrip())
        stream.close()

    # -- life cycle ----------------------------------------------------------------------
    def start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv,
            env=child.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        assert child.process.stdout is not None
        reader = threading.Thread(
            target=self._pump,
            args=(child, child.process.stdout),
            daemon=True,
            name=f"log-{child.name}",
        )
        reader.start()
        child.readers = [reader]

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def watch(self, poll: float = 0.2, should_stop: Callable[[], bool] | None = None) -> None:
        """Restart children that die, until stop() is called or should_stop() says so."""
        while not self.stopping.is_set() and not (should_stop and should_stop()):
            now = time.monotonic()
            for child in self.children:
                self._tend(child, now)
            self.stopping.wait(poll)

    def _tend(self, child: Child, now: float) -> None:
        process = child.process
        if process is not None and process.poll() is not None and child.restart_at is None:
            # What the child left in its process group (a worker's pool processes) would
            # otherwise outlive it and every later shutdown.
            _signal_group(child, signal.SIGKILL)
            uptime = now - child.started_at
            if uptime > STABLE_AFTER:
                child.backoff = MIN_BACKOFF
            child.restart_at = now + child.backoff
            self.say(
                "air",
                f"{child.name} exited with {process.returncode} after {uptime:.1f}s; "
                f"restarting in {child.backoff:.0f}s",
            )
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)
        if child.restart_at is not None and now >= child.restart_at:
            child.restarts += 1
            self.start(child)
            self.say("air", f"{child.name} restarted (pid {child.pid}, restart {child.restarts})")

    def stop(self) -> None:
        self.stopping.set()

    def shutdown(self) -> list[str]:
        """Warm shutdown of every child within the grace period; returns the names of those
        that had to be killed."""
        self.stopping.set()
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in self.children:  # exited, not yet restarted: sweep what it left behind
            if child.process is not None and child.process.poll() is not None:
                _signal_group(child, signal.SIGKILL)
        for child in running:
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        killed = []
        for child in running:
            assert child.process is not None
            if child.process.poll() is None:
                killed.append(child.name)
                self.say(
                    "air",
                    f"{child.name} did not stop within {self.grace:g}s of SIGTERM; "
                    f"sending SIGKILL to its process group",
                )
            # Always sweep the group: a pool process may outlive its parent.
            _signal_group(child, signal.SIGKILL)
            child.process.wait()
        for child in self.children:
            for reader in child.readers:
                reader.join(timeout=2)
        return killed


def _signal_group(child: Child, sig: signal.Signals) -> None:
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

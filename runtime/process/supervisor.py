"""Run several long-lived child processes: prefixed logs, restart with back-off, staged shutdown.

Each child gets its own session and process group: a Ctrl-C in the terminal reaches only the
supervisor, never a worker's pool processes. Shutdown is staged, and each stop() request
hurries it one stage: SIGTERM to each child's main process only (Celery's warm shutdown: the
worker stops taking work and its pool processes finish their tasks), after the grace period
SIGQUIT (Celery's cold shutdown: running tasks are cancelled and acks_late messages go back to
their queues), and after COLD_GRACE SIGKILL to the whole process group. Signalling the group
from the start would reach the pool processes too, which die on SIGTERM mid-task.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from runtime.process import jsonlines

MIN_BACKOFF, MAX_BACKOFF = 1.0, 30.0
STABLE_AFTER = 60.0  # seconds up after which a child's back-off resets
COLD_GRACE = 10.0  # seconds a cold shutdown may take (cancel tasks, requeue) before SIGKILL
WARM, COLD, KILL = 1, 2, 3  # shutdown stages; `urgency` says which one has been asked for


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
        json_lines: bool = False,
    ) -> None:
        self.children = children
        self.grace = grace
        self.out = out or sys.stdout
        self.color = color
        self.json_lines = json_lines  # every line a JSON object, for log collectors
        self.width = max((len(c.name) for c in children), default=4)
        # An int, not a threading.Event: stop() runs in signal handlers, and Event.set() there
        # can deadlock on the lock the interrupted Event.wait() holds.
        self.urgency = 0
        self.lock = threading.Lock()

    # -- output --------------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        """One line of a child's output, prefixed with its name (or tagged, as JSON)."""
        if self.json_lines:
            if line.strip():  # Celery pads its notices with blank lines
                self._write(jsonlines.tag(name, line))
            return
        prefix = name.ljust(self.width)
        if self.color:
            prefix = f"\033[{31 + hash(name) % 6}m{prefix}\033[0m"
        self._write(f"{prefix} | {line}")

    def tell(self, message: str, level: str = "info", **fields: Any) -> None:
        """The supervisor's own news: a line from `air`, or a JSON note."""
        if self.json_lines:
            self._write(jsonlines.note(message, level=level, **fields))
        else:
            self.say("air", message)

    def _write(self, line: str) -> None:
        with self.lock:
            write_line(self.out, line)

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
        while not self.stopping and not (should_stop and should_stop()):
            now = time.monotonic()
            for child in self.children:
                self._tend(child, now)
            time.sleep(poll)

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
            self.tell(
                f"{child.name} exited with {process.returncode} after {uptime:.1f}s; "
                f"restarting in {child.backoff:.0f}s",
                level="warning",
                process=child.name,
            )
            child.backoff = min(child.backoff * 2, MAX_BACKOFF)
        if child.restart_at is not None and now >= child.restart_at:
            child.restarts += 1
            self.start(child)
            self.tell(
                f"{child.name} restarted (pid {child.pid}, restart {child.restarts})",
                process=child.name,
            )

    @property
    def stopping(self) -> bool:
        return self.urgency >= WARM

    def stop(self) -> None:
        """Ask for a shutdown; asking again hurries it: warm, then cold, then kill.
        Safe to call from a signal handler."""
        self.urgency = min(self.urgency + 1, KILL)

    def shutdown(self) -> list[str]:
        """Stop every child in stages (warm within the grace period, then cold, then SIGKILL);
        returns the names of those that did not stop warm."""
        self.urgency = max(self.urgency, WARM)
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in self.children:  # exited, not yet restarted: sweep what it left behind
            if child.process is not None and child.process.poll() is not None:
                _signal_group(child, signal.SIGKILL)
        for child in running:
            _signal_main(child, signal.SIGTERM)
        self._wait_exit(running, self.grace, until=COLD)
        late = [c for c in running if _alive(c)]
        for child in late:
            self.tell(
                f"{child.name} did not stop within {self.grace:g}s of SIGTERM"
                if self.urgency < COLD
                else f"{child.name}: asked to hurry",
                level="warning",
                process=child.name,
            )
            self.tell(
                f"{child.name}: cold shutdown (SIGQUIT; running tasks go back)",
                level="warning",
                process=child.name,
            )
            _signal_main(child, signal.SIGQUIT)
        self._wait_exit(late, COLD_GRACE, until=KILL)
        for child in running:
            assert child.process is not None
            if _alive(child):
                self.tell(
                    f"{child.name}: still running; SIGKILL to its process group",
                    level="warning",
                    process=child.name,
                )
            # Always sweep the group: a pool process may outlive its parent.
            _signal_group(child, signal.SIGKILL)
            child.process.wait()
        for child in self.children:
            for reader in child.readers:
                reader.join(timeout=2)
        return [c.name for c in late]

    def _wait_exit(self, children: list[Child], seconds: float, until: int) -> None:
        """Wait for the children to exit, at most `seconds`, or until stop() asks for `until`."""
        deadline = time.monotonic() + seconds
        while any(_alive(c) for c in children) and self.urgency < until:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.05, left))


def write_line(stream: IO[str], line: str) -> None:
    """Write a line; if its reader has gone (`air up | tee log` after a Ctrl-C, a collector that
    died), mute the stream instead of raising. The children must still be drained (a reader
    thread that died would leave a worker blocked on a full pipe), stopped, and their Redis shut
    down, whether or not anyone reads what the supervisor says about it."""
    try:
        stream.write(line + "\n")
        stream.flush()
    except BrokenPipeError:
        _mute(stream)


def _mute(stream: IO[str]) -> None:
    # Point the descriptor at /dev/null, so later writes and the interpreter's flush at exit
    # (which would report the broken pipe again) go nowhere.
    # A stream with no descriptor of its own (OSError, ValueError) has nothing flushed at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _alive(child: Child) -> bool:
    return child.process is not None and child.process.poll() is None


def _signal_main(child: Child, sig: signal.Signals) -> None:
    if child.process is not None and child.process.poll() is None:
        child.process.send_signal(sig)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass

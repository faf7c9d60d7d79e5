"""`air monitor` in a real terminal (tmux), against a real worker: the numbers show, `q` quits
with exit 0, and the terminal is back in its normal mode afterwards."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import AIR, Platform
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(120)]


class Terminal:
    """A tmux session on a server of its own (its own socket), 160x50."""

    def __init__(self, name: str) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            pytest.fail("tmux is not installed; the monitor test needs it: apt-get install -y tmux")
        self.base = [tmux, "-L", name]
        self.name = name

    def start(self, command: str) -> None:
        subprocess.run([*self.base, "new-session", "-d", "-s", self.name, "-x", "160", "-y",
                        "50", command], check=True)

    def screen(self) -> str:
        return subprocess.run([*self.base, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, check=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", self.name, *keys], check=True)

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    terminal = Terminal(f"exporter-mon-{os.getpid()}")
    yield terminal
    terminal.close()


def row(screen: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`."""
    for line in screen.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if cells and cells[0] == first:
            return cells
    return []


def start_monitor(platform: Platform, terminal: Terminal) -> None:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in platform.env().items()
                   if k in ("AIR_CONFIG_DIR", "PYTHONPATH", "PATH"))
    # After the monitor: its exit status, then the terminal's mode, for the test to read.
    terminal.start(f"cd {shlex.quote(str(REPO))} && env {env} TERM=xterm-256color {AIR} monitor;"
                   f" echo monitor-exit=$?; stty -a; echo stty-shown; sleep 60")


def after_exit(terminal: Terminal) -> str:
    # Wait for the line after `stty -a`: the exit line alone can be drawn before stty's.
    screen: str = wait_until(lambda: "stty-shown" in (s := terminal.screen()) and s, 15,
                             message="the monitor to exit and stty to show the modes")
    modes = screen.split()
    assert "icanon" in modes and "echo" in modes, "the terminal was left in cbreak mode"
    return screen


def test_monitor_shows_queues_and_pools_and_quits_on_q(
    platform: Platform, terminal: Terminal
) -> None:
    platform.start_pool("default")
    start_monitor(platform, terminal)

    def pool_row(screen: str) -> list[str]:
        # The pools table repeats the queue name "default": its row is the last one.
        lines = [line for line in screen.splitlines() if row(line, "default")]
        return row(lines[-1], "default") if lines else []

    # The worker's heartbeat on screen means the monitor listens to events: send only then.
    wait_until(lambda: pool_row(terminal.screen())[1:2] == ["1"], 30,
               message="the monitor to see the worker")
    app = platform.app()
    for n in range(20):
        app.send_task("sample.echo", args=[n])
    for n in range(4):
        app.send_task("sample.echo", args=[n], queue="bulk")  # no bulk worker: they wait

    def numbers() -> bool:
        screen = terminal.screen()
        # Queue rows: queue waiting oldest running tasks/s failed p50 p99.
        queue, bulk, pool = row(screen, "default"), row(screen, "bulk"), pool_row(screen)
        return bool(
            queue and float(queue[4]) > 0 and queue[6] != "-"
            and bulk and bulk[1] == "4"
            and pool and pool[1] == "1" and pool[2].endswith("/2")
        )

    wait_until(numbers, 30, interval=0.3, message="tasks/s, wait and the pool to show")
    terminal.keys("q")
    assert "monitor-exit=0" in after_exit(terminal)


def test_monitor_stopped_with_ctrl_c_restores_the_terminal(
    platform: Platform, terminal: Terminal
) -> None:
    start_monitor(platform, terminal)
    wait_until(lambda: row(terminal.screen(), "default"), 30, message="the monitor to draw")
    terminal.keys("C-c")
    assert "monitor-exit=130" in after_exit(terminal)

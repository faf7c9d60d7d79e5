"""The supervisor behind `air up`, with real child processes: prefixed output, restart with
back-off, staged shutdown (SIGTERM to the main process, SIGQUIT, SIGKILL to the group), and no
process left behind."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from runtime.process import supervisor
from runtime.process.supervisor import Child, Supervisor
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

# A grandchild that ignores SIGTERM and lives until it is killed.
GRANDCHILD = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring TERM', flush=True)\n"
    "while True: time.sleep(1)\n"
)


def child(name: str, code: str, **fields: object) -> Child:
    return Child(
        name=name,
        argv=[sys.executable, "-u", "-c", code],
        env={**os.environ, "GRANDCHILD": GRANDCHILD},
        **fields,
    )  # type: ignore[arg-type]


def spawning(then: str) -> str:
    """A child that starts a grandchild in its own process group, prints its pid, then runs
    `then`."""
    return (
        "import os, subprocess, sys, time\n"
        "g = subprocess.Popen([sys.executable, '-c', os.environ['GRANDCHILD']])\n"
        "print('grandchild', g.pid, flush=True)\n" + then
    )


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def pids_after(output: io.StringIO, word: str, count: int) -> list[int]:
    def found() -> list[int]:
        pids = [
            int(line.split(word, 1)[1].split()[0])
            for line in output.getvalue().splitlines()
            if f"| {word} " in line
        ]
        return pids if len(pids) >= count else []

    return wait_until(found, timeout=10, message=f"{count} '{word}' lines")


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    """Supervisors a test starts; shut down at the end whatever the test did."""
    started: list[Supervisor] = []
    yield started
    for each in started:
        each.grace = 0
        each.shutdown()


def test_output_lines_are_prefixed_with_the_aligned_child_name(
    supervisors: list[Supervisor],
) -> None:
    out = io.StringIO()
    boss = Supervisor(
        [
            child("a", "print('hello from a'); print('bye')"),
            child("longname", "print('hello from longname')"),
        ],
        out=out,
    )
    supervisors.append(boss)

    boss.start_all()
    wait_until(lambda: "bye" in out.getvalue() and "from longname" in out.getvalue())

    lines = out.getvalue().splitlines()
    assert "a        | hello from a" in lines
    assert "a        | bye" in lines
    assert "longname | hello from longname" in lines
    assert lines.index("a        | hello from a") < lines.index("a        | bye")


def test_a_child_that_exits_is_restarted_with_growing_back_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, supervisors: list[Supervisor]
) -> None:
    monkeypatch.setattr(supervisor, "MAX_BACKOFF", 0.8)
    starts = tmp_path / "starts"
    code = (
        "import time\n"
        f"open({str(starts)!r}, 'a').write(f'{{time.monotonic()}}\\n')\n"
        "raise SystemExit(3)\n"
    )
    out = io.StringIO()
    crashing = child("crashy", code, backoff=0.1)
    boss = Supervisor([crashing], out=out)
    supervisors.append(boss)

    boss.start_all()
    deadline = time.monotonic() + 30
    boss.watch(poll=0.01, should_stop=lambda: crashing.restarts >= 5 or time.monotonic() > deadline)
    wait_until(lambda: len(starts.read_text().split()) >= 6, message="the sixth start")

    times = [float(t) for t in starts.read_text().split()]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Each restart waits at least the back-off: 0.1, 0.2, 0.4, then capped at 0.8.
    for gap, wait in zip(gaps, [0.1, 0.2, 0.4, 0.8, 0.8], strict=False):
        assert gap >= wait, gaps
    assert crashing.backoff == 0.8
    assert "air    | crashy exited with 3 after" in out.getvalue()
    assert "crashy restarted (pid" in out.getvalue()


def test_back_off_starts_over_after_a_stable_run(
    monkeypatch: pytest.MonkeyPatch, supervisors: list[Supervisor]
) -> None:
    monkeypatch.setattr(supervisor, "MIN_BACKOFF", 0.05)
    monkeypatch.setattr(supervisor, "STABLE_AFTER", 0.3)
    code = "import time; print('up', flush=True); time.sleep(0.6)"
    steady = child("steady", code, backoff=20.0)  # as if it had crashed often before
    boss = Supervisor([steady], out=io.StringIO())
    supervisors.append(boss)

    boss.start_all()
    deadline = time.monotonic() + 20
    boss.watch(poll=0.01, should_stop=lambda: steady.restarts >= 1 or time.monotonic() > deadline)

    assert steady.restarts == 1  # within 20 s, so not after the old 20 s back-off
    assert steady.backoff == 0.1  # reset to 0.05, then doubled for the next time


def test_watch_stops_when_asked(supervisors: list[Supervisor]) -> None:
    looping = child("loop", "import time\nwhile True: time.sleep(1)")
    boss = Supervisor([looping], out=io.StringIO())
    supervisors.append(boss)
    boss.start_all()

    boss.stop()
    boss.watch(poll=0.01)  # returns at once

    assert looping.process is not None and looping.process.poll() is None
    assert boss.shutdown() == []
    assert looping.process.returncode == -15  # SIGTERM, Python's default: exit


def test_shutdown_terms_then_quits_then_kills(
    monkeypatch: pytest.MonkeyPatch, supervisors: list[Supervisor]
) -> None:
    monkeypatch.setattr(supervisor, "COLD_GRACE", 0.5)
    polite = child(
        "polite",
        "import signal, sys, time\n"
        "def bye(*_): print('got TERM', flush=True); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n",
    )
    cold = child(
        "cold",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n",
    )
    stubborn = child(
        "stubborn",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n",
    )
    out = io.StringIO()
    boss = Supervisor([polite, cold, stubborn], grace=0.5, out=out)
    supervisors.append(boss)
    boss.start_all()
    wait_until(lambda: out.getvalue().count("| ready") == 3, message="the children ready")

    began = time.monotonic()
    late = boss.shutdown()
    took = time.monotonic() - began

    assert late == ["cold", "stubborn"]
    assert polite.process is not None and polite.process.returncode == 0
    assert cold.process is not None and cold.process.returncode == -signal.SIGQUIT
    assert stubborn.process is not None and stubborn.process.returncode == -signal.SIGKILL
    assert "polite   | got TERM" in out.getvalue()
    assert "stubborn did not stop within 0.5s of SIGTERM" in out.getvalue()
    assert "stubborn: still running; SIGKILL to its process group" in out.getvalue()
    assert "cold: still running" not in out.getvalue()
    assert 1.0 <= took < 10


# A worker in miniature: on SIGTERM the main process waits for its "pool process" (same process
# group) to finish the task it is running, as Celery's warm shutdown does.
WORKER = (
    "import os, signal, subprocess, sys, time\n"
    "task = subprocess.Popen([sys.executable, '-c', os.environ['TASK']])\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(task.wait()))\n"
    "print('running', flush=True)\n"
    "while True: time.sleep(1)\n"
)
TASK = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (print('task got TERM', flush=True), sys.exit(9)))\n"
    "time.sleep(1.5)\n"
    "print('task done', flush=True)\n"
)


def test_warm_shutdown_signals_only_the_main_process_so_running_work_finishes(
    supervisors: list[Supervisor],
) -> None:
    out = io.StringIO()
    worker = Child(
        name="worker", argv=[sys.executable, "-u", "-c", WORKER], env={**os.environ, "TASK": TASK}
    )
    boss = Supervisor([worker], grace=20, out=out)
    supervisors.append(boss)
    boss.start_all()
    wait_until(lambda: "| running" in out.getvalue(), message="the worker to start")

    late = boss.shutdown()

    assert late == []
    assert "worker | task done" in out.getvalue()
    assert "task got TERM" not in out.getvalue()
    assert worker.process is not None and worker.process.returncode == 0


def test_asking_again_during_shutdown_hurries_it(
    monkeypatch: pytest.MonkeyPatch, supervisors: list[Supervisor]
) -> None:
    monkeypatch.setattr(supervisor, "COLD_GRACE", 30.0)
    stubborn = child(
        "stubborn",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n",
    )
    out = io.StringIO()
    boss = Supervisor([stubborn], grace=30, out=out)
    supervisors.append(boss)
    boss.start_all()
    wait_until(lambda: "| ready" in out.getvalue(), message="the child ready")
    boss.stop()  # the first Ctrl-C: watch() returns, shutdown() begins warm

    def press_twice_more() -> None:
        wait_until(lambda: "began" in marks, message="the shutdown to begin")
        boss.stop()  # second Ctrl-C: cold at once
        wait_until(lambda: "asked to hurry" in out.getvalue(), message="the cold stage")
        boss.stop()  # third: kill at once

    marks: list[str] = []
    presser = threading.Thread(target=press_twice_more)
    presser.start()
    began = time.monotonic()
    marks.append("began")
    late = boss.shutdown()
    took = time.monotonic() - began
    presser.join()

    assert late == ["stubborn"]
    assert "stubborn: asked to hurry" in out.getvalue()
    assert stubborn.process is not None and stubborn.process.returncode == -signal.SIGKILL
    assert took < 20  # neither the 30 s grace nor the 30 s cold grace was waited out


def test_grandchildren_in_a_childs_process_group_are_gone_after_shutdown(
    supervisors: list[Supervisor],
) -> None:
    out = io.StringIO()
    parent = child("parent", spawning("while True: time.sleep(1)\n"))
    boss = Supervisor([parent], grace=2, out=out)
    supervisors.append(boss)
    boss.start_all()
    [grandchild] = pids_after(out, "grandchild", 1)
    wait_until(lambda: "parent | ignoring TERM" in out.getvalue(), message="the grandchild")
    assert not gone(grandchild)

    killed = boss.shutdown()

    assert killed == []  # the child itself stopped on SIGTERM; its grandchild ignored it
    wait_until(lambda: gone(grandchild), timeout=5, message="the grandchild to be gone")


def test_grandchildren_of_a_child_that_died_are_gone_too(supervisors: list[Supervisor]) -> None:
    out = io.StringIO()
    # Dies at once, as a worker's main process might, leaving its pool processes behind.
    crashing = child("crashy", spawning("os._exit(1)\n"), backoff=0.05)
    boss = Supervisor([crashing], grace=2, out=out)
    supervisors.append(boss)
    boss.start_all()
    deadline = time.monotonic() + 20
    boss.watch(poll=0.01, should_stop=lambda: crashing.restarts >= 2 or time.monotonic() > deadline)
    orphans = pids_after(out, "grandchild", 2)

    boss.shutdown()

    for pid in orphans:
        wait_until(lambda pid=pid: gone(pid), timeout=5, message=f"orphan {pid} to be gone")


def test_json_lines_tag_each_child_line_and_wrap_plain_text(supervisors: list[Supervisor]) -> None:
    out = io.StringIO()
    talker = child(
        "talker",
        "import json\n"
        "print(json.dumps({'event': 'hello', 'level': 'info'}))\n"
        "print()\n"
        "print('a plain banner line', flush=True)\n",
    )
    boss = Supervisor([talker], out=out, json_lines=True)
    supervisors.append(boss)
    boss.start_all()
    wait_until(lambda: "banner" in out.getvalue(), message="the child's output")
    boss.shutdown()

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0] == {"event": "hello", "level": "info", "process": "talker"}
    assert records[1]["event"] == "a plain banner line"  # and the blank line is gone
    assert records[1]["process"] == "talker" and records[1]["logger"] == "air.output"
    assert len(records) == 2

"""Every README console example whose output is shown runs, and prints what the README says.

In a ```console block, a line starting with `$ ` is a command and the lines after it, up to
the next command, are its expected output (stdout and stderr, as a terminal shows them); a line
holding only `...` stands for any number of lines. Every command of a block runs, in order; one
with no output shown must print nothing. Commands whose output is not shown (`air up` runs until
stopped) go in ```sh blocks, which are not run. A block preceded by the line
`<!-- example: platform up -->` runs with every pool of the shipped config running.

Each block runs in a fresh directory holding a copy of config/, as if from the repository root,
with the broker and result backend pointed at the test's own redis-server, so an example can
neither edit the shipped config nor reach the machine's Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.celeryapp.app import create_app
from runtime.compiler.compile import load_plan
from tests.e2e.conftest import ping
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PLATFORM_MARK = "<!-- example: platform up -->"


@dataclass(frozen=True)
class Step:
    command: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    line: int  # of the opening fence, 1-based
    steps: tuple[Step, ...]
    needs_platform: bool

    @property
    def id(self) -> str:
        return f"README.md:{self.line}"


def examples(text: str) -> Iterator[Example]:
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() != "```console":
            index += 1
            continue
        opening = index
        body: list[str] = []
        index += 1
        while lines[index].strip() != "```":
            body.append(lines[index])
            index += 1
        before = [line for line in lines[max(0, opening - 2) : opening] if line.strip()]
        platform = bool(before) and before[-1] == PLATFORM_MARK
        yield Example(opening + 1, tuple(_steps(body)), platform)
        index += 1


def _steps(body: list[str]) -> Iterator[Step]:
    command: str | None = None
    output: list[str] = []
    for line in [*body, "$ "]:
        if line.startswith("$ "):
            if command is not None:
                yield Step(command, tuple(output))
            command, output = line[2:], []
        else:
            output.append(line)


def matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    """Exact lines, where a `...` line matches any run of lines (none included)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and matches(rest, actual[1:])


EXAMPLES = list(examples(README.read_text(encoding="utf-8")))


def test_the_readme_has_examples_with_output() -> None:
    assert sum(1 for e in EXAMPLES for step in e.steps if step.expected) >= 2
    assert matches(("a", "...", "c"), ["a", "b", "b", "c"])
    assert matches(("...",), [])
    assert not matches(("a", "c"), ["a", "b", "c"])


def _environment(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIR_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        AIR_BROKER_URL=redis_url,
        AIR_RESULT_BACKEND=redis_url,
        NO_COLOR="1",
        COLUMNS="100",
    )
    return env


def _run(example: Example, workdir: Path, env: dict[str, str]) -> None:
    for step in example.steps:
        done = subprocess.run(
            ["bash", "-c", step.command],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
        )
        actual = done.stdout.rstrip("\n").splitlines()
        assert matches(step.expected, actual), (
            f"{example.id}: `{step.command}` printed:\n{done.stdout}\nthe README shows:\n"
            + "\n".join(step.expected)
        )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    for shown in ("tests", "docs"):  # examples may read the config cases and docs (not write)
        (tmp_path / shown).symlink_to(REPO / shown)
    return tmp_path


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if not e.needs_platform], ids=lambda e: e.id
)
def test_readme_example(example: Example, workdir: Path, redis_url: str) -> None:
    _run(example, workdir, _environment(redis_url))


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "example", [e for e in EXAMPLES if e.needs_platform], ids=lambda e: e.id
)
def test_readme_example_with_the_platform_up(
    example: Example, workdir: Path, redis_url: str
) -> None:
    env = _environment(redis_url)
    plan, _ = load_plan(workdir / "config", env)
    app = create_app(plan)
    log = workdir / "air-up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            ["air", "up", "--no-beat"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        host = socket.gethostname()
        nodes = {n.replace("%h", host) for w in plan.workers.values() for n in w.hostnames}

        def all_answer() -> bool:
            if up.poll() is not None:
                raise AssertionError(f"air up exited {up.returncode}:\n{log.read_text()}")
            return nodes <= {name for reply in ping(app, timeout=0.5) for name in reply}

        wait_until(all_answer, timeout=180, message="every shipped pool to answer ping")
        _run(example, workdir, env)
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=60)
        app.close()

"""Helpers for unit tests: no Redis, no network, no subprocess unless a test says why."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from textwrap import dedent

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# A small config that validates with no diagnostics at all; tests change one thing in it.
MINIMAL_QUEUES = """\
version: 1
defaults:
  time_limit: {soft: 1m, hard: 2m}
queues:
  default: {priority: 5}
pools:
  default: {queues: [default]}
"""
MINIMAL_SCHEDULES = "version: 1\n"

WriteConfig = Callable[..., Path]


@pytest.fixture(scope="session", autouse=True)
def two_cores() -> Iterator[None]:
    """Plans compile as on a 2-core machine, whatever this one has: pools get 2 processes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("runtime.compiler.workers.machine_cores", lambda: 2)
        yield


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write queues.yaml / schedules.yaml (dedented) into a fresh directory and return it.

    Pass None to leave a file out; the minimal valid files are the defaults.
    """
    counter = iter(range(1_000_000))

    def write(
        queues: str | None = MINIMAL_QUEUES,
        schedules: str | None = MINIMAL_SCHEDULES,
    ) -> Path:
        directory = tmp_path / f"config{next(counter)}"
        directory.mkdir()
        for name, text in (("queues.yaml", queues), ("schedules.yaml", schedules)):
            if text is not None:
                (directory / name).write_text(dedent(text), encoding="utf-8")
        return directory

    return write

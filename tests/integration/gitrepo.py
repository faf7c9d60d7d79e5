"""A real git repository made in a test: config files committed in several steps."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO

# Commits made in tests never read the user's or the machine's git configuration.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "air tests",
    "GIT_AUTHOR_EMAIL": "tests@air.invalid",
    "GIT_COMMITTER_NAME": "air tests",
    "GIT_COMMITTER_EMAIL": "tests@air.invalid",
}


class GitRepo:
    def __init__(self, root: Path, config: str = "config") -> None:
        self.root = root
        self.config = root / config
        root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def with_shipped_config(cls, root: Path, config: str = "config") -> GitRepo:
        repo = cls(root, config)
        repo.git("init", "-q", "-b", "main")
        shutil.copytree(REPO / "config", repo.config)
        repo.commit("the shipped config")
        return repo

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **GIT_ENV},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def edit(self, name: str, change: Callable[[str], str]) -> None:
        path = self.config / name
        before = path.read_text()
        after = change(before)
        assert after != before, f"the edit of {name} changed nothing"
        path.write_text(after)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def replace(old: str, new: str, count: int = -1) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return change


def rename_low_priority(repo: GitRepo) -> None:
    """Rename queue low_priority to archive everywhere it is named."""
    repo.edit("queues.yaml", replace("\n  low_priority:\n", "\n  archive:\n"))
    repo.edit("queues.yaml", replace("queues: [low_priority]", "queues: [archive]"))
    repo.edit("queues.yaml", replace("queue: low_priority", "queue: archive"))
    repo.edit("schedules.yaml", replace("queue: low_priority", "queue: archive"))


def remove_data_pipeline(repo: GitRepo) -> None:
    """Drop queue data_pipeline and its pool; its tasks go to the default queue."""
    repo.edit("queues.yaml", replace(
        '  data_pipeline:\n    priority: 3\n    description: "Exports, bulk operations, '
        'deduplication, cleanup"\n    slo: {max_wait: 30m}                   # bulk work arrives '
        "in bursts: depth alone says little\n",
        "",
    ))
    repo.edit("queues.yaml", replace(
        "  data-pipeline: {queues: [data_pipeline], concurrency: 1, max_tasks_per_child: 20}\n",
        ""))
    repo.edit("queues.yaml", replace("    queue: data_pipeline\n", ""))

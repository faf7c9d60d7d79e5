"""Read config files from git revisions (no checkout) or the work tree, for `air plan`."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.config.errors import UsageError

DEFAULT_BRANCHES = ("main", "master")


class GitError(UsageError):
    """Raised when git is missing, this is not a repository, or a revision does not exist."""


@dataclass(frozen=True, slots=True)
class Repository:
    root: Path

    @classmethod
    def find(cls, cwd: Path) -> Repository:
        top = _git(cwd, "rev-parse", "--show-toplevel", what="find the git repository")
        return cls(Path(top.decode().strip()))

    def relative(self, path: Path) -> str:
        """`path` (relative to the working directory) as a path inside the repository."""
        absolute = path.resolve()
        try:
            return absolute.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            raise GitError(
                f"{path} is outside the git repository at {self.root}",
                hint="run air plan inside the repository, with --config pointing into it",
            ) from None

    def commit(self, rev: str) -> str:
        """The commit id `rev` names; a usage error when it names none."""
        out = _git(
            self.root,
            "rev-parse",
            "--verify",
            "--quiet",
            f"{rev}^{{commit}}",
            what=f"resolve revision '{rev}'",
            hint="name a branch, tag or commit that exists (git log --oneline)",
        )
        return out.decode().strip()

    def default_base(self) -> tuple[str, str]:
        """(commit, branch): the merge base of HEAD with the default branch (origin/HEAD, else
        main or master)."""
        candidates = []
        remote = self._try("rev-parse", "--abbrev-ref", "origin/HEAD")
        if remote:
            candidates.append(remote)
        candidates += [*DEFAULT_BRANCHES, *(f"origin/{b}" for b in DEFAULT_BRANCHES)]
        for branch in candidates:
            base = self._try("merge-base", "HEAD", branch)
            if base:
                return base, branch
        raise GitError(
            "cannot find the default branch to compare with (no origin/HEAD, main or master)",
            hint="name the base revision with --base REF",
        )

    def read(self, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
        """The contents of `paths` at commit `rev` (None for a path that does not exist there),
        all read by one `git cat-file --batch`."""
        request = "".join(f"{rev}:{path}\n" for path in paths).encode()
        out = _git(self.root, "cat-file", "--batch", what="read files", stdin=request)
        contents: dict[str, bytes | None] = {}
        offset = 0
        for path in paths:
            end = out.index(b"\n", offset)
            header = out[offset:end].split()
            offset = end + 1
            if header[-1] == b"missing":
                contents[path] = None
                continue
            size = int(header[2])
            # A directory or submodule at that path is not a config file either.
            contents[path] = out[offset : offset + size] if header[1] == b"blob" else None
            offset += size + 1  # the blob is followed by a newline
        return contents

    def read_worktree(self, paths: Sequence[str]) -> dict[str, bytes | None]:
        contents: dict[str, bytes | None] = {}
        for path in paths:
            try:
                contents[path] = (self.root / path).read_bytes()
            except FileNotFoundError:
                contents[path] = None
            except OSError as exc:
                raise GitError(f"cannot read {path}: {exc.strerror or exc}") from None
        return contents

    def _try(self, *args: str) -> str | None:
        try:
            return _git(self.root, *args, what="").decode().strip() or None
        except GitError:
            return None


def _git(
    cwd: Path, *args: str, what: str, hint: str | None = None, stdin: bytes | None = None
) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed", hint="install git; air plan reads it") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        detail = f": {reason[-1]}" if reason else ""
        raise GitError(f"cannot {what}{detail}", hint=hint)
    return done.stdout

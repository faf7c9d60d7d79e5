"""Reading a Maildir incrementally: which message files are new since the cursor.

A message file lives in new/ or cur/ and is named '<unique key>[:<flags>]'; a mail client
renames it (new/ -> cur/, flags) without changing its key or modification time. The cursor
keeps the newest mtime seen and the keys seen within `slack` of it:
    {"v": 1, "format": "maildir", "mtime_ns": <newest>, "recent": {key: mtime_ns}}
A file is new when its key is not in `recent` and its mtime is no older than newest - slack;
so a delivery renamed into new/ a little after a younger one (mtime order is not delivery
order) is still found, while the cursor stays as small as the messages of one slack window.
A message whose file is older than that window when it first appears is not picked up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.sync.source import SourceError

FORMAT = "maildir"


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    path: Path
    mtime_ns: int


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def scan(root: Path) -> list[Entry]:
    """Every message file in new/ and cur/ (dot files are in-progress or hidden)."""
    entries: list[Entry] = []
    for sub in ("new", "cur"):
        try:
            with os.scandir(root / sub) as found:
                for item in found:
                    if item.name.startswith(".") or not item.is_file():
                        continue
                    key = item.name.split(":", 1)[0]
                    entries.append(Entry(key, Path(item.path), item.stat().st_mtime_ns))
        except OSError as exc:
            raise SourceError(f"Maildir {root} is not readable: {exc.strerror or exc}") from exc
    return entries


class MaildirReader:
    format = FORMAT

    def __init__(self, root: Path, cursor: dict[str, Any] | None, *, slack: float) -> None:
        self.root = root
        self.slack_ns = int(slack * 1e9)
        cursor = cursor or {}
        self.newest: int | None = cursor.get("mtime_ns")
        self.recent: dict[str, int] = dict(cursor.get("recent") or {})

    def pending(self) -> list[Entry]:
        """The new message files, oldest first."""
        horizon = None if self.newest is None else self.newest - self.slack_ns
        found = {e.key: e for e in scan(self.root)
                 if e.key not in self.recent and (horizon is None or e.mtime_ns >= horizon)}
        return sorted(found.values(), key=lambda e: (e.mtime_ns, e.key))

    def load(self, entry: Entry) -> tuple[bytes, datetime] | None:
        """The message's bytes and delivery time; None if it was deleted meanwhile."""
        for path in (entry.path, *self._renamed(entry.key)):
            try:
                return path.read_bytes(), datetime.fromtimestamp(entry.mtime_ns / 1e9, UTC)
            except FileNotFoundError:
                continue  # moved by a mail client since the scan: look for its new name
            except OSError as exc:
                raise SourceError(f"message {path} is not readable: {exc.strerror or exc}"
                                  ) from exc
        return None

    def _renamed(self, key: str) -> list[Path]:
        return [e.path for e in scan(self.root) if e.key == key]

    def advance(self, done: list[Entry]) -> dict[str, Any]:
        """The cursor once `done` (a prefix of pending()) is imported."""
        if done:
            self.newest = max(self.newest or 0, *(e.mtime_ns for e in done))
            self.recent.update({e.key: e.mtime_ns for e in done})
            horizon = self.newest - self.slack_ns
            self.recent = {k: m for k, m in self.recent.items() if m >= horizon}
        return self.cursor()

    def cursor(self) -> dict[str, Any]:
        return {"v": 1, "format": FORMAT, "mtime_ns": self.newest,
                "recent": dict(sorted(self.recent.items()))}

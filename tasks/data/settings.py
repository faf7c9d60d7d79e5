"""Settings of the data pipeline tasks (export, bulk operations, deduplication), from env vars."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tasks.env import positive_int


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSettings:
    """Read once per task run with `from_env()`; relative paths resolve against the working
    directory, like the default database under .air/."""

    export_dir: Path = Path(".air/exports")  # AIR_EXPORT_DIR: where export directories go
    export_page_size: int = 1000  # AIR_EXPORT_PAGE_SIZE: rows read per query by an export
    batch_size: int = 500  # AIR_DATA_BATCH_SIZE: contacts per transaction of a bulk operation
    dedup_threshold: float = 0.92  # AIR_DATA_DEDUP_THRESHOLD: name similarity that is a match

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DataSettings:
        base = cls()  # slots: the class attributes are descriptors, not the defaults

        threshold_raw = env.get("AIR_DATA_DEDUP_THRESHOLD", "").strip()
        threshold = float(threshold_raw) if threshold_raw else base.dedup_threshold
        if not 0.5 <= threshold <= 1.0:  # below 0.5 nearly any two names would match
            raise ValueError(f"AIR_DATA_DEDUP_THRESHOLD={threshold_raw!r}: use 0.5 to 1.0")
        return cls(
            export_dir=Path(env.get("AIR_EXPORT_DIR", "").strip() or base.export_dir).absolute(),
            export_page_size=positive_int(env, "AIR_EXPORT_PAGE_SIZE", base.export_page_size),
            batch_size=positive_int(env, "AIR_DATA_BATCH_SIZE", base.batch_size),
            dedup_threshold=threshold,
        )

"""The export file format: one JSON document and three CSV files, written section by section.

The bytes depend on the data alone: keys sorted, rows in id order, no time of export, fixed
line endings. That is what makes an export of unchanged data byte-identical to the last one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

FORMAT = "air-export/1"
JSON_FILE = "export.json"
SECTIONS = ("contacts", "interactions", "meetings")  # in file order; each is also a CSV file
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("id", "name", "email", "phone", "company", "tags", "score", "last_touch_at",
                 "next_touch_at", "merged_into", "created_at"),
    "interactions": ("id", "contact_id", "kind", "direction", "occurred_at", "subject", "body",
                     "source_id"),
    "meetings": ("id", "uid", "starts_at", "ends_at", "title", "location", "attendees"),
}
FILES = (JSON_FILE, *(f"{name}.csv" for name in SECTIONS))
LIST_SEPARATOR = ";"  # joins tags and attendees inside one CSV cell


def plain(value: Any) -> Any:
    """A JSON-ready value: datetimes and dates as ISO 8601, containers converted inside."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def row_doc(row: Any, *, drop: Sequence[str] = ()) -> dict[str, Any]:
    """A database row as a JSON-ready dict, without the `drop` columns."""
    return {k: plain(v) for k, v in row._mapping.items() if k not in drop}


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return str(plain(value))


def _dump(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, allow_nan=False)


class ExportWriter:
    """Writes export.json and the CSV files into `directory`; use as a context manager.

    Call `section(name)` for each name of SECTIONS in order, then `add(doc)` per row; the CSV
    row is taken from the same document, so the two formats cannot disagree.
    """

    def __init__(self, directory: Path, user: Mapping[str, Any]) -> None:
        self.directory = directory
        self._json: IO[str] = open(directory / JSON_FILE, "w", encoding="utf-8", newline="\n")
        self._json.write(f'{{"format": {_dump(FORMAT)},\n "user": {_dump(plain(user))}')
        self._csv_file: IO[str] | None = None
        self._csv: Any = None
        self._section: str | None = None
        self._first = True

    def section(self, name: str) -> None:
        expected = SECTIONS[SECTIONS.index(self._section) + 1 if self._section else 0]
        if name != expected:
            raise ValueError(f"export section {name!r} out of order; expected {expected!r}")
        self._end_section()
        self._section, self._first = name, True
        self._json.write(f',\n "{name}": [')
        self._csv_file = open(self.directory / f"{name}.csv", "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._csv_file, lineterminator="\r\n")  # RFC 4180
        self._csv.writerow(CSV_COLUMNS[name])

    def add(self, doc: Mapping[str, Any]) -> None:
        if self._section is None:
            raise ValueError("add() before section()")
        self._json.write(("\n  " if self._first else ",\n  ") + _dump(doc))
        self._first = False
        self._csv.writerow([csv_cell(doc.get(column)) for column in CSV_COLUMNS[self._section]])

    def _end_section(self) -> None:
        if self._section is not None:
            self._json.write("\n ]" if not self._first else "]")
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None

    def close(self) -> None:
        """Finish the files; an export missing a section is refused (it would look complete)."""
        if self._section != SECTIONS[-1]:
            raise ValueError(f"export closed after section {self._section!r}")
        self._end_section()
        self._json.write("\n}\n")
        self._json.close()

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
            return
        self._json.close()  # a failed export's files are discarded with their directory
        if self._csv_file is not None:
            self._csv_file.close()

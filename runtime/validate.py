"""One validation pass over a config directory: load, schema, model, rules; every finding kept."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runtime import defaults, rules, schema
from runtime import pointer as ptr
from runtime.diagnostics import Diagnostic, Report
from runtime.model import Config, build
from runtime.source import Document, load_file

KINDS = {"queues": defaults.QUEUES_FILE, "schedules": defaults.SCHEDULES_FILE}


@dataclass(frozen=True, slots=True)
class Validation:
    report: Report
    config: Config
    docs: Mapping[str, Document]  # by kind: 'queues', 'schedules'

    @property
    def unreadable(self) -> bool:
        """True when a file could not be read at all (a usage problem, not a config one)."""
        return any(not doc.readable for doc in self.docs.values())


def validate(config_dir: Path, env: Mapping[str, str] | None = None) -> Validation:
    env = os.environ if env is None else env
    report = Report()
    docs: dict[str, Document] = {}
    schema_errors: list[Diagnostic] = []
    for kind, filename in KINDS.items():
        doc = load_file(config_dir / filename, display_path(config_dir / filename), env)
        docs[kind] = doc
        report.extend(doc.diagnostics)
        if doc.data is not None:
            found = schema.check(doc, kind)
            schema_errors.extend(found)
            report.extend(found)
    config = build(docs["queues"].path, docs["queues"].data,
                   docs["schedules"].path, docs["schedules"].data)
    if all(doc.data is not None for doc in docs.values()):
        by_file = {doc.path: doc for doc in docs.values()}
        report.extend(d for d in rules.check(config, by_file) if not _shadowed(d, schema_errors))
    return Validation(report, config, docs)


def _shadowed(found: Diagnostic, schema_errors: list[Diagnostic]) -> bool:
    """A rule finding about an entry whose shape is already wrong would only repeat the
    schema error (the model filled the bad value with a default), so it is dropped."""
    entry = _entry(found.pointer)
    for error in schema_errors:
        if error.file != found.file:
            continue
        if _entry(error.pointer) == entry or found.pointer.startswith(error.pointer + "/") or (
                error.pointer == ""):
            return True
    return False


def _entry(pointer: str) -> str:
    return ptr.build(ptr.split(pointer)[:2])


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative

"""One validation pass over a config directory: load, schema, model, rules; every finding kept."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from runtime.config import cron, defaults, rules, schema
from runtime.config import pointer as ptr
from runtime.config.diagnostics import Diagnostic, Report
from runtime.config.errors import ConfigError, UsageError
from runtime.config.model import Config, build
from runtime.config.source import Document, load_bytes, load_file, missing_document
from runtime.config.workflows import build_workflows

KINDS = {
    "queues": defaults.QUEUES_FILE,
    "schedules": defaults.SCHEDULES_FILE,
    "workflows": defaults.WORKFLOWS_FILE,
}
OPTIONAL = {"workflows"}  # a config without workflows.yaml has no workflows


@dataclass(frozen=True, slots=True)
class Validation:
    report: Report
    config: Config
    docs: Mapping[str, Document]  # by kind: 'queues', 'schedules', 'workflows' if present

    @property
    def checksum(self) -> str:
        """The config's checksum (config_checksum) over the files' bytes as read, before ${VAR}
        expansion: hosts whose environments differ (secrets, per-host addresses) but whose files
        are equal run the same config, and no secret is hashed into a value workers advertise."""
        return config_checksum({KINDS[kind]: doc.sha256 for kind, doc in self.docs.items()})

    @property
    def unreadable(self) -> bool:
        """True when a file could not be read at all (a usage problem, not a config one)."""
        return any(not doc.readable for doc in self.docs.values())


def config_checksum(digests: Mapping[str, str]) -> str:
    """sha256 of what `sha256sum` prints for the config files (file name → sha256 of its bytes),
    in file-name order, so anyone can check a worker's or a rendering's checksum:
    `cd config && sha256sum queues.yaml schedules.yaml [workflows.yaml] | sha256sum`."""
    listing = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def validate(config_dir: Path, env: Mapping[str, str] | None = None) -> Validation:
    env = os.environ if env is None else env
    docs = {
        kind: load_file(config_dir / filename, display_path(config_dir / filename), env)
        for kind, filename in KINDS.items()
        if kind not in OPTIONAL or (config_dir / filename).exists()
    }
    return check_documents(docs, env)


def validate_contents(
    files: Mapping[str, tuple[str, bytes | None]], env: Mapping[str, str] | None = None
) -> Validation:
    """Validate file contents read from elsewhere (a git revision): kind -> (display path,
    bytes, or None when the file does not exist there)."""
    env = os.environ if env is None else env
    docs: dict[str, Document] = {}
    for kind, (display, raw) in files.items():
        if raw is None and kind in OPTIONAL:
            continue
        if raw is None:
            docs[kind] = missing_document(display)
        else:
            docs[kind] = load_bytes(raw, display, env)
    return check_documents(docs, env)


def check_documents(docs: Mapping[str, Document], env: Mapping[str, str]) -> Validation:
    """Schema, model and rules over loaded documents (by kind: 'queues', 'schedules')."""
    report = Report()
    schema_errors: list[Diagnostic] = []
    for kind, doc in docs.items():
        report.extend(doc.diagnostics)
        if doc.data is not None:
            # A value the loader already rejected (a tag, an unset variable) was read as null;
            # the schema would only add a misleading "must be ..., not null" at the same place.
            replaced = {
                d.pointer
                for d in doc.diagnostics
                if d.code in ("AIR003", "AIR005") and _is_null(doc.data, d.pointer)
            }
            found = [d for d in schema.check(doc, kind) if d.pointer not in replaced]
            schema_errors.extend(found)
            report.extend(found)
    config = build(
        docs["queues"].path, docs["queues"].data, docs["schedules"].path, docs["schedules"].data
    )
    if "workflows" in docs:
        workflows = docs["workflows"]
        config = replace(config, workflows=build_workflows(workflows.path, workflows.data))
    if all(doc.data is not None for doc in docs.values()):
        by_file = {doc.path: doc for doc in docs.values()}
        found = rules.check(config, by_file, cron.now(env))
        report.extend(d for d in found if not _shadowed(d, schema_errors))
    return Validation(report, config, docs)


class InvalidConfig(ConfigError):
    """Raised when the config has errors; carries the full report for printing."""

    def __init__(self, validation: Validation, *, usage: bool = False) -> None:
        report = validation.report
        super().__init__(
            f"the config has {report.errors} error{'s' if report.errors != 1 else ''}",
            hint="fix the problems listed above; `air validate` checks again",
        )
        self.validation = validation
        if usage:
            self.exit_code = UsageError.exit_code


def _is_null(data: object, pointer: str) -> bool:
    for token in ptr.split(pointer):
        if isinstance(data, dict):
            data = data.get(token)
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return False
    return data is None


def _shadowed(found: Diagnostic, schema_errors: list[Diagnostic]) -> bool:
    """A rule finding at, inside or around a value the schema rejected would only repeat the
    schema error (the model filled the bad value with a default), so it is dropped. Unknown
    and missing keys replace no value, so they hide nothing: an unrelated error elsewhere in
    the same entry is still reported in the same run."""
    for error in schema_errors:
        if error.file != found.file or error.code in ("AIR101", "AIR102"):
            continue
        a, b = found.pointer, error.pointer
        if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
            return True
    return False


def display_path(path: Path) -> str:
    """The path as a user would type it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative

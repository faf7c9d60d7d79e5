"""What every rule gets: the config, its documents for positions, and hint helpers."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from runtime.config.diagnostics import Diagnostic, Severity
from runtime.config.model import Config, Origin
from runtime.config.source import Document

LISTED = 12  # names listed in a hint before "... (N in all)"


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    docs: Mapping[str, Document]
    # The instant rules that look ahead (daylight-saving changes) count from: AIR_NOW if set.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def diagnostic(
        self,
        severity: Severity,
        code: str,
        message: str,
        origin: Origin,
        *,
        hint: str | None = None,
        key: bool = False,
    ) -> Diagnostic:
        return self.docs[origin.file].diagnostic(
            severity, code, message, origin.pointer, hint=hint, key=key
        )

    def error(self, code: str, message: str, origin: Origin, **kw: object) -> Diagnostic:
        return self.diagnostic(Severity.ERROR, code, message, origin, **kw)  # type: ignore[arg-type]

    def warning(self, code: str, message: str, origin: Origin, **kw: object) -> Diagnostic:
        return self.diagnostic(Severity.WARNING, code, message, origin, **kw)  # type: ignore[arg-type]


Rule = Callable[[Context], Iterator[Diagnostic]]


def did_you_mean(name: str, choices: Iterable[str], label: str) -> str:
    names = sorted(choices)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    shown = ", ".join(names[:LISTED]) + (
        f", ... ({len(names)} in all)" if len(names) > LISTED else ""
    )
    listing = f"{label}: {shown}" if names else f"no {label.removeprefix('declared ')} are declared"
    return f"did you mean '{close[0]}'? {listing}" if close else listing


def first_few(names: Sequence[str], most: int = 5) -> str:
    """The first `most` names, comma-separated, with ' ...' when there are more."""
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


def has(ctx: Context, origin: Origin) -> bool:
    return origin.pointer in ctx.docs[origin.file].values


def line_of(ctx: Context, origin: Origin) -> int:
    return ctx.docs[origin.file].mark(origin.pointer).line

"""`air explain NAME`: every effective value of a task, queue, pool or schedule, where it came
from and what it became in Celery."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence

from runtime.config.errors import UsageError
from runtime.review.settings import KINDS, Item
from runtime.review.topology import Topology

HEADER = ("SETTING", "VALUE", "FROM", "BECOMES")


def find(items: Topology, name: str) -> list[Item]:
    """Every item called `name` (a queue and a pool may share one); `KIND:NAME` picks one."""
    kind, _, bare = name.rpartition(":")
    if kind and kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}' in '{name}'", hint=f"kinds: {', '.join(KINDS)}")
    kinds = (kind,) if kind else KINDS
    found = [items[k][bare] for k in kinds if bare in items[k]]
    if found:
        return found
    names = sorted({n for k in kinds for n in items[k]})
    close = difflib.get_close_matches(bare, names, n=1, cutoff=0.6)
    hint = (f"did you mean '{close[0]}'? " if close else "") + (
        "name a task, queue, pool or schedule (air show lists them), or 'broker'"
    )
    what = f"{kind} " if kind else "task, queue, pool or schedule "
    raise UsageError(f"no {what}'{bare}' in the config", hint=hint)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def render_text(found: Sequence[Item]) -> str:
    blocks = []
    for item in found:
        rows = [HEADER] + [
            (s.key, s.shown, str(s.source), s.target) for s in item.settings.values()
        ]
        blocks.append("\n".join([f"{item.kind} {item.name}  ({item.source})", *_table(rows)]))
    return "\n\n".join(blocks) + "\n"


def render_json(found: Sequence[Item]) -> str:
    document = [
        {
            "kind": item.kind,
            "name": item.name,
            "declared": item.source.to_dict(),
            "settings": [
                {
                    "key": s.key,
                    "value": s.value,
                    "shown": s.shown,
                    "from": s.source.to_dict(),
                    "becomes": s.target,
                }
                for s in item.settings.values()
            ],
        }
        for item in found
    ]
    return json.dumps(document, indent=2) + "\n"


FORMATS: dict[str, Callable[[Sequence[Item]], str]] = {"text": render_text, "json": render_json}

"""`air plan` as data: what a change does between two revisions, and what is risky in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from runtime.review import risks
from runtime.review.diff import ItemDiff, diff
from runtime.review.revision import Revision
from runtime.review.risks import Risk

STRANDING = ("PLAN001", "PLAN002")  # risks about messages left in a queue that goes away


@dataclass(frozen=True, slots=True)
class PlanDiff:
    base: Revision
    head: Revision
    items: tuple[ItemDiff, ...]
    risks: tuple[Risk, ...]
    live: bool = False  # waiting messages were counted in the broker

    @property
    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy); a rename is a change."""
        actions = [d.action for d in self.items]
        return (
            actions.count("add"),
            actions.count("change") + actions.count("rename"),
            actions.count("remove"),
        )

    def stranded_queues(self) -> list[str]:
        """Queues whose messages a removal or rename strands: the ones --live counts."""
        return sorted({_old_queue(self, r) for r in self.risks if r.code in STRANDING})

    def with_waiting(self, waiting: Mapping[str, int]) -> PlanDiff:
        counted = tuple(
            replace(r, waiting=waiting.get(_old_queue(self, r))) if r.code in STRANDING else r
            for r in self.risks
        )
        return replace(self, risks=counted, live=True)


def _old_queue(plan: PlanDiff, risk: Risk) -> str:
    if risk.code == "PLAN002":
        item = next(d for d in plan.items if d.kind == "queue" and d.name == risk.name)
        return item.renamed_from or risk.name
    return risk.name


def compare(base: Revision, head: Revision, now: datetime) -> PlanDiff:
    items = diff(base.items, head.items, now)
    found = risks.find(risks.Review(base, head, items, now))
    return PlanDiff(base, head, items, found)

"""One side of a review: a revision's validated config, its compiled plan and its settings."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.compiler.plan import Plan
from runtime.config.validate import Validation
from runtime.review.topology import Topology


@dataclass(frozen=True, slots=True)
class Revision:
    label: str  # as the user named it: a ref, or "work tree"
    commit: str | None  # None for the work tree
    validation: Validation
    plan: Plan
    items: Topology

    @classmethod
    def of(cls, label: str, commit: str | None, validation: Validation, plan: Plan) -> Revision:
        return cls(label, commit, validation, plan, Topology(validation, plan))

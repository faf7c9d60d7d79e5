"""data.deduplicate: find each user's duplicate contacts and merge them, keeping everything.

Two active contacts are duplicates when they share a normalised email; or a normalised phone,
unless both carry clearly different names (a switchboard); or similar names within the same
organisation (similarity.py). Email and phone matches join groups transitively; a name match
joins two groups only when all their names are alike, so similar names never chain into one
group of different people. Each group merges into its oldest contact (the id other systems
have known longest; merging fills the keeper's blank fields from the others, so no detail is
lost by not picking the "most complete" one), and store.merge_contacts moves every interaction
and tag to it. Merged contacts are no longer active, so a second run finds nothing.

Finding groups reads outside any write lock; one transaction per user then merges the groups,
skipping contacts that stopped being active in between (deleted, merged by someone else).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import combinations
from typing import Any

import sqlalchemy as sa
import structlog
from celery import shared_task

from tasks import store
from tasks.data.settings import DataSettings
from tasks.data.similarity import company_key, name_key, org_domain, phone_guard, similar_names
from tasks.data.transient import transient_database
from tasks.errors import PermanentError, require_integer

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
_PAGE = 1000


class Groups:
    """Union-find over contact ids: joined ids end up in one group."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._members: dict[int, list[int]] = {}  # root -> every id of its group

    def find(self, item: int) -> int:
        root = self._parent.setdefault(item, item)
        while root != self._parent[root]:
            root = self._parent[root]
        while item != root:  # path compression keeps later finds short
            self._parent[item], item = root, self._parent[item]
        return root

    def members(self, item: int) -> list[int]:
        root = self.find(item)
        return self._members.get(root, [root])

    def join(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if len(self.members(root_a)) > len(self.members(root_b)):
            root_a, root_b = root_b, root_a  # the smaller group moves: joins stay cheap
        self._members[root_b] = self.members(root_b) + self.members(root_a)
        self._members.pop(root_a, None)
        self._parent[root_a] = root_b

    def groups(self) -> list[list[int]]:
        """Groups of two or more ids, each ascending, ordered by their smallest id."""
        found = (sorted(ids) for ids in self._members.values())
        return sorted((g for g in found if len(g) > 1), key=lambda g: g[0])


def active_contacts(conn: sa.Connection, user_id: int) -> list[Any]:
    rows: list[Any] = []
    while page := store.list_contacts(conn, user_id=user_id, after_id=rows[-1].id if rows else 0,
                                      limit=_PAGE):
        rows.extend(page)
    return rows


def _blocks(rows: Iterable[Any]) -> list[list[Any]]:
    """Contacts sharing a company or an organisation's domain: the only pairs whose names are
    compared (the guard), which also keeps the comparisons far below all pairs."""
    blocks: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        if name_key(row.name).count(" ") < 1:
            continue  # a one-word name never matches (similarity.similar_names)
        company, domain = company_key(row.company), org_domain(row.email_normalized)
        if company:
            blocks.setdefault(("company", company), []).append(row)
        if domain:
            blocks.setdefault(("domain", domain), []).append(row)
    return [block for block in blocks.values() if len(block) > 1]


def find_duplicates(conn: sa.Connection, user_id: int, *, threshold: float) -> list[list[int]]:
    """The user's groups of duplicate active contacts, ids ascending."""
    rows = active_contacts(conn, user_id)
    by_id = {row.id: row for row in rows}
    groups = Groups()
    for group in store.duplicate_groups(conn, user_id=user_id, by="email"):
        for other in group[1:]:
            groups.join(group[0], other)
    for group in store.duplicate_groups(conn, user_id=user_id, by="phone"):
        for a, b in combinations(group, 2):
            if phone_guard(by_id[a], by_id[b]):
                groups.join(a, b)
    keys = {row.id: name_key(row.name) for row in rows}

    def alike(a: int, b: int) -> bool:
        """Complete linkage: every named member of one group is similar to every named member
        of the other, so names never chain (A ~ B and B ~ C does not make A and C one)."""
        named_a = [keys[i] for i in groups.members(a) if keys[i].count(" ") >= 1]
        named_b = [keys[i] for i in groups.members(b) if keys[i].count(" ") >= 1]
        return all(similar_names(x, y, threshold) for x in named_a for y in named_b)

    for block in _blocks(rows):
        for a, b in candidate_pairs([(row.id, keys[row.id]) for row in block], threshold):
            if (groups.find(a) != groups.find(b) and similar_names(keys[a], keys[b], threshold)
                    and alike(a, b)):
                groups.join(a, b)
    return groups.groups()


def candidate_pairs(named: list[tuple[int, str]], threshold: float) -> Iterator[tuple[int, int]]:
    """The pairs of a block worth scoring, each once, ids ascending within a pair.

    Only names sharing a whole word are paired: at the threshold a match is a small spelling
    variant, which leaves the other word intact ("Jon Smith" / "John Smith"), and pairing by word
    turns one block's all-pairs into a few small lists. Within a word's list, names are sorted
    by length and difflib's bound (ratio <= 2*shorter/(sum of lengths)) ends the scan early.
    """
    by_word: dict[str, list[tuple[int, str]]] = {}
    for contact_id, key in named:
        for word in set(key.split()):
            by_word.setdefault(word, []).append((contact_id, key))
    seen: set[tuple[int, int]] = set()
    for members in by_word.values():
        ordered = sorted(members, key=lambda item: (len(item[1]), item[0]))
        for i, (a, key_a) in enumerate(ordered):
            for b, key_b in ordered[i + 1:]:
                if 2 * len(key_a) < threshold * (len(key_a) + len(key_b)):
                    break  # every later name is longer still
                pair = (a, b) if a < b else (b, a)
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def merge_groups(conn: sa.Connection, user_id: int, groups: list[list[int]]) -> dict[str, int]:
    """Merge each group into its oldest still-active contact."""
    merged = moved = 0
    for group in groups:
        current = store.active_contact_ids(conn, user_id=user_id, contact_ids=group)
        if len(current) < 2:
            continue
        rows = [store.get_contact(conn, contact_id) for contact_id in current]
        keep = min((row for row in rows if row is not None), key=lambda r: (r.created_at, r.id))
        for drop_id in current:
            if drop_id != keep.id:
                moved += store.merge_contacts(conn, keep_id=keep.id, drop_id=drop_id)
                merged += 1
        log.info("duplicates_merged", user_id=user_id, keep_id=keep.id, contact_ids=current)
    return {"merged": merged, "interactions_moved": moved}


def deduplicate_users(
    user_ids: list[int] | None, *, threshold: float, progress: Progress | None = None
) -> dict[str, int]:
    """Deduplicate the given users' contacts (every user's by default)."""
    totals = {"users": 0, "groups": 0, "merged": 0, "interactions_moved": 0}
    with transient_database():
        if user_ids is None:
            with store.transaction(readonly=True) as conn:
                user_ids = [user.id for user in store.list_users(conn)]
        for done, user_id in enumerate(user_ids, 1):
            with store.transaction(snapshot=True) as conn:
                if store.get_user(conn, user_id) is None:
                    raise PermanentError(f"no user {user_id}")
                groups = find_duplicates(conn, user_id, threshold=threshold)
            if groups:
                with store.transaction() as conn:
                    result = merge_groups(conn, user_id, groups)
                totals["merged"] += result["merged"]
                totals["interactions_moved"] += result["interactions_moved"]
            totals["users"], totals["groups"] = done, totals["groups"] + len(groups)
            if progress is not None:
                progress(done, len(user_ids))
    log.info("deduplication_done", **totals)
    return totals


@shared_task(name="data.deduplicate", bind=True)
def deduplicate(self: Any, user_id: int | None = None) -> dict[str, int]:
    """Merge duplicate contacts of one user, or of every user when `user_id` is not given.
    Returns {users, groups, merged, interactions_moved}."""
    if user_id is not None:
        require_integer("user_id", user_id)
    return deduplicate_users(None if user_id is None else [user_id],
                             threshold=DataSettings.from_env().dedup_threshold,
                             progress=self.progress)

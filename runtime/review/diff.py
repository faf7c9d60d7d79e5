"""The semantic diff of two compiled configs: items added, removed, renamed and changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from runtime.config import cron
from runtime.review.settings import KINDS, Item, Setting
from runtime.review.topology import Topology

# Queue settings that only restate pools and tasks: compared to spot renames, never listed.
CONTEXT = {"queue": ("consumers", "tasks")}
FIRES = 3  # next fire times shown before and after a change of a schedule's timing
TIMING = ("cron", "every", "timezone", "enabled")


@dataclass(frozen=True, slots=True)
class Change:
    """One setting of an item, before and after: values as a user writes them."""

    key: str
    old: str
    new: str
    where: str  # where the head revision sets the new value


@dataclass(frozen=True, slots=True)
class ItemDiff:
    """What a change does to one queue, pool, task, schedule or workflow (or the broker)."""

    kind: str
    name: str
    action: str  # add | change | rename | remove
    where: str  # the head declaration; the base one for a removal
    changes: tuple[Change, ...] = ()
    renamed_from: str | None = None
    # Next fire times before and after a change of a schedule's timing (none for `every`, or
    # when disabled).
    fires_before: tuple[datetime, ...] = ()
    fires_after: tuple[datetime, ...] = ()


def diff(base: Topology, head: Topology, now: datetime) -> tuple[ItemDiff, ...]:
    found: list[ItemDiff] = []
    for kind in KINDS:
        found += _diff_kind(kind, base, head, now)
    return tuple(found)


def _diff_kind(
    kind: str, base_items: Topology, head_items: Topology, now: datetime
) -> list[ItemDiff]:
    base, head = base_items[kind], head_items[kind]
    removed = sorted(set(base) - set(head))
    added = sorted(set(head) - set(base))
    renames = _renames(kind, base, head, removed, added)
    found = [
        ItemDiff(kind, name, "add", str(head[name].source), _written(head[name]))
        for name in added
        if name not in renames
    ]
    found += [
        ItemDiff(
            kind,
            new,
            "rename",
            str(head[new].source),
            _changes(kind, base[old], head[new]),
            renamed_from=old,
        )
        for new, old in renames.items()
    ]
    found += [
        ItemDiff(kind, name, "remove", str(base[name].source))
        for name in removed
        if name not in renames.values()
    ]
    for name in sorted(set(base) & set(head)):
        if base_items.fingerprint(kind, name) == head_items.fingerprint(kind, name):
            continue
        changes = _changes(kind, base[name], head[name])
        if not changes:
            continue
        timing = kind == "schedule" and any(c.key in TIMING for c in changes)
        before, after = (_fires(base[name], now), _fires(head[name], now)) if timing else ((), ())
        found.append(
            ItemDiff(
                kind,
                name,
                "change",
                str(head[name].source),
                changes,
                fires_before=before,
                fires_after=after,
            )
        )
    return sorted(found, key=lambda d: d.name)


def _renames(
    kind: str,
    base: Mapping[str, Item],
    head: Mapping[str, Item],
    removed: list[str],
    added: list[str],
) -> dict[str, str]:
    """Added queue -> the removed queue it replaces: same priority, same pools, same tasks
    (the pools and tasks themselves may have been edited to name the new queue)."""
    if kind != "queue":
        return {}
    renames: dict[str, str] = {}
    for new in added:
        for old in removed:
            if old not in renames.values() and _same_role(base[old], head[new]):
                renames[new] = old
                break
    return renames


def _same_role(old: Item, new: Item) -> bool:
    keys = ("priority", *CONTEXT["queue"])
    return all(old.settings[k].value == new.settings[k].value for k in keys)


def _written(item: Item) -> tuple[Change, ...]:
    """The settings a new item's YAML spells out (the rest are defaults)."""
    return tuple(
        Change(s.key, "", s.shown, str(s.source)) for s in _listed(item) if s.source.kind == "file"
    )


def _listed(item: Item) -> list[Setting]:
    hidden = CONTEXT.get(item.kind, ())
    return [s for s in item.settings.values() if s.key not in hidden]


def _changes(kind: str, old: Item, new: Item) -> tuple[Change, ...]:
    changes = []
    for setting in _listed(new):
        before = old.settings[setting.key]
        if before.value == setting.value:
            continue
        # Both sides follow another setting (a task's priority from its queue): that setting's
        # own change is listed where it was made.
        if before.source.kind == "derived" and setting.source.kind == "derived":
            continue
        changes.append(Change(setting.key, before.shown, setting.shown, str(setting.source)))
    return tuple(changes)


def _fires(item: Item, now: datetime) -> tuple[datetime, ...]:
    expression = item.settings["cron"].value
    if expression is None or not item.settings["enabled"].value:
        return ()
    try:
        return tuple(cron.next_fires(expression, item.settings["timezone"].value, now, FIRES))
    except ValueError:  # never fires: nothing to show
        return ()

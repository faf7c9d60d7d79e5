"""The fast schema check must give jsonschema's verdict on every document, valid or not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from runtime.config.schema import fast as fastschema
from runtime.config.schema import load_schema
from runtime.config.source import load_file

REPO = Path(__file__).resolve().parents[2]
KINDS = ("queues", "schedules")


def _property_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _property_names(value)
    return names


KEYS = sorted(_property_names(load_schema("queues")) | _property_names(load_schema("schedules")))
SEEDS = {
    kind: [load_file(REPO / "config" / f"{kind}.yaml").data]
    + [
        load_file(d / f"{kind}.yaml").data
        for d in sorted((REPO / "tests/cases/valid").iterdir())
        if (d / f"{kind}.yaml").exists()
    ]
    for kind in KINDS
}
# Values a schema cares about: the edges of its types, ranges and patterns.
INTERESTING = [
    "5m",
    "1.5s",
    "0s",
    "30/m",
    "2.5/h",
    "512MiB",
    "12KB",
    "prefork",
    "threads",
    "fork",
    "skip",
    "allow",
    "exponential",
    "fixed",
    "none",
    "* * * * *",
    "default",
    "a.b",
    "a..b",
    "1bad",
    "",
    "x" * 120,
    "ConnectionError",
    0,
    1,
    10,
    11,
    -1,
    1.0,
    1.5,
    512,
    1001,
    True,
    False,
    None,
    [],
    {},
    ["default"],
    ["a", "a"],
    {"min": 2, "max": 1},
]
LEAF = st.one_of(
    st.sampled_from(INTERESTING),
    st.none(),
    st.booleans(),
    st.integers(-3, 1100),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
JSON = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=3),
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: st.DataObject, document: Any) -> Any:
    path = data.draw(st.sampled_from(_paths(document)), label="path")
    if not path:
        return copy.deepcopy(data.draw(JSON, label="root"))
    parent = document
    for token in path[:-1]:
        parent = parent[token]
    last = path[-1]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
    if action == "replace":
        parent[last] = copy.deepcopy(data.draw(JSON, label="value"))
    elif action == "delete":
        del parent[last]
    elif isinstance(parent[last], dict):
        key = data.draw(st.sampled_from(KEYS), label="key")
        parent[last][key] = copy.deepcopy(data.draw(JSON, label="v"))
    elif isinstance(parent[last], list):
        parent[last].append(copy.deepcopy(data.draw(JSON, label="item")))
    return document


def _agree(kind: str, document: Any) -> None:
    slow = Draft202012Validator(load_schema(kind)).is_valid(document)
    fast = fastschema.compile_schema(load_schema(kind))(document)
    assert fast == slow, (kind, document)


@pytest.mark.parametrize("kind", KINDS)
def test_the_shipped_schemas_compile(kind: str) -> None:
    check = fastschema.compile_schema(load_schema(kind))
    assert check(SEEDS[kind][0]) is True


@settings(max_examples=400, deadline=None)
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_verdicts_agree_on_mutated_configs(data: st.DataObject, kind: str) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(SEEDS[kind]), label="seed"))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        document = _mutate(data, document)
    _agree(kind, document)


@settings(max_examples=200, deadline=None)
@given(document=JSON, kind=st.sampled_from(KINDS))
def test_verdicts_agree_on_arbitrary_json(document: Any, kind: str) -> None:
    _agree(kind, document)


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {"a": {}}},
        {"if": {}},
        {"$ref": "https://example.com/s.json"},
        {"type": "decimal"},
    ],
)
def test_unknown_keywords_are_refused_so_jsonschema_decides(schema: dict[str, Any]) -> None:
    with pytest.raises(fastschema.Unsupported):
        fastschema.compile_schema({"properties": {"x": schema}})


@pytest.mark.parametrize(
    "a, b, equal",
    [
        (1, 1.0, True),
        (True, 1, False),
        (0, False, False),
        ([1, {"a": 2}], [1.0, {"a": 2.0}], True),
        ("1", 1, False),
        (None, None, True),
    ],
)
def test_json_equality(a: Any, b: Any, equal: bool) -> None:
    assert fastschema._equal(a, b) is equal

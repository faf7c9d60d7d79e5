"""The shipped JSON Schemas: draft 2020-12, documented, closed, in step with defaults.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runtime.config import defaults, units
from runtime.config.schema import SCHEMAS, load_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
KINDS = sorted(SCHEMAS)


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every subschema (dict) in a schema document, with its path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*path, str(index)))


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    assert ref.startswith("#/$defs/"), ref
    return resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kind", KINDS)
def test_every_local_ref_resolves(kind: str) -> None:
    schema = load_schema(kind)
    refs = [node["$ref"] for _, node in walk(schema) if "$ref" in node]
    assert refs or kind == "schedules"
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"], ref


@pytest.mark.parametrize("kind", KINDS)
def test_every_property_has_a_description(kind: str) -> None:
    """Directly, or through the $ref it consists of (editors show the referenced description)."""
    schema = load_schema(kind)
    missing = []
    for path, node in walk(schema):
        for name, prop in node.get("properties", {}).items():
            if not (prop.get("description") or resolve(prop, schema).get("description")):
                missing.append("/".join((*path, "properties", name)))
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_object_with_properties_is_closed(kind: str) -> None:
    """additionalProperties: false on every object, so an unknown key is always an error."""
    open_ones = [
        "/".join(path) or "(root)"
        for path, node in walk(load_schema(kind))
        if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert open_ones == []


@pytest.mark.parametrize(
    "data, path",
    [
        ({"version": 1, "tasks": {"a": {"bogus": 1}}}, ["tasks", "a", "bogus"]),
        ({"version": 1, "defaults": {"priority": 3}}, ["defaults", "priority"]),
        (
            {
                "version": 1,
                "pools": {"p": {"queues": ["q"], "autoscale": {"min": 1, "max": 2, "x": 1}}},
            },
            ["pools", "p", "autoscale", "x"],
        ),
        ({"version": 1, "broker": {"uri": "redis://"}}, ["broker", "uri"]),
    ],
)
def test_unknown_keys_are_rejected_even_through_refs(data: dict[str, Any], path: list[str]) -> None:
    errors = list(Draft202012Validator(load_schema("queues")).iter_errors(data))
    assert len(errors) == 1
    assert errors[0].validator in ("additionalProperties", "unevaluatedProperties")
    assert [*errors[0].absolute_path, path[-1]] == path


def test_task_only_keys_are_allowed_on_tasks() -> None:
    validator = Draft202012Validator(load_schema("queues"))
    assert (
        list(
            validator.iter_errors(
                {"version": 1, "tasks": {"a": {"priority": 3, "description": "x", "queue": "q"}}}
            )
        )
        == []
    )


# Where each `default` keyword lives in the schemas, and the defaults.py value it mirrors.
DEFAULT_SOURCES: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {
    ("queues", ("properties",)): {"imports": list(defaults.IMPORTS)},
    ("queues", ("$defs", "broker", "properties")): defaults.BROKER,
    ("queues", ("$defs", "retry", "properties")): defaults.RETRY,
    ("queues", ("$defs", "defaults", "properties")): defaults.TASK,
    ("queues", ("$defs", "task", "properties")): defaults.TASK,
    ("queues", ("$defs", "pool", "properties")): defaults.POOL,
    ("queues", ("$defs", "rateLimit", "anyOf", "1", "properties")): defaults.RATE_LIMIT,
    ("queues", ("$defs", "unique", "properties")): defaults.UNIQUE,
    ("queues", ("$defs", "queue", "properties")): defaults.QUEUE,
    ("schedules", ("properties",)): {"timezone": defaults.TIMEZONE},
    ("schedules", ("$defs", "schedule", "properties")): defaults.SCHEDULE,
    ("workflows", ("$defs", "workflow", "properties")): {"description": ""},
    ("workflows", ("$defs", "step", "anyOf", "1", "properties")): defaults.WORKFLOW_STEP,
}


def schema_defaults() -> Iterator[tuple[str, tuple[str, ...], str, Any]]:
    for kind in KINDS:
        for path, node in walk(load_schema(kind)):
            if "default" in node and path[-2] == "properties":
                yield kind, path[:-1], path[-1], node["default"]


def test_every_schema_default_equals_defaults_py() -> None:
    found = list(schema_defaults())
    assert len(found) >= 20
    for kind, parent, name, value in found:
        source = DEFAULT_SOURCES.get((kind, parent))
        assert source is not None, (
            f"{kind}: {'/'.join(parent)}/{name} has a default with no entry in DEFAULT_SOURCES"
        )
        assert name in source, f"{kind}: default of {name} is not in defaults.py"
        assert source[name] == value, (
            f"{kind}: {'/'.join(parent)}/{name}: schema {value!r} != defaults.py {source[name]!r}"
        )


def test_every_non_null_default_in_defaults_py_is_in_a_schema() -> None:
    """The reverse direction: editors should offer each default air applies."""
    in_schemas = {(kind, parent, name) for kind, parent, name, _ in schema_defaults()}
    for (kind, parent), source in DEFAULT_SOURCES.items():
        properties = load_schema(kind)
        for token in parent:
            properties = properties[int(token) if isinstance(properties, list) else token]
        for name, value in source.items():
            if value is None or name not in properties:
                continue  # e.g. `defaults` has no description; `task` does
            assert (kind, parent, name) in in_schemas, f"{kind}: {'/'.join(parent)}/{name}"
    # and every TASK default with a value lives on defaults or task
    task_props = {
        **load_schema("queues")["$defs"]["defaults"]["properties"],
        **load_schema("queues")["$defs"]["task"]["properties"],
    }
    assert {k for k, v in defaults.TASK.items() if v is not None} <= set(task_props)


def test_unit_patterns_match_the_schema_patterns() -> None:
    queues = load_schema("queues")
    defs = queues["$defs"]
    assert defs["duration"]["anyOf"][0]["pattern"] == units.DURATION_PATTERN
    assert load_schema("schedules")["$defs"]["duration"] == defs["duration"]
    assert defs["rate"]["pattern"] == units.RATE_PATTERN
    assert defs["rateLimit"]["anyOf"][0]["pattern"] == units.RATE_PATTERN
    assert defs["pool"]["properties"]["max_memory_per_child"]["anyOf"][0]["pattern"] == (
        units.SIZE_PATTERN
    )


@pytest.mark.parametrize("name", ["queues.yaml", "schedules.yaml"])
def test_shipped_config_points_editors_at_the_schema(name: str) -> None:
    first = (REPO_ROOT / "config" / name).read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    target = (REPO_ROOT / "config" / match.group(1)).resolve()
    schemas = REPO_ROOT / "runtime" / "config" / "schemas"
    assert target == schemas / name.replace(".yaml", ".schema.json")
    assert target.is_file()

"""A fast valid-or-not check against the shipped JSON Schemas, without importing jsonschema.

Importing jsonschema takes ~65 ms, most of what `air validate` may spend on a config that is
fine. This module compiles the subset of draft 2020-12 the shipped schemas use into closures
that answer one question: is the document valid? Only when the answer is no does schema.py run
jsonschema, whose errors become the positioned diagnostics. tests/unit/test_fastschema.py keeps
the two verdicts equal on generated documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate: they never change a verdict.
_ANNOTATIONS = {
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "$defs",
    "deprecated",
    "readOnly",
    "writeOnly",
}


class Unsupported(Exception):
    """Raised when a schema uses a keyword this compiler does not implement."""


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if name == "number":
        return True
    if name == "integer":
        return isinstance(value, int) or (math.isfinite(value) and value.is_integer())
    return False


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda _: True
        if schema is False:
            return lambda _: False
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        found = [
            self._keyword(key, value, schema)
            for key, value in schema.items()
            if key not in _ANNOTATIONS
        ]
        checks = [c for c in found if c is not None]
        return lambda value: all(check(value) for check in checks)

    def _ref(self, ref: str) -> Check:
        if not ref.startswith("#/$defs/"):
            raise Unsupported(f"$ref {ref!r}")
        if ref not in self.refs:
            self.refs[ref] = lambda value: True  # placeholder while compiling a recursive ref
            target = self.root["$defs"][ref.rsplit("/", 1)[1]]
            compiled = self.compile(target)
            self.refs[ref] = compiled
        return lambda value: self.refs[ref](value)

    def _keyword(self, key: str, arg: Any, schema: dict[str, Any]) -> Check | None:
        handler = getattr(self, "_k_" + key.lstrip("$"), None)
        if handler is None:
            raise Unsupported(f"keyword {key!r}")
        result: Check | None = handler(arg, schema)
        return result

    # -- keywords -------------------------------------------------------------------------
    def _k_ref(self, arg: str, _: dict[str, Any]) -> Check:
        return self._ref(arg)

    def _k_type(self, arg: str | list[str], _: dict[str, Any]) -> Check:
        names = arg if isinstance(arg, list) else [arg]
        unknown = set(names) - {"object", "array", "string", "boolean", "null", "number", "integer"}
        if unknown:
            raise Unsupported(f"type {sorted(unknown)}")
        return lambda v: any(_is_type(v, n) for n in names)

    def _k_enum(self, arg: list[Any], _: dict[str, Any]) -> Check:
        return lambda v: any(_equal(v, choice) for choice in arg)

    def _k_const(self, arg: Any, _: dict[str, Any]) -> Check:
        return lambda v: _equal(v, arg)

    def _k_pattern(self, arg: str, _: dict[str, Any]) -> Check:
        regex = re.compile(arg)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None

    def _k_minimum(self, arg: float, _: dict[str, Any]) -> Check:
        return lambda v: not _number(v) or v >= arg

    def _k_maximum(self, arg: float, _: dict[str, Any]) -> Check:
        return lambda v: not _number(v) or v <= arg

    def _k_exclusiveMinimum(self, arg: float, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not _number(v) or v > arg

    def _k_exclusiveMaximum(self, arg: float, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not _number(v) or v < arg

    def _k_minLength(self, arg: int, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not isinstance(v, str) or len(v) >= arg

    def _k_maxLength(self, arg: int, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not isinstance(v, str) or len(v) <= arg

    def _k_minItems(self, arg: int, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not isinstance(v, list) or len(v) >= arg

    def _k_maxItems(self, arg: int, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not isinstance(v, list) or len(v) <= arg

    def _k_uniqueItems(self, arg: bool, _: dict[str, Any]) -> Check | None:  # noqa: N802
        if not arg:
            return None
        return lambda v: (
            not isinstance(v, list)
            or not any(_equal(v[i], v[j]) for i in range(len(v)) for j in range(i))
        )

    def _k_minProperties(self, arg: int, _: dict[str, Any]) -> Check:  # noqa: N802
        return lambda v: not isinstance(v, dict) or len(v) >= arg

    def _k_required(self, arg: list[str], _: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, dict) or all(k in v for k in arg)

    def _k_items(self, arg: Any, _: dict[str, Any]) -> Check:
        check = self.compile(arg)
        return lambda v: not isinstance(v, list) or all(check(item) for item in v)

    def _k_propertyNames(self, arg: Any, _: dict[str, Any]) -> Check:  # noqa: N802
        check = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(check(k) for k in v)

    def _k_properties(self, arg: dict[str, Any], _: dict[str, Any]) -> Check:
        checks = {name: self.compile(sub) for name, sub in arg.items()}
        return lambda v: not isinstance(v, dict) or all(checks[k](v[k]) for k in checks if k in v)

    def _k_additionalProperties(self, arg: Any, schema: dict[str, Any]) -> Check:  # noqa: N802
        if "patternProperties" in schema:
            raise Unsupported("patternProperties")
        known = set(schema.get("properties", {}))
        check = self.compile(arg)
        return lambda v: not isinstance(v, dict) or all(check(v[k]) for k in v if k not in known)

    def _k_anyOf(self, arg: list[Any], _: dict[str, Any]) -> Check:  # noqa: N802
        checks = [self.compile(sub) for sub in arg]
        return lambda v: any(check(v) for check in checks)

    def _k_oneOf(self, arg: list[Any], _: dict[str, Any]) -> Check:  # noqa: N802
        checks = [self.compile(sub) for sub in arg]
        return lambda v: sum(1 for check in checks if check(v)) == 1

    def _k_allOf(self, arg: list[Any], _: dict[str, Any]) -> Check:  # noqa: N802
        checks = [self.compile(sub) for sub in arg]
        return lambda v: all(check(v) for check in checks)

    def _k_not(self, arg: Any, _: dict[str, Any]) -> Check:
        check = self.compile(arg)
        return lambda v: not check(v)


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function telling whether a document is valid; raises Unsupported for unknown keywords."""
    return Compiler(schema).compile(schema)

"""Shape validation: the shipped JSON Schemas (draft 2020-12), errors turned into diagnostics."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from runtime import pointer as ptr
from runtime.diagnostics import Diagnostic
from runtime.source import Document

SCHEMAS = {"queues": "queues.schema.json", "schedules": "schedules.schema.json"}

_TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
    "number": "a number", "boolean": "true or false", "null": "null",
}
_PATTERN_HINTS = {
    "duration": "write a duration such as 30s, 1.5s, 5m, 2h, 1d, or a number of seconds",
    "rate": "write a rate such as 10/s, 30/m or 100/h",
    "size": "write a size such as 512MiB or 2GiB, or a number of KiB",
    "name": "use letters, digits, '_', '-' and '.' only, starting with a letter or digit",
    "dotted": "write a dotted Python name such as tasks.auth or ConnectionError",
}


@cache
def load_schema(kind: str) -> dict[str, Any]:
    text = resources.files("runtime.schemas").joinpath(SCHEMAS[kind]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(kind))


def check(doc: Document, kind: str) -> list[Diagnostic]:
    """Every schema violation in one loaded file, as diagnostics positioned in that file."""
    found: list[Diagnostic] = []
    for error in _validator(kind).iter_errors(doc.data):
        found.extend(_diagnose(doc, kind, error))
    return found


def _diagnose(doc: Document, kind: str, error: ValidationError) -> Iterator[Diagnostic]:
    pointer = ptr.build(error.absolute_path)
    keyword = error.validator
    value = error.instance
    what = _describe(pointer)
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted(_known_properties(kind, error.schema))
        for key in _unknown_keys(value, allowed, error.schema):
            yield doc.error("AIR101", f"unknown key '{key}' in {what}", ptr.join(pointer, key),
                            key=True, hint=_choices_hint(key, allowed, "valid keys"))
    elif keyword == "required":
        for key in error.validator_value:
            if isinstance(value, dict) and key not in value:
                yield doc.error("AIR102", f"{what} is missing the required key '{key}'", pointer,
                                key=True, hint=f"add '{key}:' ({_property_help(error.schema, key)})")
    elif keyword == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [
            error.validator_value]
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in wanted)
        yield doc.error("AIR103", f"{what} must be {names}, not {_show(value)}", pointer,
                        hint=error.schema.get("description"))
    elif keyword == "const" and pointer == "/version":
        yield doc.error("AIR108", f"unsupported config version {_show(value)}", pointer,
                        hint="this air reads 'version: 1'")
    elif keyword in ("enum", "const"):
        choices = error.validator_value if keyword == "enum" else [error.validator_value]
        yield doc.error("AIR104", f"{what} is {_show(value)}, which is not allowed", pointer,
                        hint=_choices_hint(str(value), [str(c) for c in choices], "valid values"))
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[keyword]
        yield doc.error("AIR105", f"{what} must be {bound} {error.validator_value}, "
                                  f"not {_show(value)}", pointer,
                        hint=error.schema.get("description"))
    elif "propertyNames" in error.relative_schema_path:
        # Checked before `pattern`: a bad name is reported at its key, not at the parent mapping.
        hint = _PATTERN_HINTS[_pattern_kind(error.schema) or "name"]
        yield doc.error("AIR106", f"name {_show(value)} in {what} is not a valid name",
                        ptr.join(pointer, str(value)), key=True, hint=hint)
    elif keyword == "pattern" or (keyword == "anyOf" and _pattern_kind(error.schema)):
        yield _malformed(doc, error, pointer, what)
    elif keyword == "oneOf" and isinstance(value, dict) and "task" in error.schema.get(
            "properties", {}):
        yield from _cron_or_every(doc, pointer, what, value)
    elif keyword in ("anyOf", "oneOf") and error.context:
        yield from _diagnose(doc, kind, best_match(error.context))
    elif keyword in ("minItems", "minProperties", "minLength"):
        yield doc.error("AIR107", f"{what} must not be empty", pointer,
                        hint=error.schema.get("description"))
    elif keyword == "uniqueItems":
        yield doc.error("AIR107", f"{what} lists the same item twice", pointer,
                        hint="remove the repeated item")
    else:
        yield doc.error("AIR107", f"{what}: {error.message}", pointer,
                        hint=error.schema.get("description"))


def _malformed(doc: Document, error: ValidationError, pointer: str, what: str) -> Diagnostic:
    kind = _pattern_kind(error.schema) or "name"
    noun = {"duration": "a duration", "rate": "a rate", "size": "a size", "name": "a valid name",
            "dotted": "a dotted Python name"}[kind]
    return doc.error("AIR106", f"{what} is {_show(error.instance)}, which is not {noun}", pointer,
                     hint=_PATTERN_HINTS[kind])


def _pattern_kind(schema: dict[str, Any]) -> str | None:
    patterns = [schema.get("pattern", "")] + [s.get("pattern", "") for s in schema.get("anyOf", [])]
    text = " ".join(p for p in patterns if p)
    if "(s|m|h|d)" in text:
        return "duration"
    if "/(s|m|h)" in text:
        return "rate"
    if "KiB" in text:
        return "size"
    if "(\\." in text:
        return "dotted"
    if text:
        return "name"
    return None


def _cron_or_every(doc: Document, pointer: str, what: str, value: dict[str, Any]) -> Iterator[
        Diagnostic]:
    if "cron" in value and "every" in value:
        yield doc.error("AIR107", f"{what} sets both 'cron' and 'every'", ptr.join(pointer, "every"),
                        key=True, hint="keep exactly one of the two")
    else:
        yield doc.error("AIR102", f"{what} needs 'cron' or 'every'", pointer, key=True,
                        hint="add cron: \"*/5 * * * *\" or every: 5m")


def _unknown_keys(value: Any, allowed: list[str], schema: dict[str, Any]) -> list[str]:
    if not isinstance(value, dict):
        return []
    return [k for k in value if k not in allowed]


def _known_properties(kind: str, schema: dict[str, Any]) -> set[str]:
    """Property names a schema allows, following local $refs (for unevaluatedProperties)."""
    names = set(schema.get("properties", {}))
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        names |= _known_properties(kind, load_schema(kind)["$defs"][ref.split("/")[-1]])
    return names


def _property_help(schema: dict[str, Any], key: str) -> str:
    prop = schema.get("properties", {}).get(key, {})
    description = prop.get("description", "")
    return description.rstrip(".") if description else "see the schema"


def _choices_hint(given: str, choices: list[str], label: str) -> str:
    close = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
    listing = f"{label}: {', '.join(choices)}"  # schema choices are short lists
    return f"did you mean '{close[0]}'? {listing}" if close else listing


def _describe(pointer: str) -> str:
    """'/pools/default/concurrency' -> "pools.default.concurrency"; '' -> 'the file'."""
    tokens = ptr.split(pointer)
    return ".".join(tokens) if tokens else "the top level"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)

"""Shape validation: the shipped JSON Schemas (draft 2020-12), errors turned into diagnostics."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from runtime.config import pointer as ptr
from runtime.config import units
from runtime.config.diagnostics import Diagnostic
from runtime.config.schema import fast as fastschema
from runtime.config.source import Document

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMAS = {
    "queues": "queues.schema.json",
    "schedules": "schedules.schema.json",
    "workflows": "workflows.schema.json",
}

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_PATTERN_HINTS = {
    "duration": "write a duration such as 30s, 1.5s, 5m, 2h, 1d, or a number of seconds "
    "(at most about a century)",
    "rate": "write a rate such as 10/s, 30/m or 100/h",
    "size": "write a size such as 512MiB or 2GiB, or a number of KiB",
    "name": "use letters, digits, '_', '-' and '.' only, starting with a letter or digit",
    "dotted": "write a dotted Python name such as tasks.auth or ConnectionError",
}


@cache
def load_schema(kind: str) -> dict[str, Any]:
    text = resources.files("runtime.config.schemas").joinpath(SCHEMAS[kind]).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Draft202012Validator:
    # Imported here: jsonschema costs ~65 ms to import, and a valid file never needs it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(kind))


@cache
def _fast_check(kind: str) -> fastschema.Check | None:
    try:
        return fastschema.compile_schema(load_schema(kind))
    except fastschema.Unsupported:
        return None  # a schema keyword the fast path lacks: always use jsonschema


def check(doc: Document, kind: str) -> list[Diagnostic]:
    """Every schema violation in one loaded file, as diagnostics positioned in that file."""
    fast = _fast_check(kind)
    if fast is not None and fast(doc.data):
        return []
    found: list[Diagnostic] = []
    for error in _validator(kind).iter_errors(doc.data):
        found.extend(_diagnose(doc, kind, error))
    return found


@dataclass(frozen=True, slots=True)
class _Error:
    """One jsonschema error with what every handler needs."""

    doc: Document
    kind: str
    error: ValidationError
    pointer: str
    what: str  # the config path in words: 'pools.default.concurrency'

    @property
    def value(self) -> Any:
        return self.error.instance

    @property
    def schema(self) -> dict[str, Any]:
        """The failing subschema (our schemas never use boolean subschemas)."""
        schema = self.error.schema
        return dict(schema) if isinstance(schema, Mapping) else {}

    @property
    def description(self) -> str | None:
        text: str | None = self.schema.get("description")
        return text


def _diagnose(doc: Document, kind: str, error: ValidationError) -> Iterator[Diagnostic]:
    pointer = ptr.build(error.absolute_path)
    e = _Error(doc, kind, error, pointer, _describe(pointer))
    keyword = str(error.validator)
    if "propertyNames" in error.relative_schema_path:
        # Before `pattern`: a bad name is reported at its key, not at the parent mapping.
        yield from _bad_name(e)
    elif keyword == "anyOf" and isinstance(e.value, dict) and _object_branch(e):
        from jsonschema.exceptions import best_match

        # A mapping where a value may be a string or one of several mappings: report what is
        # wrong inside the mapping it was meant to be.
        yield from _diagnose(doc, kind, best_match(_object_branch(e)))
    elif keyword == "anyOf" and _pattern_kind(e.schema):
        yield _malformed(e)
    elif (
        keyword == "oneOf"
        and isinstance(e.value, dict)
        and "task" in e.schema.get("properties", {})
    ):
        yield from _cron_or_every(doc, pointer, e.what, e.value)
    elif keyword in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        yield from _diagnose(doc, kind, best_match(error.context))
    else:
        yield from _HANDLERS.get(keyword, _other)(e)


def _unknown_key(e: _Error) -> Iterator[Diagnostic]:
    allowed = sorted(_known_properties(e.kind, e.schema))
    for key in _unknown_keys(e.value, allowed, e.schema):
        yield e.doc.error(
            "AIR101",
            f"unknown key '{key}' in {e.what}",
            ptr.join(e.pointer, key),
            key=True,
            hint=_choices_hint(key, allowed, "valid keys"),
        )


def _missing_key(e: _Error) -> Iterator[Diagnostic]:
    for key in _as_list(e.error.validator_value):
        if isinstance(e.value, dict) and key not in e.value:
            yield e.doc.error(
                "AIR102",
                f"{e.what} is missing the required key '{key}'",
                e.pointer,
                key=True,
                hint=f"add '{key}:' ({_property_help(_owner(e), key)})",
            )


def _wrong_type(e: _Error) -> Iterator[Diagnostic]:
    names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in _as_list(e.error.validator_value))
    yield e.doc.error(
        "AIR103", f"{e.what} must be {names}, not {_show(e.value)}", e.pointer, hint=e.description
    )


def _not_allowed(e: _Error) -> Iterator[Diagnostic]:
    if e.error.validator == "const" and e.pointer == "/version":
        yield e.doc.error(
            "AIR108",
            f"unsupported config version {_show(e.value)}",
            e.pointer,
            hint="this air reads 'version: 1'",
        )
        return
    arg = e.error.validator_value
    choices = _as_list(arg) if e.error.validator == "enum" else [arg]
    yield e.doc.error(
        "AIR104",
        f"{e.what} is {_show(e.value)}, which is not allowed",
        e.pointer,
        hint=_choices_hint(str(e.value), [str(c) for c in choices], "valid values"),
    )


_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
}


def _out_of_range(e: _Error) -> Iterator[Diagnostic]:
    bound = _BOUNDS[str(e.error.validator)]
    yield e.doc.error(
        "AIR105",
        f"{e.what} must be {bound} {e.error.validator_value}, not {_show(e.value)}",
        e.pointer,
        hint=e.description,
    )


def _bad_name(e: _Error) -> Iterator[Diagnostic]:
    hint = _PATTERN_HINTS[_pattern_kind(e.schema) or "name"]
    yield e.doc.error(
        "AIR106",
        f"name {_show(e.value)} in {e.what} is not a valid name",
        ptr.join(e.pointer, str(e.value)),
        key=True,
        hint=hint,
    )


def _object_branch(e: _Error) -> list[ValidationError]:
    """The errors of the anyOf alternative a mapping was meant to be: the first that takes a
    mapping and whose required keys it has, else the first that takes a mapping."""
    alternatives = [
        (i, s) for i, s in enumerate(e.schema.get("anyOf", [])) if s.get("type") == "object"
    ]
    meant = next(
        (i for i, s in alternatives if set(s.get("required", ())) <= set(e.value)),
        alternatives[0][0] if alternatives else None,
    )
    return [c for c in e.error.context or () if c.schema_path and c.schema_path[0] == meant]


def _pattern(e: _Error) -> Iterator[Diagnostic]:
    yield _malformed(e)


def _empty(e: _Error) -> Iterator[Diagnostic]:
    yield e.doc.error("AIR107", f"{e.what} must not be empty", e.pointer, hint=e.description)


def _repeated(e: _Error) -> Iterator[Diagnostic]:
    yield e.doc.error(
        "AIR107", f"{e.what} lists the same item twice", e.pointer, hint="remove the repeated item"
    )


def _other(e: _Error) -> Iterator[Diagnostic]:
    yield e.doc.error("AIR107", f"{e.what}: {e.error.message}", e.pointer, hint=e.description)


_HANDLERS: dict[str, Callable[[_Error], Iterator[Diagnostic]]] = {
    "additionalProperties": _unknown_key,
    "unevaluatedProperties": _unknown_key,
    "required": _missing_key,
    "type": _wrong_type,
    "enum": _not_allowed,
    "const": _not_allowed,
    **dict.fromkeys(_BOUNDS, _out_of_range),
    "pattern": _pattern,
    "minItems": _empty,
    "minProperties": _empty,
    "minLength": _empty,
    "uniqueItems": _repeated,
}


def _malformed(e: _Error) -> Diagnostic:
    kind = _pattern_kind(e.schema) or "name"
    noun = {
        "duration": "a duration",
        "rate": "a rate",
        "size": "a size",
        "name": "a valid name",
        "dotted": "a dotted Python name",
    }[kind]
    return e.doc.error(
        "AIR106",
        f"{e.what} is {_show(e.value)}, which is not {noun}",
        e.pointer,
        hint=_PATTERN_HINTS[kind],
    )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _pattern_kind(schema: dict[str, Any]) -> str | None:
    patterns = [schema.get("pattern", "")] + [s.get("pattern", "") for s in schema.get("anyOf", [])]
    text = " ".join(p for p in patterns if p)
    if units.DURATION_PATTERN in patterns:
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


def _cron_or_every(
    doc: Document, pointer: str, what: str, value: dict[str, Any]
) -> Iterator[Diagnostic]:
    if "cron" in value and "every" in value:
        yield doc.error(
            "AIR107",
            f"{what} sets both 'cron' and 'every'",
            ptr.join(pointer, "every"),
            key=True,
            hint="keep exactly one of the two",
        )
    else:
        yield doc.error(
            "AIR102",
            f"{what} needs 'cron' or 'every'",
            pointer,
            key=True,
            hint='add cron: "*/5 * * * *" or every: 5m',
        )


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


def _owner(e: _Error) -> dict[str, Any]:
    """The schema declaring the properties: a `required` inside an anyOf branch (task or
    workflow, in schedules) is described by the object schema around it."""
    parent = e.error.parent
    if "properties" not in e.schema and parent is not None and isinstance(parent.schema, dict):
        return parent.schema
    return e.schema


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

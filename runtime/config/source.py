"""Safe YAML loading that keeps the line and column of every node.

libyaml (through PyYAML's C composer) builds the node graph, and this module walks it into plain
data. Nothing is ever constructed from a tag: only YAML 1.2 core tags are accepted, scalars resolve
by the 1.2 core rules (`on`, `no` and `12:30` stay strings), duplicate keys are reported, alias
expansion is bounded, and `${VAR}` / `${VAR:-default}` are expanded from the environment.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runtime.config import pointer as ptr
from runtime.config.diagnostics import Diagnostic, Severity

# Aliases may re-visit at most this many nodes per file: far beyond any real config's use of
# anchors and merge keys, and reached in milliseconds by a "billion laughs" document.
MAX_ALIAS_NODES = 50_000
# Far deeper than any config needs, and shallow enough that every later step (schema, model,
# json and yaml output) stays far from Python's recursion limit.
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"


class _CoreLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser with YAML 1.2 core schema resolution instead of PyYAML's YAML 1.1 rules."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _pattern, _first in (
    (BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    (NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (MERGE, r"^<<$", "<"),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a file."""

    line: int
    col: int


@dataclass(slots=True)
class Document:
    """One loaded file: plain data plus where every value and key came from."""

    path: str
    data: Any = None
    values: dict[str, Mark] = field(default_factory=dict)
    keys: dict[str, Mark] = field(default_factory=dict)
    # The text of scalars as written, before ${VAR} expansion (secrets checks look here).
    templates: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    readable: bool = True
    sha256: str = ""  # of the file's bytes as read, before ${VAR} expansion

    def mark(self, pointer: str, *, key: bool = False) -> Mark:
        """The position for a pointer: its key or value, else that of its nearest ancestor."""
        while True:
            if key and pointer in self.keys:
                return self.keys[pointer]
            if pointer in self.values:
                return self.values[pointer]
            if not pointer:
                return Mark(1, 1)
            pointer, key = ptr.parent(pointer), True

    def diagnostic(
        self,
        severity: Severity,
        code: str,
        message: str,
        pointer: str = "",
        *,
        hint: str | None = None,
        key: bool = False,
    ) -> Diagnostic:
        mark = self.mark(pointer, key=key) if self.readable else Mark(0, 0)
        return Diagnostic(
            severity=severity,
            code=code,
            message=message,
            file=self.path,
            line=mark.line,
            col=mark.col,
            pointer=pointer,
            hint=hint,
        )

    def error(self, code: str, message: str, pointer: str = "", **kw: Any) -> Diagnostic:
        return self.diagnostic(Severity.ERROR, code, message, pointer, **kw)

    def warning(self, code: str, message: str, pointer: str = "", **kw: Any) -> Diagnostic:
        return self.diagnostic(Severity.WARNING, code, message, pointer, **kw)

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)


def load_file(
    path: Path, display: str | None = None, env: Mapping[str, str] | None = None
) -> Document:
    """Load one config file. Never raises for bad input: problems become diagnostics."""
    display = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = (
            "does not exist" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc))
        )
        return missing_document(display, reason)
    doc = load_bytes(raw, display, env)
    doc.sha256 = hashlib.sha256(raw).hexdigest()
    return doc


def missing_document(display: str, reason: str = "does not exist") -> Document:
    """The document of a file that cannot be read: no data, one AIR006 error."""
    doc = Document(display, readable=False)
    doc.report(
        doc.error(
            "AIR006",
            f"cannot read {display}: {reason}",
            hint="check the path, or point --config (AIR_CONFIG_DIR) at the "
            "directory holding queues.yaml and schedules.yaml",
        )
    )
    return doc


def load_bytes(raw: bytes | str, display: str, env: Mapping[str, str] | None = None) -> Document:
    doc = Document(display)
    text = _decode(raw, doc)
    if text is None:
        return doc
    try:
        nodes = _compose(text)
    except RecursionError:  # PyYAML's pure-Python composer (no libyaml) recurses per level
        doc.values[""] = _too_deep(text)
        doc.report(_depth_error(doc, ""))
        return doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.problem, exc.context and f"({exc.context})") if p)
        doc.values[""] = _within(text, Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1))
        doc.report(
            doc.error(
                "AIR001",
                f"YAML syntax error: {message or exc}",
                hint="fix the YAML syntax at this position (indentation, quoting, "
                "a missing ':' or bracket)",
            )
        )
        return doc
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        doc.values[""] = _position(text, _char_index(text, getattr(exc, "position", 0)))
        reason = str(exc).splitlines()[0]
        doc.report(
            doc.error(
                "AIR001",
                f"YAML syntax error: {reason}",
                hint="remove control characters; the file must be UTF-8 text",
            )
        )
        return doc
    if len(nodes) > 1:
        doc.values[""] = _mark(nodes[1])
        doc.report(
            doc.error(
                "AIR008",
                "the file holds more than one YAML document",
                hint="keep a single document: remove the extra '---' separator",
            )
        )
        return doc
    if not nodes or (isinstance(nodes[0], yaml.ScalarNode) and nodes[0].tag == NULL):
        doc.report(
            doc.error(
                "AIR007", f"{display} is empty", hint="every config file starts with 'version: 1'"
            )
        )
        return doc
    builder = _Builder(doc, env if env is not None else {})
    try:
        doc.data = builder.build(nodes[0], "")
    except _AliasLimit as limit:
        doc.data = None
        doc.report(limit.diagnostic)
    return doc


def _compose(text: str) -> list[yaml.Node]:
    loader = _CoreLoader(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
            if len(nodes) > 1:
                break
        return nodes
    finally:
        loader.dispose()


def _decode(raw: bytes | str, doc: Document) -> str | None:
    if isinstance(raw, str):
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: not text any file can hold
            doc.values[""] = _position(raw, exc.start)
            doc.report(
                doc.error(
                    "AIR001",
                    f"the text is not valid Unicode (U+{ord(raw[exc.start]):04X})",
                    hint="save the file as UTF-8",
                )
            )
            return None
        # As for bytes: a leading BOM is no column (editors do not show it), and YAML's
        # marks would count it on the first line.
        return raw.removeprefix("\ufeff")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # exc.object is the input after any BOM, and exc.start a byte offset into it.
        before = exc.object[: exc.start].decode("utf-8", "replace")
        doc.values[""] = _position(before, len(before))
        doc.report(
            doc.error(
                "AIR001",
                f"the file is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x})",
                hint="save the file as UTF-8",
            )
        )
        return None


def _position(text: str, index: int) -> Mark:
    before = text[:index]
    return Mark(before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1)


_BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # every line break libyaml counts


def _within(text: str, mark: Mark) -> Mark:
    """libyaml puts an error at the end of a file without a final newline on the line after
    the last one; report it at the end of the last line instead."""
    lines = _BREAKS.split(text)
    if mark.line <= len(lines):
        return mark
    return Mark(len(lines), len(lines[-1]) + 1)


def _char_index(text: str, position: int) -> int:
    """libyaml reports a reader error's position in bytes of the UTF-8 text; make it a
    character index (PyYAML's pure-Python reader already counts characters)."""
    if not issubclass(_CoreLoader, getattr(yaml, "CSafeLoader", ())):
        return position
    return len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _depth_error(doc: Document, pointer: str) -> Diagnostic:
    return doc.error(
        "AIR011",
        f"the YAML nests deeper than {MAX_DEPTH} levels",
        pointer,
        hint="no config needs this much nesting; flatten the value",
    )


def _too_deep(text: str) -> Mark:
    """Where nesting first passes MAX_DEPTH: by open brackets, or by indentation (a block
    level takes at least one column); the start of the file if neither tells."""
    depth = 0
    for index, char in enumerate(text):
        depth += (char in "[{") - (char in "]}")
        if depth > MAX_DEPTH:
            return _position(text, index)
    offset = 0
    for line in text.splitlines(keepends=True):
        if len(line) - len(line.lstrip(" ")) > MAX_DEPTH:
            return _position(text, offset)
        offset += len(line)
    return Mark(1, 1)


class _AliasLimit(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


_INTERPOLATION = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


class _Builder:
    """Walks a composed node graph into plain data, recording positions and problems."""

    def __init__(self, doc: Document, env: Mapping[str, str]) -> None:
        self.doc = doc
        self.env = env
        self.seen: set[int] = set()
        self.alias_budget = MAX_ALIAS_NODES
        self.active: set[int] = set()

    def build(self, node: yaml.Node, pointer: str) -> Any:
        self._count(node, pointer)
        self.doc.values[pointer] = _mark(node)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, pointer)
        if id(node) in self.active:
            raise _AliasLimit(
                self.doc.error(
                    "AIR004",
                    "recursive alias: this node contains an alias to itself",
                    pointer,
                    hint="an anchor cannot be used inside its own value",
                )
            )
        if len(self.active) >= MAX_DEPTH:  # `active` holds the containers around this one
            raise _AliasLimit(_depth_error(self.doc, pointer))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != SEQ:
                    return self._bad_tag(node, pointer)
                return [
                    self.build(child, ptr.join(pointer, i)) for i, child in enumerate(node.value)
                ]
            if node.tag != MAP or not isinstance(node, yaml.MappingNode):
                return self._bad_tag(node, pointer)
            return self._mapping(node, pointer)
        finally:
            self.active.discard(id(node))

    def _count(self, node: yaml.Node, pointer: str) -> None:
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return
        self.alias_budget -= 1
        if self.alias_budget < 0:
            raise _AliasLimit(
                self.doc.error(
                    "AIR004",
                    f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
                    pointer,
                    hint="this looks like an alias bomb; write the values out or nest fewer "
                    "aliases",
                )
            )

    def _mapping(self, node: yaml.MappingNode, pointer: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node, explicit in self._pairs(node, pointer, explicit=True):
            if not isinstance(key_node, yaml.ScalarNode):
                self.doc.values[pointer + "/"] = _mark(key_node)
                self.doc.report(
                    self.doc.error(
                        "AIR010",
                        "a mapping key must be a plain string, not a list or mapping",
                        pointer + "/",
                        hint="use a string key",
                    )
                )
                continue
            key = key_node.value
            child = ptr.join(pointer, key)
            if key in result:
                if explicit:
                    first = self.doc.keys[child].line
                    self._error_at(
                        key_node,
                        "AIR002",
                        f"duplicate key '{key}' (first defined on line {first})",
                        child,
                        hint="remove one of them: YAML keeps only one value per key",
                    )
                continue
            self.doc.keys[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        return result

    def _error_at(
        self, node: yaml.Node, code: str, message: str, pointer: str, *, hint: str
    ) -> None:
        """Report an error at the node itself: what is being built has no position yet."""
        mark = _mark(node)
        self.doc.report(
            Diagnostic(
                severity=Severity.ERROR,
                code=code,
                message=message,
                file=self.doc.path,
                line=mark.line,
                col=mark.col,
                pointer=pointer,
                hint=hint,
            )
        )

    def _pairs(
        self, node: yaml.MappingNode, pointer: str, *, explicit: bool
    ) -> Iterator[tuple[yaml.Node, yaml.Node, bool]]:
        """Key/value nodes of a mapping, explicit keys first, then those of `<<` merge sources."""
        merges = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                merges.append(value_node)
            else:
                yield key_node, value_node, explicit
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                if id(source) in self.active:
                    self._error_at(
                        source,
                        "AIR004",
                        "recursive alias: a '<<' merge key merges a mapping into itself",
                        pointer,
                        hint="an anchor cannot be used inside its own value",
                    )
                    continue
                if not isinstance(source, yaml.MappingNode):
                    self._error_at(
                        source,
                        "AIR003",
                        "a '<<' merge key needs a mapping or a list of mappings",
                        pointer,
                        hint="merge an anchored mapping: '<<: *defaults'",
                    )
                    continue
                self._count(source, "")
                self.active.add(id(source))
                try:
                    yield from self._pairs(source, pointer, explicit=False)
                finally:
                    self.active.discard(id(source))

    def _bad_tag(self, node: yaml.Node, pointer: str) -> None:
        self.doc.report(
            self.doc.error(
                "AIR003",
                f"tag '{_short_tag(node.tag)}' is not allowed",
                pointer,
                hint="config files use plain YAML values only: remove the tag",
            )
        )
        return None

    def _scalar(self, node: yaml.ScalarNode, pointer: str) -> Any:
        text, tag = node.value, node.tag
        if tag not in (STR, INT, FLOAT, BOOL, NULL):
            return self._bad_tag(node, pointer)
        if "$" in text:
            expanded = self._interpolate(text, pointer)
            self.doc.templates[pointer] = text
            if expanded != text and node.style in ("", None) and tag == STR:
                tag = _CoreLoader.resolve(_CoreLoader, yaml.ScalarNode, expanded, (True, False))
            text = expanded
        try:
            return _convert(tag, text)
        except ValueError:
            self.doc.report(
                self.doc.error(
                    "AIR003",
                    f"'{text}' cannot be read as {_short_tag(tag)}",
                    pointer,
                    hint="remove the tag or fix the value",
                )
            )
            return None

    def _interpolate(self, text: str, pointer: str) -> str:
        def replace(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "$${":
                return "${"
            body = match.group(1)
            parsed = _VARIABLE.fullmatch(body) if body is not None else None
            if parsed is None:
                self.doc.report(
                    self.doc.error(
                        "AIR009",
                        f"malformed interpolation '{token}' in '{text}'",
                        pointer,
                        hint="write ${NAME} or ${NAME:-default}; write $${ for a literal '${'",
                    )
                )
                return token
            name, default = parsed.group(1), parsed.group(2)
            value = self.env.get(name)
            if value is None or (value == "" and default is not None):
                if default is not None:
                    return default
                self.doc.report(
                    self.doc.error(
                        "AIR005",
                        f"environment variable {name} is not set and has no default",
                        pointer,
                        hint=f"export {name}=..., or write ${{{name}:-default}}",
                    )
                )
                return ""
            return value

        return _INTERPOLATION.sub(replace, text)


def _convert(tag: str, text: str) -> Any:
    if tag == STR:
        return text
    if tag == NULL:
        if text not in ("", "~", "null", "Null", "NULL"):
            raise ValueError(text)
        return None
    if tag == BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ValueError(text)
        return lowered == "true"
    if tag == INT:
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)
    lowered = text.lower()
    if lowered in (".inf", "+.inf", "-.inf"):
        return -math.inf if lowered[0] == "-" else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag

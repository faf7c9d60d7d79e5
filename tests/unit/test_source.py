"""The YAML loader: safety (tags, aliases), YAML 1.2 scalars, ${VAR} expansion and positions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from runtime.config.diagnostics import Severity
from runtime.config.source import MAX_ALIAS_NODES, Document, Mark, load_bytes, load_file


def load(text: str | bytes, env: dict[str, str] | None = None) -> Document:
    return load_bytes(text, "f.yaml", env or {})


def codes(doc: Document) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.col) for d in doc.diagnostics]


# --- tags: nothing outside the YAML 1.2 core schema is ever constructed --------------------------


def touch_payload(marker: Path) -> str:
    """A document that creates `marker` when loaded by a constructing (unsafe) YAML loader."""
    return f"pools:\n  default:\n    queues: !!python/object/apply:os.mkdir ['{marker}']\n"


def test_the_touch_payload_is_live_under_an_unsafe_loader(tmp_path: Path) -> None:
    # Control experiment: proves the payload below would really run if anything constructed it.
    marker = tmp_path / "constructed"
    yaml.unsafe_load(touch_payload(marker))
    assert marker.exists()


def test_python_object_apply_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = load(touch_payload(marker))
    assert not marker.exists()
    assert codes(doc) == [("AIR003", 3, 13)]
    assert doc.diagnostics[0].pointer == "/pools/default/queues"
    assert doc.data == {"pools": {"default": {"queues": None}}}


def test_os_system_is_never_called(tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-shell"
    doc = load(f"a: 1\nb: !!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()
    assert codes(doc) == [("AIR003", 2, 4)]
    assert "!!python/object/apply:os.system" in doc.diagnostics[0].message


def test_python_name_never_imports(capsys: pytest.CaptureFixture[str]) -> None:
    # Importing `this` prints the Zen of Python: a resolved !!python/name would show it.
    assert "this" not in sys.modules
    doc = load("version: 1\nhook: !!python/name:this.s\n")
    assert "this" not in sys.modules
    assert capsys.readouterr().out == ""
    assert codes(doc) == [("AIR003", 2, 7)]
    assert doc.data == {"version": 1, "hook": None}


def test_python_object_new_is_rejected(tmp_path: Path) -> None:
    marker = tmp_path / "new"
    doc = load(f"x:\n  - ok\n  - !!python/object/new:pathlib.Path ['{marker}']\n")
    assert codes(doc) == [("AIR003", 3, 5)]
    assert doc.data == {"x": ["ok", None]}


@pytest.mark.parametrize(
    "tagged",
    [
        "!custom 1",
        "!!binary aGk=",
        "!!set {a, b}",
        "!!timestamp 2024-01-01",
        "!!omap [a: 1]",
        "!<tag:example.com,2024:x> 1",
        "!!python/tuple [1, 2]",
    ],
)
def test_non_core_tags_are_rejected(tagged: str) -> None:
    doc = load(f"key: {tagged}\n")
    assert codes(doc) == [("AIR003", 1, 6)]
    assert doc.diagnostics[0].severity is Severity.ERROR
    assert doc.data == {"key": None}


def test_core_tags_are_accepted_and_applied() -> None:
    doc = load(
        "s: !!str 1\ni: !!int '3'\nf: !!float 1\nb: !!bool true\nn: !!null ''\n"
        "m: !!map {a: 1}\nq: !!seq [1]\n"
    )
    assert doc.diagnostics == []
    assert doc.data == {"s": "1", "i": 3, "f": 1.0, "b": True, "n": None, "m": {"a": 1}, "q": [1]}


def test_a_core_tag_on_a_value_it_cannot_read_is_an_error() -> None:
    doc = load("a: 1\nb: !!int twelve\nc: !!bool yes\n")
    assert codes(doc) == [("AIR003", 2, 4), ("AIR003", 3, 4)]
    assert doc.data == {"a": 1, "b": None, "c": None}


# --- aliases: bounded and fast -------------------------------------------------------------------


def laughs(levels: int, width: int = 10) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(20)  # expanded, it would not end: the loader must stop it, not time
def test_billion_laughs_is_stopped_quickly() -> None:
    doc = load(laughs(9))  # 10**9 strings if expanded
    assert [d.code for d in doc.diagnostics] == ["AIR004"]
    assert str(MAX_ALIAS_NODES) in doc.diagnostics[0].message
    assert doc.data is None


@pytest.mark.timeout(20)  # 2**29 merges if expanded
def test_merge_key_bomb_is_stopped_quickly() -> None:
    lines = ["m0: &m0 {x: 1, y: 2}"]
    for i in range(1, 30):
        lines.append(f"m{i}: &m{i}")
        lines += [f"  k{j}: *m{i - 1}" for j in range(10)]
        lines.append(f"  <<: [*m{i - 1}, *m{i - 1}]")
    doc = load("\n".join(lines) + "\n")
    assert [d.code for d in doc.diagnostics] == ["AIR004"]


def test_moderate_alias_use_is_fine() -> None:
    doc = load(laughs(3))  # 1,110 nodes: far under the limit
    assert doc.diagnostics == []
    assert len(doc.data["a3"]) == 10 and doc.data["a3"][0][0] == ["lol"] * 10


@pytest.mark.parametrize(
    "text, line, col",
    [
        ("a: &a [1, *a]\n", 1, 4),
        ("top:\n  a: &a {b: *a}\n", 2, 6),
        ("a: &a\n  b:\n    c: *a\n", 1, 4),  # an anchored block node starts at its anchor
    ],
)
def test_recursive_alias_is_an_error(text: str, line: int, col: int) -> None:
    doc = load(text)
    assert codes(doc) == [("AIR004", line, col)]
    assert "recursive" in doc.diagnostics[0].message
    assert doc.data is None


def test_recursive_merge_is_an_error_not_a_hang() -> None:
    doc = load("a: &a\n  x: 1\n  <<: *a\n")
    assert codes(doc) == [("AIR004", 1, 4)]
    assert doc.diagnostics[0].pointer == "/a"
    assert doc.data == {"a": {"x": 1}}


# --- duplicate keys ------------------------------------------------------------------------------


def test_duplicate_key_is_reported_at_the_second_key() -> None:
    doc = load(
        "version: 1\nqueues:\n  default: {priority: 5}\n  low: {priority: 1}\n"
        "  default: {priority: 9}\n"
    )
    assert codes(doc) == [("AIR002", 5, 3)]
    diagnostic = doc.diagnostics[0]
    assert diagnostic.pointer == "/queues/default"
    assert "line 3" in diagnostic.message
    assert doc.data["queues"]["default"] == {"priority": 5}  # the first one is kept


def test_duplicate_keys_in_a_flow_mapping_and_at_the_top() -> None:
    doc = load("a: {x: 1, y: 2, x: 3}\na: 2\n")
    assert codes(doc) == [("AIR002", 1, 17), ("AIR002", 2, 1)]
    assert "line 1" in doc.diagnostics[1].message


def test_keys_from_a_merge_are_not_duplicates_of_explicit_keys() -> None:
    doc = load("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n")
    assert doc.diagnostics == []


# --- YAML 1.2 core scalars -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("n", "n"),
        ("Yes", "Yes"),
        ("NO", "NO"),
        ("On", "On"),
        ("12:30", "12:30"),
        ("1:2:3", "1:2:3"),
        ("190:20:30", "190:20:30"),
        ("0777", 777),
        ("08", 8),
        ("0010", 10),
        ("0o17", 15),
        ("0x1f", 31),
        ("0b11", "0b11"),
        ("1_000", "1_000"),
        ("+12", 12),
        ("-0", 0),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".inf", float("inf")),
        ("-.Inf", float("-inf")),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-01", "2024-01-01"),
        ("=", "="),
    ],
)
def test_plain_scalars_resolve_by_yaml_1_2_core(text: str, value: object) -> None:
    doc = load(f"v: {text}\n")
    assert doc.diagnostics == []
    assert doc.data["v"] == value
    assert type(doc.data["v"]) is type(value)


def test_nan_is_a_float() -> None:
    value = load("v: .nan\n").data["v"]
    assert isinstance(value, float) and value != value


def test_yaml_1_1_booleans_are_strings_as_keys_too() -> None:
    doc = load("on: 1\nno: 2\n12:30: 3\n")
    assert doc.data == {"on": 1, "no": 2, "12:30": 3}
    assert all(isinstance(k, str) for k in doc.data)


def test_quoted_scalars_stay_strings() -> None:
    assert load("a: '5'\nb: \"true\"\nc: 'null'\n").data == {"a": "5", "b": "true", "c": "null"}


# --- ${VAR} interpolation ------------------------------------------------------------------------


def test_set_variable_is_expanded_and_the_template_kept() -> None:
    doc = load("url: redis://${HOST}:6379/0\n", {"HOST": "cache"})
    assert doc.diagnostics == []
    assert doc.data == {"url": "redis://cache:6379/0"}
    assert doc.templates == {"/url": "redis://${HOST}:6379/0"}


def test_unset_variable_names_the_variable_and_its_place() -> None:
    doc = load("broker:\n  url: redis://${AIR_TEST_HOST}/0\n")
    assert codes(doc) == [("AIR005", 2, 8)]
    diagnostic = doc.diagnostics[0]
    assert "AIR_TEST_HOST" in diagnostic.message
    assert diagnostic.pointer == "/broker/url"
    assert diagnostic.hint is not None and "${AIR_TEST_HOST:-" in diagnostic.hint


def test_every_unset_variable_is_reported() -> None:
    doc = load("a: ${ONE}-${TWO}\nb: ${THREE}\n")
    assert [(d.code, d.line) for d in doc.diagnostics] == [
        ("AIR005", 1),
        ("AIR005", 1),
        ("AIR005", 2),
    ]
    assert ["ONE" in doc.diagnostics[0].message, "TWO" in doc.diagnostics[1].message] == [
        True,
        True,
    ]


@pytest.mark.parametrize(
    "env, value",
    [
        ({}, "fallback"),
        ({"V": ""}, "fallback"),  # set but empty: the default applies, as in the shell's :-
        ({"V": "given"}, "given"),
    ],
)
def test_default_applies_when_unset_or_empty(env: dict[str, str], value: str) -> None:
    doc = load("a: ${V:-fallback}\n", env)
    assert doc.diagnostics == []
    assert doc.data == {"a": value}


def test_default_may_hold_colons_and_slashes() -> None:
    doc = load("url: ${URL:-redis://127.0.0.1:6379/0}\n")
    assert doc.data == {"url": "redis://127.0.0.1:6379/0"}


def test_set_but_empty_variable_without_default_is_not_an_error() -> None:
    doc = load("a: x${V}y\n", {"V": ""})
    assert doc.diagnostics == []
    assert doc.data == {"a": "xy"}


def test_double_dollar_escapes() -> None:
    doc = load("a: cost $${HOME} and $$5\n", {"HOME": "/root"})
    assert doc.diagnostics == []
    assert doc.data == {"a": "cost ${HOME} and $$5"}


@pytest.mark.parametrize(
    "text, col",
    [
        ("a: ${bad name}\n", 4),
        ("a: x ${1ABC}\n", 4),
        ("a: '${}'\n", 4),
        ("a: ${UNCLOSED\n", 4),
        ("a: ${A-b}\n", 4),
    ],
)
def test_malformed_interpolation(text: str, col: int) -> None:
    doc = load(text)
    assert codes(doc) == [("AIR009", 1, col)]
    assert doc.diagnostics[0].pointer == "/a"


def test_plain_scalar_re_resolves_after_expansion() -> None:
    doc = load("n: ${N:-4}\nport: 63${P:-79}\nflag: ${F:-true}\nnothing: ${E:-}\n")
    assert doc.data == {"n": 4, "port": 6379, "flag": True, "nothing": None}


def test_quoted_scalar_stays_a_string_after_expansion() -> None:
    doc = load("n: '${N:-4}'\nm: \"${N:-4}\"\n")
    assert doc.data == {"n": "4", "m": "4"}


def test_expanded_value_is_not_expanded_again() -> None:
    doc = load("a: ${OUTER}\n", {"OUTER": "${INNER}", "INNER": "x"})
    assert doc.diagnostics == []
    assert doc.data == {"a": "${INNER}"}


def test_keys_are_not_interpolated() -> None:
    doc = load("${K}: 1\n", {"K": "x"})
    assert doc.data == {"${K}": 1}


# --- empty files, documents, encodings, syntax ---------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# a comment\n# another\n", "---\n", "~\n", "--- # only a marker\n...\n"]
)
def test_empty_file(text: str) -> None:
    doc = load(text)
    assert [d.code for d in doc.diagnostics] == ["AIR007"]
    assert doc.data is None
    assert doc.readable


def test_two_documents_point_at_the_second() -> None:
    doc = load("version: 1\n---\nversion: 2\n")
    assert codes(doc) == [("AIR008", 3, 1)]
    assert doc.data is None


def test_invalid_utf8_position_counts_characters_not_bytes() -> None:
    doc = load("é: 1\nxy: \xff\n".encode()[:-3] + b"\xff\n")
    assert codes(doc) == [("AIR001", 2, 5)]
    assert "0xff" in doc.diagnostics[0].message


def test_invalid_utf8_after_a_byte_order_mark() -> None:
    doc = load(b"\xef\xbb\xbfa: 1\nb: \xfe\n")
    assert codes(doc) == [("AIR001", 2, 4)]
    assert "0xfe" in doc.diagnostics[0].message


def test_byte_order_mark_is_accepted() -> None:
    doc = load(b"\xef\xbb\xbfversion: 1\n")
    assert doc.diagnostics == []
    assert doc.data == {"version": 1}


@pytest.mark.parametrize(
    "text, line, col",
    [
        ("a: b\x01c\n", 1, 5),
        ('a: 1\nb: "\x07"\n', 2, 5),
        ("äöü: 1\nxy: \x07\n", 2, 5),  # multi-byte characters before it count once
        ("a: 'ü😀' \x1b\n", 1, 9),
    ],
)
def test_control_characters(text: str, line: int, col: int) -> None:
    for raw in (text, text.encode()):
        doc = load(raw)
        assert codes(doc) == [("AIR001", line, col)], raw
        assert "control characters" in doc.diagnostics[0].message


def test_lone_surrogate_in_text_is_a_diagnostic() -> None:
    doc = load("a: 'ü' \ud800\n")
    assert codes(doc) == [("AIR001", 1, 8)]


@pytest.mark.parametrize(
    "text, line, col",
    [
        ("a: [1, 2\n", 2, 1),
        ("a:\n  b: 1\n c: 2\n", 3, 2),
        ("a: 'unterminated\n", 2, 1),
        ("a: b: c\n", 1, 5),
        ("- a\nb: 1\n", 2, 1),
        ("a:\n\tb: 1\n", 2, 1),
        ("a: *nowhere\n", 1, 4),
    ],
)
def test_syntax_error_position(text: str, line: int, col: int) -> None:
    doc = load(text)
    assert codes(doc) == [("AIR001", line, col)]
    assert doc.diagnostics[0].message.startswith("YAML syntax error")
    assert doc.data is None


def test_error_at_the_end_of_a_file_without_a_final_newline() -> None:
    # libyaml places it on a line after the last one; it is reported inside the file.
    assert codes(load("a: 1\nb")) == [("AIR001", 2, 2)]
    assert codes(load("a: 1\r\nb")) == [("AIR001", 2, 2)]


def test_non_string_key() -> None:
    doc = load("a: 1\n? [x, y]\n: 2\n{k: v}: 3\n")
    assert codes(doc) == [("AIR010", 2, 3), ("AIR010", 4, 1)]
    assert doc.data == {"a": 1}


def test_scalar_keys_are_strings() -> None:
    assert load("1: a\ntrue: b\n~: c\n").data == {"1": "a", "true": "b", "~": "c"}


# --- files ---------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    doc = load_file(tmp_path / "queues.yaml", "config/queues.yaml")
    assert not doc.readable
    assert [(d.code, d.line, d.col, d.file) for d in doc.diagnostics] == [
        ("AIR006", 0, 0, "config/queues.yaml")
    ]
    assert "does not exist" in doc.diagnostics[0].message


def test_directory_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "queues.yaml").mkdir()
    doc = load_file(tmp_path / "queues.yaml")
    assert not doc.readable
    assert [(d.code, d.line, d.col) for d in doc.diagnostics] == [("AIR006", 0, 0)]
    assert doc.data is None


def test_file_is_read_with_env(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_bytes(b"a: ${X:-1}\n")
    doc = load_file(path, env={"X": "2"})
    assert doc.readable and doc.path == str(path)
    assert doc.data == {"a": 2}


# --- merge keys ----------------------------------------------------------------------------------


def test_merge_key_explicit_keys_win() -> None:
    doc = load(
        "base: &base {queue: default, retry: {max: 3}, acks_late: true}\n"
        "task:\n  acks_late: false\n  <<: *base\n  queue: high\n"
    )
    assert doc.diagnostics == []
    assert doc.data["task"] == {"acks_late": False, "queue": "high", "retry": {"max": 3}}


def test_merge_list_earlier_mappings_win() -> None:
    doc = load("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n")
    assert doc.data["c"] == {"x": 1, "y": 2}


def test_merge_of_a_scalar_is_an_error() -> None:
    doc = load("a:\n  <<: 1\n  b: 2\n")
    assert codes(doc) == [("AIR003", 2, 7)]
    assert doc.diagnostics[0].pointer == "/a"
    assert doc.data == {"a": {"b": 2}}


def test_merged_values_keep_their_source_positions() -> None:
    doc = load("base: &base\n  queue: low\nt:\n  <<: *base\n")
    assert doc.mark("/t/queue") == Mark(2, 10)


# --- positions -----------------------------------------------------------------------------------


POSITIONS = """\
version: 1
pools:
  default:
    queues: [default, low]
    concurrency: 4
  "a/b~c": {}
"""


def test_marks_of_values_and_keys() -> None:
    doc = load(POSITIONS)
    assert doc.mark("") == Mark(1, 1)
    assert doc.mark("/version") == Mark(1, 10)
    assert doc.mark("/version", key=True) == Mark(1, 1)
    assert doc.mark("/pools/default/concurrency") == Mark(5, 18)
    assert doc.mark("/pools/default/concurrency", key=True) == Mark(5, 5)
    assert doc.mark("/pools/default/queues/1") == Mark(4, 23)
    # A list item has no key: its value is the best position.
    assert doc.mark("/pools/default/queues/1", key=True) == Mark(4, 23)
    # JSON Pointer escaping: '/' is ~1 and '~' is ~0.
    assert doc.mark("/pools/a~1b~0c", key=True) == Mark(6, 3)


def test_mark_falls_back_to_the_nearest_ancestor_key() -> None:
    doc = load(POSITIONS)
    # A missing key is reported at its parent's key (STYLE.md: missing key -> the parent's key).
    assert doc.mark("/pools/default/prefetch_multiplier") == Mark(3, 3)
    assert doc.mark("/pools/default/autoscale/min", key=True) == Mark(3, 3)
    assert doc.mark("/pools/nope/queues/0") == Mark(2, 1)
    assert doc.mark("/nothing/here") == Mark(1, 1)


def test_mark_of_an_empty_document_is_the_first_line() -> None:
    assert Document("x").mark("/a/b") == Mark(1, 1)


def test_diagnostic_of_an_unreadable_document_has_no_position() -> None:
    doc = Document("x.yaml", readable=False)
    found = doc.error("AIR006", "cannot read", "/a")
    assert (found.line, found.col, found.file, found.severity) == (0, 0, "x.yaml", Severity.ERROR)


def test_every_node_has_a_position() -> None:
    doc = load(POSITIONS)
    assert set(doc.values) == {
        "",
        "/version",
        "/pools",
        "/pools/default",
        "/pools/default/queues",
        "/pools/default/queues/0",
        "/pools/default/queues/1",
        "/pools/default/concurrency",
        "/pools/a~1b~0c",
    }
    assert set(doc.keys) == {p for p in doc.values if p and not p[-1].isdigit()}

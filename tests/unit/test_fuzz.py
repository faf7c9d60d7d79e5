"""Property tests: whatever the bytes, the loader and validator return diagnostics and never raise.

Mutations start from real configs (the shipped one and a few cases): a scalar replaced by a value
of another type, a key deleted or duplicated, random text inserted, the file truncated, random
bytes swapped in, indentation damaged. Every diagnostic must be a registered code positioned
inside its file (line 0 only for the whole-file codes).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from runtime.config.diagnostics import CODES, Diagnostic, Report, Severity
from runtime.config.reporters import REPORTERS
from runtime.config.source import load_bytes
from runtime.config.validate import display_path, validate

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES = REPO_ROOT / "tests" / "cases"
SEEDS = [
    REPO_ROOT / "config",
    CASES / "valid" / "merge-keys",
    CASES / "valid" / "every-schedules",
    CASES / "valid" / "env-interpolation",
    CASES / "invalid" / "many-errors",
]
FILES = ("queues.yaml", "schedules.yaml")
FILE_LEVEL = {"AIR006"}
ENV = {"AIR_CASE_BROKER_URL": "redis://h:1/0", "AIR_CASE_QUEUE": "default", "X": "1"}

# YAML line breaks (libyaml counts all of these) and the values a scalar may be swapped for.
BREAKS = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
SCALAR = re.compile(r"(?:: |- )([^\s#{}\[\],][^#\n,{}\[\]]*)")
KEY_LINE = re.compile(r"^\s*[^\s#-][^:\n]*:")
NASTY = [
    "1",
    "-5",
    "0",
    "1.5",
    "1e400",
    ".nan",
    "true",
    "null",
    "~",
    "[]",
    "{}",
    "[1, a]",
    "{a: 1}",
    '""',
    "''",
    "5m",
    "0s",
    "-1s",
    "1/s",
    "99999999999999999999",
    "2**64",
    "@daily",
    "0 0 30 2 *",
    "Mars/Base",
    "${X}",
    "${UNSET}",
    "${bad name}",
    "$${",
    "!!python/name:os.system",
    "!!binary aGk=",
    "*nope",
    "&a x",
    "<<",
    "redis://:pw@h/0",
    "amqp://x",
    "a\\nb",
    '"a\\nb%:,"',
    "- x",
    "? x",
    "|\n  block",
    ">-\n  folded",
    "é",
    "\t",
    "x" * 300,
]
INSERTS = [
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!python/object/apply:os.system ",
    "---\n",
    "\t",
    "'",
    '"',
    "%",
    "${",
    "\x00",
    "\x07",
    "\n  ",
    "\n",
    "? ",
    "#",
    ",",
    "|",
    "\r",
    "\ufeff",
    "\u2028",
]
VALUES = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=12), st.integers().map(str), st.floats().map(repr)
)
TEXT_BITS = st.one_of(st.sampled_from(INSERTS), st.text(max_size=20))


def seed_files() -> list[dict[str, str]]:
    return [{name: (d / name).read_text(encoding="utf-8") for name in FILES} for d in SEEDS]


SEED_FILES = seed_files()


def mutate_text(data: st.DataObject, text: str) -> str:
    kind = data.draw(
        st.sampled_from(["scalar", "delete", "duplicate", "insert", "truncate", "indent"]),
        label="mutation",
    )
    lines = text.split("\n")
    if kind == "scalar":
        matches = list(SCALAR.finditer(text))
        if matches:
            found = data.draw(st.sampled_from(matches), label="scalar")
            return text[: found.start(1)] + data.draw(VALUES, label="value") + text[found.end(1) :]
        kind = "insert"
    if kind in ("delete", "duplicate"):
        keyed = [i for i, line in enumerate(lines) if KEY_LINE.match(line)]
        if keyed:
            index = data.draw(st.sampled_from(keyed), label="line")
            if kind == "duplicate":
                lines.insert(data.draw(st.integers(index, len(lines)), label="to"), lines[index])
            else:
                depth = len(lines[index]) - len(lines[index].lstrip())
                end = index + 1
                if data.draw(st.booleans(), label="whole block"):
                    while end < len(lines) and (
                        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > depth
                    ):
                        end += 1
                del lines[index:end]
            return "\n".join(lines)
        kind = "insert"
    if kind == "indent":
        index = data.draw(st.integers(0, len(lines) - 1), label="line")
        change = data.draw(st.sampled_from(["add", "remove", "tab"]), label="indent")
        line = lines[index]
        if change == "add":
            lines[index] = " " * data.draw(st.integers(1, 4)) + line
        elif change == "remove":
            lines[index] = line[
                min(len(line) - len(line.lstrip(" ")), data.draw(st.integers(1, 4))) :
            ]
        else:
            lines[index] = "\t" + line.lstrip(" ")
        return "\n".join(lines)
    position = data.draw(st.integers(0, len(text)), label="position")
    if kind == "truncate":
        return text[:position]
    return text[:position] + data.draw(TEXT_BITS, label="text") + text[position:]


def mutate(data: st.DataObject, text: str) -> bytes:
    for _ in range(data.draw(st.integers(1, 3), label="rounds")):
        text = mutate_text(data, text)
    raw = text.encode("utf-8", "surrogatepass")
    if data.draw(st.booleans(), label="swap bytes"):
        position = data.draw(st.integers(0, len(raw)), label="byte position")
        width = data.draw(st.integers(0, 4), label="width")
        raw = (
            raw[:position]
            + data.draw(st.binary(max_size=6), label="bytes")
            + raw[position + width :]
        )
    return raw


def assert_well_formed(diagnostics: list[Diagnostic], files: dict[str, bytes]) -> None:
    for d in diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.code in CODES, d
        assert isinstance(d.severity, Severity)
        assert d.file in files, d
        assert isinstance(d.message, str) and d.message
        assert d.pointer == "" or d.pointer.startswith("/"), d
        if d.line == 0:
            assert d.code in FILE_LEVEL and d.col == 0, d
            continue
        text = files[d.file].decode("utf-8-sig", "replace")
        assert 1 <= d.line <= len(BREAKS.split(text)), d
        assert 1 <= d.col <= max(len(line) for line in text.split("\n")) + 1, d


def assert_renders(report: Report) -> None:
    document = json.loads(REPORTERS["json"](report))
    assert len(document["diagnostics"]) == len(report)
    assert document["status"] == ("ok" if report.ok else "fail")
    # One annotation per line, whatever the messages quote: \r and \n are escaped.
    github = REPORTERS["github"](report)
    assert "\r" not in github
    assert len(github.rstrip("\n").split("\n")) == len(report) + 1
    assert REPORTERS["text"](report).endswith("\n")


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_configs_only_ever_produce_diagnostics(fuzz_dir: Path, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEED_FILES), label="seed")
    targets = data.draw(
        st.sampled_from([("queues.yaml",), ("schedules.yaml",), FILES]), label="files"
    )
    written: dict[str, bytes] = {}
    for name in FILES:
        raw = mutate(data, seed[name]) if name in targets else seed[name].encode()
        (fuzz_dir / name).write_bytes(raw)
        written[display_path(fuzz_dir / name)] = raw
    result = validate(fuzz_dir, ENV)
    assert_well_formed(result.report.diagnostics, written)
    assert_renders(result.report)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_load_bytes_never_raises(raw: bytes | str) -> None:
    doc = load_bytes(raw, "f.yaml", ENV)
    as_bytes = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    assert_well_formed(doc.diagnostics, {"f.yaml": as_bytes})
    assert doc.readable
    if doc.data is not None:
        assert all(p == "" or p.startswith("/") for p in doc.values)


YAMLISH = st.lists(
    st.one_of(st.sampled_from(INSERTS + NASTY + ["a", "b", "x: ", "  "]), st.text(max_size=4)),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=YAMLISH)
@example(text="\ufeff{")  # a BOM is no column: the error sits at col 2, not 3
def test_load_bytes_on_yaml_like_noise(text: str) -> None:
    doc = load_bytes(text, "f.yaml", ENV)
    assert_well_formed(doc.diagnostics, {"f.yaml": text.encode("utf-8", "surrogatepass")})


# --- shape-aware generation: configs near the schema, so the semantic rules see odd values -------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.sampled_from(
        [
            "default",
            "high",
            "1m",
            "0s",
            "2h",
            "-1s",
            "30/m",
            "",
            "prefork",
            "solo",
            "fixed",
            "none",
            "skip",
            "Europe/Berlin",
            "Bad/Zone",
            "*/5 * * * *",
            "0 0 30 2 *",
            "@daily",
            "61 * * * *",
            "redis://:p@h/0",
            "amqp://x",
            "redis://[",
            "redis://h:99999/0",
            "redis://:p@h:0/x",
            "512MiB",
            "t.a",
        ]
    ),
    st.text(max_size=5),
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["min", "max", "soft", "hard", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
DURATION = st.one_of(
    st.sampled_from(["1s", "30s", "10m", "1h", "2h", "1d", "0s", "0.5s"]),
    st.integers(-1, 10**6),
    ANY,
)
NAMES = st.sampled_from(["default", "high", "low"])


def maybe(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(strategy, ANY)


POLICY = st.fixed_dictionaries(
    {},
    optional={
        "queue": maybe(NAMES),
        "acks_late": maybe(st.booleans()),
        "expires": DURATION,
        "time_limit": maybe(
            st.fixed_dictionaries({}, optional={"soft": DURATION, "hard": DURATION})
        ),
        "retry": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "max": maybe(st.integers(-1, 2000)),
                    "initial": DURATION,
                    "max_delay": DURATION,
                    "backoff": st.sampled_from(["exponential", "fixed", "none", "linear"]),
                    "jitter": ANY,
                    "errors": ANY,
                },
            )
        ),
        "rate_limit": maybe(
            st.sampled_from(["30/m", "1/s", "999999999.999999999/s", "9" * 400 + "/m"])
        ),
        "priority": maybe(st.integers(-1, 12)),
    },
)
POOL = st.fixed_dictionaries(
    {},
    optional={
        "queues": maybe(st.lists(maybe(NAMES), max_size=3)),
        "concurrency": maybe(st.integers(-1, 600)),
        "pool": maybe(st.sampled_from(["prefork", "threads", "solo"])),
        "autoscale": maybe(
            st.fixed_dictionaries(
                {}, optional={"min": maybe(st.integers(-1, 9)), "max": maybe(st.integers(-1, 9))}
            )
        ),
        "max_memory_per_child": ANY,
        "replicas": maybe(
            st.fixed_dictionaries(
                {}, optional={"min": maybe(st.integers(-1, 9)), "max": maybe(st.integers(-1, 9))}
            )
        ),
    },
)
QUEUES = st.fixed_dictionaries(
    {"version": maybe(st.just(1))},
    optional={
        "broker": maybe(
            st.fixed_dictionaries(
                {}, optional={"url": ANY, "result_backend": ANY, "visibility_timeout": DURATION}
            )
        ),
        "defaults": maybe(POLICY),
        "queues": maybe(
            st.dictionaries(
                st.one_of(NAMES, st.text(max_size=3)),
                maybe(st.fixed_dictionaries({"priority": maybe(st.integers(-1, 12))})),
                max_size=4,
            )
        ),
        "pools": maybe(st.dictionaries(NAMES, maybe(POOL), max_size=3)),
        "tasks": maybe(
            st.dictionaries(st.sampled_from(["t.a", "t.b", "bad-name"]), maybe(POLICY), max_size=3)
        ),
    },
)
SCHEDULES = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "timezone": maybe(st.sampled_from(["UTC", "Europe/Berlin", "Bad/Zone"])),
        "schedules": maybe(
            st.dictionaries(
                st.sampled_from(["a", "b", "-x"]),
                maybe(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "task": maybe(st.sampled_from(["t.a", "t.b", "nope"])),
                            "cron": maybe(
                                st.sampled_from(
                                    ["*/5 * * * *", "0 0 30 2 *", "@daily", "0 2 * * *"]
                                )
                            ),
                            "every": DURATION,
                            "catch_up": DURATION,
                            "jitter": DURATION,
                            "timezone": ANY,
                            "queue": ANY,
                            "overlap": ANY,
                            "enabled": ANY,
                        },
                    )
                ),
                max_size=3,
            )
        ),
    },
)


def as_yaml(data: object) -> bytes:
    # JSON is YAML (flow style); spell the non-finite floats the YAML way.
    text = json.dumps(data).replace("-Infinity", "-.inf").replace("Infinity", ".inf")
    return text.replace("NaN", ".nan").encode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queues=QUEUES, schedules=SCHEDULES)
def test_schema_shaped_configs_only_ever_produce_diagnostics(
    fuzz_dir: Path, queues: object, schedules: object
) -> None:
    written = {}
    for name, data in (("queues.yaml", queues), ("schedules.yaml", schedules)):
        raw = as_yaml(data)
        (fuzz_dir / name).write_bytes(raw)
        written[display_path(fuzz_dir / name)] = raw
    result = validate(fuzz_dir, {})
    assert_well_formed(result.report.diagnostics, written)
    assert_renders(result.report)

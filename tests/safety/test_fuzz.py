"""Property tests for every door that outside bytes come through.

The cache file (read by other programs and written by crashed runs), config.toml (written by
people) and the control channel (any local process can connect) must turn every input into
their one documented error, never into a traceback.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from channel import authenticated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trayapp import cache, config, control

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "cache" / "example.json").read_text())
BOUNDED = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CACHE_WORDS = [
    "schema_version", "written_at", "warmer", "projects", "cycle", "checks", "kind", "region",
    "metric", "status", "limit", "usage", "fetched_at", "error", "pid", "level", "id", "done",
    "total", "ok", "absent", "pending", "gpu", "c3", "my-project",
]  # fmt: skip
TIMES = [
    "2026-11-24T10:00:00.123+00:00", "2026-11-24T10:00:00Z", "2026-11-24", "0001-01-01T00:00:00",
    "9999-12-31T23:59:59+14:00", "not a time", "", "2026-02-30T00:00:00+00:00",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(CACHE_WORDS + TIMES)
)
keys = st.sampled_from(CACHE_WORDS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def exercise(snap: cache.Snapshot) -> None:
    """Everything a reader may ask of a snapshot that parse() accepted."""
    now = time.time()
    assert isinstance(snap.written_at, str)
    assert isinstance(snap.warmer, dict)
    for project in snap.projects:
        snap.cycle(project)
        for check in snap.checks(project):
            snap.get(project, check["region"], check["metric"])
            cache.is_fresh(check, cache.DEFAULT_MAX_AGE_S, now)
        snap.coverage(project)
        snap.coverage(project, 60.0, now)
        snap.is_warm(project)
        snap.is_complete(project, 10**9, now)
    snap.checks()
    snap.is_warm()
    snap.is_complete()


def parse_or_cache_error(raw: bytes) -> None:
    try:
        snap = cache.parse(raw)
    except cache.CacheError as exc:
        assert exc.reason in ("corrupt", "schema")
        assert "\n" not in str(exc)
        return
    exercise(snap)


# -- the cache file ----------------------------------------------------------------------------


@BOUNDED
@given(st.binary(max_size=2000))
def test_cache_parse_of_arbitrary_bytes(raw):
    parse_or_cache_error(raw)


@BOUNDED
@given(json_values)
def test_cache_parse_of_arbitrary_json(value):
    parse_or_cache_error(json.dumps(value).encode())


checks = st.fixed_dictionaries(
    dict.fromkeys(cache.CHECK_KEYS, json_values),
    optional={"extra": json_values},
) | st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["gpu", "c3"]) | json_values,
        "region": st.text(max_size=5),
        "metric": st.text(max_size=5),
        "status": st.sampled_from(cache.STATUSES),
        "limit": scalars,
        "usage": scalars,
        "fetched_at": st.sampled_from(TIMES) | scalars,
        "error": scalars,
    }
)
documents = st.fixed_dictionaries(
    {
        "schema_version": st.just(1),
        "written_at": st.sampled_from(TIMES) | scalars,
        "warmer": st.dictionaries(keys, json_values, max_size=4),
        "projects": st.dictionaries(
            st.text(max_size=6),
            st.fixed_dictionaries(
                {"cycle": st.dictionaries(keys, scalars, max_size=5), "checks": st.lists(checks)}
            )
            | json_values,
            max_size=3,
        ),
    }
)


@BOUNDED
@given(documents)
def test_cache_parse_of_documents_that_look_right(doc):
    parse_or_cache_error(json.dumps(doc).encode())


def _slots(node, out):
    """Every (container, key) in a document, so a mutation can hit any of them."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        out.append((node, key))
        if isinstance(value, dict | list):
            _slots(value, out)
    return out


@BOUNDED
@given(st.data())
def test_cache_parse_of_mutated_example(data):
    doc = copy.deepcopy(EXAMPLE)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        slots = _slots(doc, [])
        if not slots:
            break
        container, key = data.draw(st.sampled_from(slots), label="where")
        action = data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
        if action == "replace":
            container[key] = data.draw(json_values, label="value")
        elif action == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[data.draw(keys, label="new key")] = data.draw(json_values, label="value")
        else:
            container.append(data.draw(json_values, label="value"))
    raw = json.dumps(doc).encode()
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw)), label="length")]
    parse_or_cache_error(raw)


@pytest.mark.parametrize("where", ["schema_version", "status", "kind", "fetched_at"])
def test_cache_parse_of_deep_nesting(where):
    for depth in (10, 500, 900, 950, 990, 1000, 1100, 5000, 100_000):
        nested = "[" * depth + "]" * depth
        if where == "schema_version":
            raw = '{"schema_version": ' + nested + "}"
        else:
            doc = copy.deepcopy(EXAMPLE)
            doc["projects"]["my-project"]["checks"][0][where] = "@"
            raw = json.dumps(doc).replace('"@"', nested)
        parse_or_cache_error(raw.encode())


# -- config.toml -------------------------------------------------------------------------------

CONFIG_KEYS = [
    "projects", "interval_s", "rewarm_s", "timeout_s", "endpoint", "tone", "thresholds", "gpu",
    "c3", "notifications", "warn_ms", "slowish_ms", "slow_ms", "metrics", "regions", "metric",
    "enabled",
]  # fmt: skip
TOML_SCALARS = [
    "1", "0", "-1", "2.5", "1e400", "-1e400", "inf", "-inf", "nan", "+nan", "0x10", "1_000",
    "9" * 400, "9" * 5000, "true", "false", '"spicy"', '"plain"', '""', '"http://127.0.0.1:1"',
    '"https://x"', '"ftp://x"', "'single'", '"\\u0000"', "1979-05-27T07:32:00Z", "1979-05-27",
    "07:32:00", "2020-02-30", '"""multi\nline"""',
]  # fmt: skip


def toml_value(depth: int = 2) -> st.SearchStrategy[str]:
    base = st.sampled_from(TOML_SCALARS) | st.text(max_size=10).map(json.dumps)
    if depth == 0:
        return base
    inner = toml_value(depth - 1)
    return (
        base
        | st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
        | st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k} = {v}" for k, v in kv) + "}"
        )
    )


toml_line = (
    st.tuples(st.sampled_from(CONFIG_KEYS) | st.text(max_size=6), toml_value()).map(
        lambda kv: f"{kv[0]} = {kv[1]}"
    )
    | st.sampled_from(CONFIG_KEYS).map(lambda k: f"[{k}]")
    | st.sampled_from(CONFIG_KEYS).map(lambda k: f"[[{k}]]")
    | st.text(max_size=20)
)
toml_documents = st.lists(toml_line, max_size=12).map("\n".join)


@pytest.fixture(scope="module")
def config_dir():
    path = Path(tempfile.mkdtemp(prefix="qt-cfg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def load_or_config_error(path: Path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        settings_ = config.load(path)
    except config.ConfigError as exc:
        assert str(exc)
        assert "\n" not in str(exc)
        return
    assert isinstance(settings_, config.Settings)


@BOUNDED
@given(st.binary(max_size=1000))
def test_config_load_of_arbitrary_bytes(config_dir, raw):
    load_or_config_error(config_dir / "bytes.toml", raw)


@BOUNDED
@given(toml_documents)
def test_config_load_of_toml_like_text(config_dir, text):
    load_or_config_error(config_dir / "text.toml", text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000,
        "a = " + "{b = " * 5000 + "1" + "}" * 5000,
        "interval_s = " + "9" * 400,
        "interval_s = " + "9" * 5000,
        "[thresholds]\nwarn_ms = " + "9" * 400,
        "interval_s = 1e400",
        "interval_s = nan",
    ],
)
def test_config_load_of_extreme_values(config_dir, text):
    (config_dir / "extreme.toml").write_text(text)
    with pytest.raises(config.ConfigError):
        config.load(config_dir / "extreme.toml")


config_values = st.recursive(
    scalars | st.sampled_from(["spicy", "plain", "http://127.0.0.1:9", "https://x", "p"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(CONFIG_KEYS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=15,
)


@BOUNDED
@given(st.dictionaries(st.sampled_from(CONFIG_KEYS) | st.text(max_size=6), config_values))
def test_config_from_mapping_of_arbitrary_dicts(data):
    try:
        result = config.from_mapping(data)
    except config.ConfigError:
        return
    assert isinstance(result, config.Settings)


# -- the control channel -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def control_server():
    if sys.platform == "win32":
        pytest.skip("the Unix socket variant is fuzzed")
    base = Path(tempfile.mkdtemp(prefix="qt-fz-"))
    calls: list[str] = []

    def handler(name):
        return lambda: calls.append(name) or {"pid": os.getpid()}

    server = control.ControlServer(
        {name: handler(name) for name in control.COMMANDS}, base / "run", timeout=1.0
    ).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def exchange(server: control.ControlServer, payload: bytes) -> dict | None:
    """Send ``payload`` after authenticating; the answer, or None if the server hung up."""
    with authenticated(server.directory) as conn:
        conn.send_bytes(payload)
        try:
            if not conn.poll(2.0):
                raise AssertionError("no answer and no hang-up within 2 s")
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return None
    answer = json.loads(raw)
    assert isinstance(answer, dict)
    assert isinstance(answer["ok"], bool)
    if not answer["ok"]:
        assert isinstance(answer["error"], str)
    return answer


def still_serves(server: control.ControlServer) -> None:
    started = time.monotonic()
    assert control.send("status", server.directory)["ok"] is True
    assert time.monotonic() - started < 1.0


@BOUNDED
@given(st.binary(max_size=5000))
def test_control_channel_with_arbitrary_bytes(control_server, payload):
    answer = exchange(control_server, payload)
    if len(payload) > control.MAX_MESSAGE:
        assert answer is None
    still_serves(control_server)


@BOUNDED
@given(json_values | st.fixed_dictionaries({"command": json_values}))
def test_control_channel_with_arbitrary_json(control_server, value):
    payload = json.dumps(value).encode()
    answer = exchange(control_server, payload)
    command = value.get("command") if isinstance(value, dict) else None
    if len(payload) <= control.MAX_MESSAGE:
        assert answer is not None
        assert answer["ok"] is (command in control.COMMANDS)
    still_serves(control_server)

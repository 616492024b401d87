"""``ecabinet.jsonguard``: the bounds of a JSON body, as a table (no database)."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from ecabinet import jsonguard

OK = None
CASES = [
    # body, what is refused (None: nothing) — at depth 32 and 1,000 values
    (b"{}", OK),
    (b"[]", OK),
    (b"1", OK),
    (b'"[[[[ {{{{ ,,,,"', OK),  # brackets and commas in a string are text
    (b'{"a": "say \\"[\\" twice"}', OK),  # an escaped quote does not end the string
    (b"[" * 32 + b"]" * 32, OK),
    (b"[" * 33 + b"]" * 33, jsonguard.JSONTooDeep),
    (b"[" * 5000 + b"]" * 5000, jsonguard.JSONTooDeep),
    (b'{"a":' * 3000 + b"1" + b"}" * 3000, jsonguard.JSONTooDeep),
    (b"[1," * 5000, jsonguard.JSONTooDeep),  # deep, and broken too: depth is said first
    (b"[" + b",".join([b"1"] * 1000) + b"]", OK),
    (b"[" + b",".join([b"1"] * 1001) + b"]", jsonguard.JSONTooManyItems),
    (b"[" + b",".join([b"[]"] * 600) + b"]", jsonguard.JSONTooManyItems),  # containers count
    (b'{"text": "' + b"a, b, c, " * 5000 + b'"}', OK),  # a long comment full of commas
    (b'{"a": "not closed', jsonguard.MalformedJSON),
    (b"[}", jsonguard.MalformedJSON),
    (b"[[]", jsonguard.MalformedJSON),
    (b"[]]", jsonguard.MalformedJSON),
    (b'{"a": ["x"}]', jsonguard.MalformedJSON),
]


@pytest.mark.parametrize(("body", "refused"), CASES, ids=lambda v: repr(v)[:40])
def test_the_bounds(body, refused):
    if refused is None:
        jsonguard.check(body, max_depth=32, max_items=1000)
    else:
        with pytest.raises(refused) as caught:
            jsonguard.check(body, max_depth=32, max_items=1000)
        assert caught.value.status == 400 and caught.value.code in (
            "json_too_deep", "json_too_many_fields", "malformed_request")


def test_what_passes_the_scan_is_parsed_as_json_loads_does():
    body = json.dumps({"title": "Phiên họp", "items": [[1, 2], {"a": None}], "n": 1.5}).encode()
    assert jsonguard.loads(body) == json.loads(body)
    for bad in (b"{'a': 1}", b'{"a" 1}', b'{"a": "\xff"}', b""):
        with pytest.raises(jsonguard.MalformedJSON):
            jsonguard.loads(bad)


def test_the_limits_are_the_settings(settings):
    settings.JSON_MAX_DEPTH, settings.JSON_MAX_ITEMS = 3, 5
    jsonguard.check(b"[[[1,2,3]]]")
    with pytest.raises(jsonguard.JSONTooDeep, match="3 levels"):
        jsonguard.check(b"[[[[]]]]")
    with pytest.raises(jsonguard.JSONTooManyItems, match="5 values"):
        jsonguard.check(b"[1,2,3,4,5,6]")


@pytest.mark.parametrize(("body", "refused"), [
    (b"[" * 500_000 + b"]" * 500_000, True), (b"[]," * 350_000, True), (b'["' + b"[,{" * 350_000 + b'"]', False),
], ids=["deep", "wide", "string"])
def test_a_hostile_megabyte_is_scanned_in_milliseconds(body, refused):
    started = time.perf_counter()
    try:
        jsonguard.check(body)
        outcome = False
    except jsonguard.JSONRefused:
        outcome = True
    assert outcome == refused
    assert time.perf_counter() - started < 0.1


# --- Linear time, whatever the shape (the scan once backtracked on an open string of escapes) ------

MIB = 1 << 20


def _honest_megabyte() -> bytes:
    """A real-looking JSON document of about 1 MiB: comments with escapes, brackets and commas."""
    row = {"text": 'Ý kiến "số %d": [a, b] {c} \\ kết thúc', "n": 1, "tags": [1, 2, None]}
    rows, size = [], 2
    while size < MIB:
        rows.append(dict(row, n=len(rows)))
        size += len(json.dumps(rows[-1]).encode()) + 1
    return json.dumps(rows).encode()


def _cpu(fn, body, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        with contextlib.suppress(jsonguard.JSONRefused, ValueError):
            fn(body)
        best = min(best, time.process_time() - started)
    return best


def _pad(head: bytes, unit: bytes, tail: bytes = b"") -> bytes:
    return head + unit * ((MIB - len(head) - len(tail)) // len(unit)) + tail


HOSTILE = [
    # body of about 1 MiB, the refusal expected (the default bounds: depth 32, 1,000 values)
    ("open string of escaped quotes", _pad(b'"', b'\\"'), jsonguard.MalformedJSON),
    ("closed string of escaped quotes", _pad(b'"', b'\\"', b'"'), None),
    ("open string of escaped backslashes", _pad(b'"', b"\\\\"), jsonguard.MalformedJSON),
    ("alternating backslash and quote", _pad(b"", b'\\"\\\\"'), jsonguard.JSONRefused),
    ("backslash runs then quotes", _pad(b'["', b'\\\\\\"\\\\\\\\"'), jsonguard.JSONTooManyItems),
    ("only quotes", _pad(b"", b'"'), jsonguard.JSONTooManyItems),
    ("only backslashes", _pad(b"", b"\\"), None),  # no structure: json.loads refuses it, at once
    ("escaped quote pairs", _pad(b"", b'"\\"'), jsonguard.JSONTooManyItems),
    ("a megabyte of [", _pad(b"", b"["), jsonguard.JSONTooDeep),
    ("a megabyte of {", _pad(b"", b'{"a":'), jsonguard.JSONTooDeep),
    ("deep then closed", b"[" * (MIB // 2) + b"]" * (MIB // 2), jsonguard.JSONTooDeep),
    ("a megabyte of commas", _pad(b"[", b","), jsonguard.JSONTooManyItems),
    ("many tiny strings", _pad(b"[", b'"",'), jsonguard.JSONTooManyItems),
    ("one long string of brackets", _pad(b'"', b"[{,\\u0022", b'"'), None),
    ("unicode escapes", _pad(b'"', b"\\u005c\\\"", b'"'), None),
]


@pytest.fixture(scope="module")
def loads_megabyte() -> float:
    return _cpu(json.loads, _honest_megabyte())


@pytest.mark.parametrize(("name", "body", "refused"), HOSTILE, ids=[case[0] for case in HOSTILE])
def test_a_hostile_megabyte_is_answered_right_in_linear_time(name, body, refused, loads_megabyte):
    assert len(body) > MIB - 16
    if refused is None:
        jsonguard.check(body, max_depth=32, max_items=1000)
    else:
        with pytest.raises(refused):
            jsonguard.check(body, max_depth=32, max_items=1000)
    # CPU time, the best of three, against json.loads reading an honest megabyte (not a wall clock):
    # the quadratic scan took seconds here, the linear one a fraction of json.loads.
    spent = _cpu(lambda b: jsonguard.check(b, max_depth=32, max_items=1000), body)
    assert spent < 20 * loads_megabyte + 0.005, (name, spent, loads_megabyte)


def test_the_scan_grows_linearly_with_an_open_string_of_escapes():
    """Doubling the body at most about doubles the work (the old pattern quadrupled it)."""
    small = _cpu(jsonguard.check, b'"' + b'\\"' * 64_000, repeat=5)
    large = _cpu(jsonguard.check, b'"' + b'\\"' * 512_000, repeat=5)
    assert large < 8 * 4 * small + 0.005, (small, large)  # 8 times the body: 64 times as long if quadratic


def _random_value(rng, depth):
    kind = rng.randrange(6 if depth < 6 else 3)
    if kind == 0:
        return rng.choice([None, True, False, rng.randrange(-10**6, 10**6), rng.random()])
    if kind in (1, 2):
        return "".join(rng.choice(['"', "\\", "[", "]", "{", "}", ",", "a", "ệ", "\n", "\\u", ":"])
                       for _ in range(rng.randrange(12)))
    if kind in (3, 4):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {_random_value(rng, 6) if rng.random() < 0.5 else str(i): _random_value(rng, depth + 1)
            for i in range(rng.randrange(5))}


def _depth_and_items(value):
    if isinstance(value, list):
        inner = [_depth_and_items(v) for v in value]
    elif isinstance(value, dict):
        inner = [_depth_and_items(v) for v in value.values()]
    else:
        return 0, 0
    return 1 + max((d for d, _ in inner), default=0), max(len(inner), 1) + sum(n for _, n in inner)


def test_on_generated_documents_the_scan_agrees_with_the_parsed_value():
    """Random documents (strings full of quotes, backslashes, brackets, commas): refused exactly when
    the parsed value nests deeper or holds more values than the bounds."""
    import random

    rng = random.Random(14)
    for _ in range(3000):
        value = _random_value(rng, 0)
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        depth, items = _depth_and_items(json.loads(body))
        max_depth, max_items = rng.randrange(1, 6), rng.randrange(1, 30)
        if depth > max_depth and items > max_items:  # either may be said first
            with pytest.raises((jsonguard.JSONTooDeep, jsonguard.JSONTooManyItems)):
                jsonguard.check(body, max_depth=max_depth, max_items=max_items)
        elif depth > max_depth:
            with pytest.raises(jsonguard.JSONTooDeep):
                jsonguard.check(body, max_depth=max_depth, max_items=max_items)
        elif items > max_items:
            with pytest.raises(jsonguard.JSONTooManyItems):
                jsonguard.check(body, max_depth=max_depth, max_items=max_items)
        else:
            jsonguard.check(body, max_depth=max_depth, max_items=max_items)

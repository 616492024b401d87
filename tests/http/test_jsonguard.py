"""``ecabinet.jsonguard``: the bounds of a JSON body, as a table (no database)."""

from __future__ import annotations

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

"""The Python ``SeqTracker`` (``bench/tablet.py``: the one the tests' and the benchmark's tablets
use) decides exactly as the tablets' own (``static/room/state.js``), run by Node.js on the same
messages: the cases of docs/protocol.md §2 and a few hundred random sequences (jumps, ``prev``,
duplicates, replays and ``resumed`` heads)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.tablet import SeqTracker

NODE = shutil.which("node")
SCRIPT = Path(__file__).resolve().parents[1] / "js" / "seq_tracker_trace.mjs"

CASES = [
    # The next seq applies; a jump buffers and resumes; "resumed" applies the buffer in order.
    {"start": 10, "steps": [["event", {"seq": 11}], ["event", {"seq": 14}], ["event", {"seq": 12}], ["resumed", 13]]},
    # "prev" at or below the last applied seq: no resume; a prev above it is a jump.
    {"start": 10, "steps": [["event", {"seq": 13, "prev": 10}], ["event", {"seq": 20, "prev": 13}],
                            ["event", {"seq": 25, "prev": 22}], ["resumed", 24]]},
    # Buffered events with prev drain once their predecessor is there.
    {"start": 10, "steps": [["event", {"seq": 15, "prev": 12}], ["event", {"seq": 18, "prev": 15}], ["resumed", 12]]},
    # Old and duplicate events are dropped.
    {"start": 10, "steps": [["event", {"seq": 9, "prev": 3}], ["event", {"seq": 11, "prev": 10}],
                            ["event", {"seq": 11, "prev": 10}]]},
    # A "resumed" short of the buffer leaves it waiting and asks again.
    {"start": 0, "steps": [["event", {"seq": 5}], ["event", {"seq": 9}], ["resumed", 3], ["resumed", 8]]},
]


def random_cases(count: int = 300, seed: int = 16) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for _ in range(count):
        seq = start = rng.randint(0, 20)
        steps = []
        for _step in range(rng.randint(1, 25)):
            if rng.random() < 0.15:
                steps.append(["resumed", seq + rng.randint(-2, 6)])
                continue
            seq += rng.choice([-3, -1, 0, 1, 1, 1, 2, 3, 5])
            event = {"seq": max(seq, 0)}
            if rng.random() < 0.5:
                event["prev"] = max(0, event["seq"] - rng.randint(1, 6))
            steps.append(["event", event])
        cases.append({"start": start, "steps": steps})
    return cases


def python_trace(case: dict) -> list:
    tracker = SeqTracker(case["start"])
    trace = []
    for kind, arg in case["steps"]:
        apply, resume = tracker.accept(dict(arg)) if kind == "event" else tracker.resumed(arg)
        trace.append([[e["seq"] for e in apply], resume, tracker.seq, tracker.resuming, sorted(tracker.buffer)])
    return trace


def test_python_and_javascript_trackers_decide_alike():
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is needed to run the tablets' SeqTracker: apt-get install -y nodejs")
        pytest.skip("Node.js runs the tablets' SeqTracker: apt-get install -y nodejs")
    cases = CASES + random_cases()
    result = subprocess.run([NODE, str(SCRIPT)], input=json.dumps(cases), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for case, js in zip(cases, json.loads(result.stdout), strict=True):
        assert python_trace(case) == js, case
    # The cases reach every branch: resumes asked, buffers left over, prev taken.
    traces = [python_trace(case) for case in cases]
    assert any(step[1] for trace in traces for step in trace)
    assert any(step[4] for trace in traces for step in trace)

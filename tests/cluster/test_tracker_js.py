"""The tablets' own ``SeqTracker`` (static/room/state.js) honours ``prev`` (tests/js/seq_tracker.mjs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE = shutil.which("node")
SCRIPT = Path(__file__).resolve().parents[1] / "js" / "seq_tracker.mjs"


def test_it_applies_events_whose_prev_it_has_and_resumes_on_other_jumps():
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is needed to run the tablets' SeqTracker: apt-get install -y nodejs")
        pytest.skip("Node.js runs the tablets' SeqTracker: apt-get install -y nodejs")
    result = subprocess.run([NODE, str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"

"""Fixtures of the live-room tests (the cast itself is in ``tests/conftest.py``)."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers

from ecabinet import realtime


@pytest.fixture(autouse=True)
def _fresh_channel_layer(monkeypatch):
    """Every test gets its own in-memory channel layer: groups joined by an earlier test's sockets
    (and messages queued for them) must not leak into the next one."""
    monkeypatch.setattr(channel_layers, "backends", {})


@pytest.fixture(autouse=True)
def _presence_at_once(monkeypatch):
    """Presence rows are written in batches gathered for ``PRESENCE_BATCH.gather`` (50 ms) after the
    snapshot (issue 19); the tests that count ``seq`` from a snapshot expect the socket's own
    ``presence.changed`` before the next write they make, as when each socket wrote its own row.
    Without the wait the batch goes at once (still through ``hotpath.heartbeats.together``);
    ``tests/room/test_presence_batches.py`` drives the real waits."""
    from hotpath import heartbeats
    from meetings import consumers

    monkeypatch.setattr(consumers, "PRESENCE_BATCH", heartbeats.Timing(gather=0.0, busy_gather=0.0, busy_items=1))


@pytest.fixture
def doorbells(monkeypatch) -> list[tuple[list[str], dict]]:
    """Record every doorbell ``ecabinet.realtime`` rings (groups, message), and still ring it."""
    rung: list[tuple[list[str], dict]] = []
    original = realtime._send

    def record(groups, message):
        rung.append((list(groups), message))
        original(groups, message)

    monkeypatch.setattr(realtime, "_send", record)
    return rung

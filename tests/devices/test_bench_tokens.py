"""The benchmark's fixtures sign its accounts in as devices named "bench"; a new run replaces the
previous run's devices instead of piling them up to API_MAX_DEVICES_PER_USER."""

from __future__ import annotations

from bench.fixtures import tokens
from ecabinet import devices
from ecabinet.models import Device

from ..factories import UserFactory


def test_each_run_signs_the_accounts_in_afresh(db, settings):
    settings.API_MAX_DEVICES_PER_USER = 2
    users = [UserFactory(username=f"b{i}") for i in range(3)]
    first = tokens([u.username for u in users])
    for _run in range(3):
        latest = tokens([u.username for u in users])
    assert set(latest) == {"b0", "b1", "b2"}
    for user in users:
        (device,) = Device.objects.filter(user=user)
        assert device.name == "bench" and device.digest == devices.digest(latest[user.username])
    assert first["b0"] != latest["b0"]

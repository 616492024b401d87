"""Hostile review of the reads compiled once per process (issue 19, ``ecabinet.prepared``): a token of
odd characters (NUL, quotes, the sentinel's own text, very long) is one value, never a second
reader's row; a revoked or expired device is refused on its very next read; the per-shape queries
(agenda item, ballots) give each reader their own rows, whichever reader compiled them first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ecabinet import devices, prepared
from ecabinet.models import Device
from meetings import permissions
from meetings.models import Meeting
from tests.factories import api_token

pytestmark = pytest.mark.django_db


ODD = ["", "\x00", prepared.SENTINEL_MARK + "devices.digest", "' OR 1=1 --", '"', "%", "_", "\\",
       "x" * 100_000, "\ud800", "\x00" * 64]


def test_odd_tokens_are_refused_and_never_resolve_to_someone_elses_device(cast):
    good = api_token(cast.member)
    for key in ODD:
        with pytest.raises(devices.TokenRefused):
            devices.authenticate_token(key)
        found = devices.resolve_tokens([key, good])
        assert found[key] == devices.INVALID_TOKEN
        assert found[good].user == cast.member
    # The digest of the sentinel text itself is a digest like any other: it matches no device.
    assert devices._devices_by_digest([prepared.SENTINEL_MARK + "devices.digest"]) == []


def test_a_revoked_or_expired_device_is_refused_on_its_next_read(cast):
    key = api_token(cast.member)
    user, device = devices.authenticate_token(key)
    assert user == cast.member and devices.device_live(device.pk)
    Device.objects.filter(pk=device.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not devices.device_live(device.pk)
    with pytest.raises(devices.TokenRefused):
        devices.authenticate_token(key)
    other = api_token(cast.member2)
    _user, kept = devices.authenticate_token(other)
    devices.revoke_device(actor=cast.member2, device=kept)
    assert not devices.device_live(kept.pk)
    with pytest.raises(devices.TokenRefused):
        devices.authenticate_token(other)
    assert not devices.device_live(-730_194_702_001)  # the sentinel's own value is no device


def test_item_access_is_each_readers_own_whoever_compiled_it(cast):
    from ecabinet.errors import NotFound
    cast.set_status(Meeting.Status.IN_PROGRESS)
    # Compiled by the secretary's call first, then asked by a stranger: still NotFound.
    access, item = permissions.item_access(cast.secretary, cast.item.pk)
    assert item.pk == cast.item.pk and access.can_manage
    with pytest.raises(NotFound):
        permissions.item_access(cast.outsider, cast.item.pk)
    access, _item = permissions.item_access(cast.member, cast.item.pk)
    assert access.user == cast.member and access.participant.user == cast.member
    with pytest.raises(NotFound):
        permissions.item_access(cast.member, 10**12)

"""The token check of every API request and socket handshake (``ecabinet.devices.authenticate_token``)
reads its device by a query compiled once per process (issue 19: building it cost a sixth of the
fan-out POST). The row is read afresh each time: a device used a moment ago and then revoked, expired,
ended by a password change or whose account was deactivated is refused on its very next request, and
the prepared row is the ORM's."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from ecabinet import devices
from ecabinet.models import Device

from ..factories import api_token


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_prepared_device_and_account_are_the_orms(cast):
    for user in (cast.member, cast.secretary, cast.admin, cast.outsider):
        key = api_token(user)
        user_back, device = devices.authenticate_token(key)
        expected = Device.objects.select_related("user").get(digest=devices.digest(key))
        assert fields(device) == fields(expected) and fields(device.user) == fields(expected.user)
        assert user_back is device.user and device.user.pk == user.pk and not device._state.adding
    both = [api_token(cast.member2), api_token(cast.observer)]
    resolved = devices.resolve_tokens(both)  # several keys at once (hotpath.bulk_auth): the ORM's read
    assert {key: resolved[key].user.username for key in both} == {both[0]: "member02", both[1]: "guest"}


def test_a_check_costs_one_query_and_builds_none_after_the_first(cast, django_assert_num_queries):
    devices.authenticate_token(api_token(cast.member))
    key = api_token(cast.member2)
    built = mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("a query built per request"))
    with built, django_assert_num_queries(1):
        user, _device = devices.authenticate_token(key)
    assert user.pk == cast.member2.pk


@pytest.mark.parametrize("ending", ["revoked", "expired", "password_changed", "deactivated", "unknown"])
def test_a_device_used_a_moment_ago_is_refused_on_its_very_next_check(cast, ending):
    key = api_token(cast.member)
    user, device = devices.authenticate_token(key)
    assert user.pk == cast.member.pk
    code = "invalid_token"
    if ending == "revoked":
        devices.revoke_device(actor=cast.member, device=device)
    elif ending == "expired":
        Device.objects.filter(pk=device.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        code = "token_expired"
    elif ending == "password_changed":
        devices.change_password(user=cast.member, actor=cast.member, new_password="another-pw-1234")
    elif ending == "deactivated":
        type(cast.member).objects.filter(pk=cast.member.pk).update(is_active=False)
    else:
        key = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(devices.TokenRefused) as refused:
        devices.authenticate_token(key)
    assert refused.value.code == code


def test_a_sockets_heartbeat_check_reads_the_device_afresh_and_builds_no_query(cast, django_assert_num_queries):
    """``ecabinet.ws_auth.still_valid`` for a socket opened with a token (``device_live``)."""
    from ecabinet.ws_auth import still_valid

    live, expired, revoked = (devices.authenticate_token(api_token(cast.member, name))[1] for name in "abc")
    Device.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert still_valid({"device_id": live.pk})
    built = mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("a query built per heartbeat"))
    with built, django_assert_num_queries(3):
        assert [still_valid({"device_id": d.pk}) for d in (live, expired, revoked)] == [True, False, True]
    devices.revoke_device(actor=cast.member, device=revoked)
    assert not still_valid({"device_id": revoked.pk}) and not still_valid({"device_id": 10**9})

"""Ending access closes the room sockets opened with it, within a second (issue 15): a revoked
device's socket, every socket but the current session's after a password change, every socket after
a deactivation; and a socket cannot be opened with a credential that no longer opens the account."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie

import pytest
from django.conf import settings

from ecabinet import devices
from ecabinet.models import Device
from meetings.consumers import CLOSE_ACCESS_ENDED, CLOSE_FORBIDDEN
from meetings.models import Meeting, Presence

from ..factories import api_token
from .wsclient import ORIGIN, Tablet, call, cookie_headers, run

pytestmark = pytest.mark.django_db(transaction=True)


def token_socket(user) -> tuple[list, Device]:
    token = api_token(user)
    device = Device.objects.get(digest=devices.digest(token))
    return [(b"authorization", f"Token {token}".encode()), (b"origin", ORIGIN.encode())], device


def session_socket(user) -> tuple[list, str]:
    headers = cookie_headers(user)
    cookies = SimpleCookie(dict(headers)[b"cookie"].decode())
    return headers, cookies[settings.SESSION_COOKIE_NAME].value


async def opened(headers, meeting_id) -> Tablet:
    tablet = await Tablet(headers, meeting_id).open()
    assert (await tablet.recv())["type"] == "snapshot"
    return tablet


def test_revoking_a_device_closes_its_socket_within_a_second_and_no_other(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    (lost, lost_device), (kept, _d) = token_socket(cast.member), token_socket(cast.member)
    browser, _key = session_socket(cast.member)

    async def scenario():
        lost_tablet = await opened(lost, cast.meeting.pk)
        kept_tablet = await opened(kept, cast.meeting.pk)
        browser_tablet = await opened(browser, cast.meeting.pk)
        started = time.monotonic()
        await call(devices.revoke_device)(actor=cast.secretary, device=lost_device)
        assert await lost_tablet.closed_with(timeout=1) == CLOSE_ACCESS_ENDED
        assert time.monotonic() - started < 1
        assert await kept_tablet.quiet(0.3) and await browser_tablet.quiet(0.05)
        await kept_tablet.send({"type": "ping"})
        assert (await kept_tablet.recv())["type"] == "pong"
        again = Tablet(lost, cast.meeting.pk)  # the revoked token opens nothing any more
        assert await again.connect() == (False, CLOSE_FORBIDDEN)
        for tablet in (lost_tablet, kept_tablet, browser_tablet, again):
            await tablet.close()

    run(scenario)
    assert not Presence.objects.exists()


def test_a_password_change_keeps_the_current_sessions_socket_and_closes_the_others(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    (current, current_key), (other, _k) = session_socket(cast.member), session_socket(cast.member)
    tablet_headers, _device = token_socket(cast.member)
    witness_headers, _w = token_socket(cast.member2)

    async def scenario():
        here = await opened(current, cast.meeting.pk)
        there = await opened(other, cast.meeting.pk)
        tablet = await opened(tablet_headers, cast.meeting.pk)
        witness = await opened(witness_headers, cast.meeting.pk)
        started = time.monotonic()
        await call(devices.change_password)(user=cast.member, actor=cast.member, new_password="Mới-2026-an-toàn",
                                            keep_session_key=current_key)
        assert await there.closed_with(timeout=1) == CLOSE_ACCESS_ENDED
        assert await tablet.closed_with(timeout=1) == CLOSE_ACCESS_ENDED
        assert time.monotonic() - started < 1
        assert await here.quiet(0.3) and await witness.quiet(0.05)
        await here.send({"type": "ping"})
        assert (await here.recv())["type"] == "pong"
        for socket in (here, there, tablet, witness):
            await socket.close()

    run(scenario)


def test_deactivating_an_account_closes_all_its_sockets(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    browser, _key = session_socket(cast.member)
    tablet_headers, _device = token_socket(cast.member)

    async def scenario():
        sockets = [await opened(browser, cast.meeting.pk), await opened(tablet_headers, cast.meeting.pk)]
        started = time.monotonic()

        def deactivate():
            from django.db import transaction
            with transaction.atomic():
                cast.member.is_active = False
                cast.member.save(update_fields=["is_active"])
                devices.end_access(user=cast.member, actor=cast.admin, reason="deactivated")

        await call(deactivate)()
        for socket in sockets:
            assert await socket.closed_with(timeout=1) == CLOSE_ACCESS_ENDED
        assert time.monotonic() - started < 1
        for socket in sockets:
            await socket.close()

    run(scenario)
    assert not Device.objects.filter(user=cast.member).exists()


def test_a_socket_is_refused_once_its_session_has_ended(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    browser, _key = session_socket(cast.member)
    devices.end_access(user=cast.member, actor=cast.member, reason="revoked")

    async def scenario():
        tablet = Tablet(browser, cast.meeting.pk)
        assert await tablet.connect() == (False, CLOSE_FORBIDDEN)
        await tablet.close()

    run(scenario)


def test_a_socket_whose_credential_ends_while_it_opens_is_closed(cast, monkeypatch):
    """The credential is re-checked once the socket listens for its end: an end in between is seen."""
    cast.set_status(Meeting.Status.IN_PROGRESS)
    headers, device = token_socket(cast.member)
    from meetings import room
    real = room.audience_tokens

    def revoked_meanwhile(user, meeting_id):
        Device.objects.filter(pk=device.pk).delete()  # as if revoked by another process right now
        return real(user, meeting_id)

    monkeypatch.setattr(room, "audience_tokens", revoked_meanwhile)

    async def scenario():
        tablet = Tablet(headers, cast.meeting.pk)
        # Accepted and then closed with 4401 before any frame: the client reads why (a browser
        # reloads into the login screen) instead of a refused handshake it would retry.
        assert await tablet.connect() == (True, None)
        assert await tablet.closed_with(timeout=1) == CLOSE_ACCESS_ENDED

    run(scenario)


def test_logging_out_of_a_browser_closes_that_sessions_socket_only(cast):
    from django.test import Client

    cast.set_status(Meeting.Status.IN_PROGRESS)
    browser = Client()
    assert browser.login(username="member01", password="pw-for-tests")
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = [(b"cookie", cookie.encode()), (b"origin", ORIGIN.encode())]
    other, _key = session_socket(cast.member)

    async def scenario():
        here, there = await opened(headers, cast.meeting.pk), await opened(other, cast.meeting.pk)
        started = time.monotonic()
        await call(browser.post)("/logout/")
        assert await here.closed_with(timeout=1) == CLOSE_ACCESS_ENDED
        assert time.monotonic() - started < 1
        assert await there.quiet(0.3)
        await here.close()
        await there.close()

    run(scenario)

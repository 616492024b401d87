"""The devices screen (/account/devices/): the caller's devices with a sign-out button each, linked
from every page's header; the secretariat looks up a member's (a lost tablet)."""

from __future__ import annotations

import pytest
from django.test import Client

from ecabinet import devices
from ecabinet.models import AuditEntry, Device

from ..factories import api_token


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def device_of(token: str) -> Device:
    return Device.objects.get(digest=devices.digest(token))


def test_the_screen_lists_ones_devices_and_signs_one_out(cast):
    lost, kept = device_of(api_token(cast.member, "iPad cũ")), device_of(api_token(cast.member, "iPad mới"))
    api_token(cast.member2, "Máy của người khác")
    client = browser(cast.member)
    page = client.get("/account/devices/").content.decode()
    assert 'href="/account/devices/"' in client.get("/").content.decode()  # the header links to it
    assert "iPad cũ" in page and "iPad mới" in page and "Máy của người khác" not in page
    assert 'name="user"' not in page  # only the secretariat looks others up
    response = client.post(f"/account/devices/{lost.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/account/devices/"
    assert not Device.objects.filter(pk=lost.pk).exists() and Device.objects.filter(pk=kept.pk).exists()
    assert client.post(f"/account/devices/{lost.pk}/revoke/").status_code == 404


@pytest.mark.parametrize("who", ["member2", "pm", "admin", "outsider"])
def test_others_neither_see_nor_sign_out_ones_devices(cast, who):
    device = device_of(api_token(cast.member))
    client = browser(getattr(cast, who))
    assert client.get("/account/devices/", {"user": "member01"}).status_code == 404
    assert client.post(f"/account/devices/{device.pk}/revoke/").status_code == 404
    assert Device.objects.filter(pk=device.pk).exists()


def test_the_secretariat_signs_out_a_members_lost_tablet(cast):
    device = device_of(api_token(cast.member, "Máy tính bảng bị mất"))
    client = browser(cast.secretary)
    assert 'name="user"' in client.get("/account/devices/").content.decode()
    page = client.get("/account/devices/", {"user": "member01"}).content.decode()
    assert "Máy tính bảng bị mất" in page
    response = client.post(f"/account/devices/{device.pk}/revoke/")
    assert response["Location"] == "/account/devices/?user=member01"
    assert not Device.objects.filter(pk=device.pk).exists()
    assert AuditEntry.objects.get(action="auth.device_revoked").actor_id == cast.secretary.pk
    participants = client.get(f"/meetings/{cast.meeting.pk}/participants/").content.decode()
    assert "/account/devices/?user=member01" in participants


def test_the_screens_speak_vietnamese(cast, settings):
    settings.LANGUAGE_CODE = "vi"
    api_token(cast.member)
    client = browser(cast.member)
    assert "Thiết bị đang đăng nhập" in client.get("/account/devices/").content.decode()
    assert "Đổi mật khẩu" in client.get("/account/password/").content.decode()

"""The administrator's deactivation and password reset end the account's sessions and devices
through ``ecabinet.devices`` and are audited with the administrator as the actor (issue 15)."""

from __future__ import annotations

import pytest
from django.test import Client

from ecabinet.models import AuditEntry, Device, UserSession

from ..factories import api_token

PASSWORD = "pw-for-tests"


@pytest.fixture
def admin_client(cast):
    client = Client()
    assert client.login(username="admin", password=PASSWORD)
    return client


def member_browser(cast) -> Client:
    client = Client()
    assert client.login(username="member01", password=PASSWORD)
    return client


def change_form(user) -> dict:
    return {"username": user.username, "full_name": user.full_name, "email": user.email, "position": "",
            "ministry": user.ministry_id or "", "is_active": "on", "last_login_0": "", "last_login_1": "",
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"), "date_joined_1": "08:00:00"}


def test_deactivating_in_the_admin_ends_every_session_and_device(cast, admin_client):
    browser = member_browser(cast)
    api_token(cast.member)
    form = change_form(cast.member)
    del form["is_active"]
    response = admin_client.post(f"/admin/ecabinet/user/{cast.member.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    cast.member.refresh_from_db()
    assert not cast.member.is_active
    assert not Device.objects.filter(user=cast.member).exists()
    assert not UserSession.objects.filter(user=cast.member).exists()
    assert browser.get("/account/devices/").status_code == 302
    entry = AuditEntry.objects.get(action="auth.access_ended")
    assert (entry.actor_id, entry.data["reason"], entry.data["devices_revoked"]) == (cast.admin.pk, "deactivated", 1)


def test_other_admin_edits_end_nothing(cast, admin_client):
    api_token(cast.member)
    form = change_form(cast.member)
    form["position"] = "Bộ trưởng"
    assert admin_client.post(f"/admin/ecabinet/user/{cast.member.pk}/change/", form).status_code == 302
    assert Device.objects.filter(user=cast.member).count() == 1
    assert not AuditEntry.objects.filter(action="auth.access_ended").exists()


def test_a_password_reset_in_the_admin_ends_every_session_and_device(cast, admin_client):
    browser = member_browser(cast)
    api_token(cast.member)
    response = admin_client.post(f"/admin/ecabinet/user/{cast.member.pk}/password/", {
        "password1": "Mới-2026-an-toàn", "password2": "Mới-2026-an-toàn", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:3000]
    cast.member.refresh_from_db()
    assert cast.member.check_password("Mới-2026-an-toàn")
    assert not Device.objects.filter(user=cast.member).exists()
    assert browser.get("/account/devices/").status_code == 302
    entry = AuditEntry.objects.get(action="auth.access_ended")
    assert (entry.actor_id, entry.data["reason"]) == (cast.admin.pk, "password_reset")
    # The administrator's own session is not touched by resetting someone else's password.
    assert admin_client.get("/admin/").status_code == 200


def test_an_administrator_cannot_reset_their_own_password_and_nothing_ends(cast, admin_client):
    """Rule 2 of the separation of duties: one's own password is changed with the current one on the
    password screen; the refused reset leaves every session of the administrator in place."""
    other = Client()
    assert other.login(username="admin", password=PASSWORD)
    response = admin_client.post(f"/admin/ecabinet/user/{cast.admin.pk}/password/", {
        "password1": "Mới-2026-an-toàn", "password2": "Mới-2026-an-toàn", "usable_password": "true"})
    assert response.status_code == 200
    cast.admin.refresh_from_db()
    assert cast.admin.check_password(PASSWORD)
    assert admin_client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 200
    assert not AuditEntry.objects.filter(action="auth.access_ended").exists()

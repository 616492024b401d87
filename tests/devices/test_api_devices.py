"""Devices (issue 15): each token is a named device, stored hashed, expiring (sliding), listed and
revoked by its owner and by the secretariat; logout and a password change end access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from ecabinet import devices
from ecabinet.models import AuditEntry, Device, UserSession

from ..factories import UserFactory, api_token
from ..test_api_meetings import assert_error

PASSWORD = "pw-for-tests"
TOKEN = "/api/v1/auth/token"
DEVICES = "/api/v1/auth/devices/"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def sign_in(username="member01", **extra) -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": PASSWORD, **extra}, format="json",
                                HTTP_USER_AGENT="Ecabinet-iPad/3.1")
    assert response.status_code == 200, response.content
    return response.json()


def as_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


# -- issuing ------------------------------------------------------------------------------------------

def test_a_sign_in_makes_a_named_device_whose_token_is_stored_only_as_a_digest(cast):
    body = sign_in(device="iPad phòng họp")
    assert set(body) == {"token", "device_id", "expires_at"}
    device = Device.objects.get(pk=body["device_id"])
    assert device.user == cast.member and device.name == "iPad phòng họp"
    assert device.digest == devices.digest(body["token"]) and body["token"] not in device.digest
    # Nothing in the database holds the token itself.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM ecabinet_device")
        assert not any(body["token"] in str(value) for row in cursor.fetchall() for value in row)
    assert (device.expires_at - device.created_at) == timedelta(days=django_settings.API_TOKEN_IDLE_DAYS)
    assert as_token(body["token"]).get(DEVICES).status_code == 200
    # A second sign-in is a second device with a token of its own; the first keeps working.
    again = sign_in()
    assert again["token"] != body["token"] and again["device_id"] != body["device_id"]
    assert Device.objects.get(pk=again["device_id"]).name == "Ecabinet-iPad/3.1"  # from the User-Agent
    assert as_token(body["token"]).get(DEVICES).status_code == 200
    entry = AuditEntry.objects.filter(action="auth.device_issued").last()
    assert entry.actor_id == cast.member.pk and entry.object_id == str(again["device_id"])


def test_authtoken_is_gone(cast):
    assert "rest_framework.authtoken" not in django_settings.INSTALLED_APPS
    assert "authtoken_token" not in connection.introspection.table_names()
    admin = Client()
    admin.force_login(cast.admin)
    assert admin.get("/admin/authtoken/tokenproxy/").status_code == 404
    assert admin.get("/admin/ecabinet/device/").status_code == 404  # devices are not in the admin either


def test_a_device_name_is_bounded_and_defaults_to_api_client(cast):
    assert_error(APIClient().post(TOKEN, {"username": "member01", "password": PASSWORD, "device": "x" * 101},
                                  format="json"), 400, "text_too_long")
    body = APIClient().post(TOKEN, {"username": "member01", "password": PASSWORD}, format="json").json()
    assert Device.objects.get(pk=body["device_id"]).name == "API client"


def test_the_live_devices_of_an_account_are_bounded_expired_ones_go_first(cast, settings):
    settings.API_MAX_DEVICES_PER_USER = 2
    first, _second = sign_in(), sign_in()
    body = assert_error(APIClient().post(TOKEN, {"username": "member01", "password": PASSWORD}, format="json"),
                        409, "too_many_devices")
    assert "devices" in body["detail"]
    assert Device.objects.filter(user=cast.member).count() == 2
    Device.objects.filter(pk=first["device_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    third = sign_in()
    assert not Device.objects.filter(pk=first["device_id"]).exists()
    assert Device.objects.filter(user=cast.member).count() == 2 and third["token"]


# -- using ----------------------------------------------------------------------------------------------

def test_an_expired_or_unknown_token_is_refused_with_its_own_code(cast):
    body = sign_in()
    Device.objects.filter(pk=body["device_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = as_token(body["token"]).get(DEVICES)
    assert_error(response, 401, "token_expired")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(as_token("0" * 43).get(DEVICES), 401, "invalid_token")


def test_expiry_slides_at_most_once_per_refresh_interval_and_never_past_the_maximum(cast, settings):
    body = sign_in()
    device = Device.objects.get(pk=body["device_id"])
    client = as_token(body["token"])
    assert client.get(DEVICES).status_code == 200
    device.refresh_from_db()
    assert device.last_used_at == device.created_at  # within the interval: no write
    earlier = timezone.now() - timedelta(seconds=settings.API_TOKEN_REFRESH_SECONDS + 1)
    Device.objects.filter(pk=device.pk).update(last_used_at=earlier, expires_at=timezone.now() + timedelta(hours=1))
    assert client.get(DEVICES).status_code == 200
    device.refresh_from_db()
    assert device.last_used_at > earlier
    assert device.expires_at > timezone.now() + timedelta(days=settings.API_TOKEN_IDLE_DAYS - 1)
    cap = timezone.now() + timedelta(days=2)
    Device.objects.filter(pk=device.pk).update(last_used_at=earlier, absolute_expires_at=cap)
    assert client.get(DEVICES).status_code == 200
    device.refresh_from_db()
    assert device.expires_at == cap


# -- listing and revoking -------------------------------------------------------------------------------

def test_the_owner_lists_their_devices_with_the_current_one_marked(cast):
    first, second = sign_in(device="Tablet"), sign_in(device="Laptop")
    api_token(cast.member2)
    listed = as_token(second["token"]).get(DEVICES).json()
    assert {(d["id"], d["name"], d["current"]) for d in listed} == {
        (first["device_id"], "Tablet", False), (second["device_id"], "Laptop", True)}
    assert set(listed[0]) == {"id", "name", "created_at", "last_used_at", "expires_at", "current"}


def test_the_owner_revokes_a_device_its_token_stops_at_once(cast):
    lost, mine = sign_in(device="Lost"), sign_in(device="Mine")
    client = as_token(mine["token"])
    response = client.post(f"{DEVICES}{lost['device_id']}/revoke/", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 200 and response.json() == {"revoked": lost["device_id"]}
    assert_error(as_token(lost["token"]).get(DEVICES), 401, "invalid_token")
    # The same key again: the first answer, nothing changes; without it the device is gone.
    assert client.post(f"{DEVICES}{lost['device_id']}/revoke/", HTTP_IDEMPOTENCY_KEY="k1").json() == {
        "revoked": lost["device_id"]}
    assert_error(client.post(f"{DEVICES}{lost['device_id']}/revoke/"), 404, "not_found")
    entry = AuditEntry.objects.get(action="auth.device_revoked")
    assert entry.actor_id == cast.member.pk and entry.data["device_id"] == lost["device_id"]


@pytest.mark.parametrize("who", ["member2", "pm", "observer", "archivist", "outsider", "admin"])
def test_nobody_but_the_owner_and_the_secretariat_sees_or_revokes_a_device(cast, who):
    body = sign_in()
    caller = cast.client(getattr(cast, who))
    assert_error(caller.get(DEVICES, {"user": "member01"}), 404, "not_found")
    assert_error(caller.post(f"{DEVICES}{body['device_id']}/revoke/"), 404, "not_found")
    assert Device.objects.filter(pk=body["device_id"]).exists()
    assert not AuditEntry.objects.filter(action="auth.device_revoked").exists()


def test_the_secretariat_revokes_a_members_lost_tablet_but_not_the_administrators(cast):
    body = sign_in()
    secretary = cast.client(cast.secretary)
    listed = secretary.get(DEVICES, {"user": "member01"}).json()
    assert [(d["id"], d["current"]) for d in listed] == [(body["device_id"], False)]
    assert secretary.post(f"{DEVICES}{body['device_id']}/revoke/").status_code == 200
    assert_error(as_token(body["token"]).get(DEVICES), 401, "invalid_token")
    entry = AuditEntry.objects.get(action="auth.device_revoked")
    assert (entry.actor_id, entry.data["owner"]) == (cast.secretary.pk, "member01")
    admins = api_token(cast.admin)
    admin_device = Device.objects.get(digest=devices.digest(admins))
    assert_error(secretary.get(DEVICES, {"user": "admin"}), 404, "not_found")
    assert_error(secretary.post(f"{DEVICES}{admin_device.pk}/revoke/"), 404, "not_found")
    assert_error(secretary.get(DEVICES, {"user": "nobody"}), 404, "not_found")


def test_a_staff_account_is_an_administrators_too_for_the_secretariat(cast):
    """``has_admin_powers`` is the one definition of an administrator: staff without superuser included."""
    staff = UserFactory(username="helpdesk", full_name="Tô Thị Hạnh", is_staff=True)
    device = Device.objects.get(digest=devices.digest(api_token(staff)))
    secretary = cast.client(cast.secretary)
    assert_error(secretary.get(DEVICES, {"user": "helpdesk"}), 404, "not_found")
    assert_error(secretary.post(f"{DEVICES}{device.pk}/revoke/"), 404, "not_found")
    assert Device.objects.filter(pk=device.pk).exists()


# -- logout and password ----------------------------------------------------------------------------------

def test_api_logout_revokes_only_the_calling_device(cast):
    this, other = sign_in(), sign_in()
    assert as_token(this["token"]).post("/api/v1/auth/logout/").json() == {"logged_out": True}
    assert_error(as_token(this["token"]).get(DEVICES), 401, "invalid_token")
    assert as_token(other["token"]).get(DEVICES).status_code == 200


def test_html_logout_ends_the_session_and_is_audited(cast):
    browser = logged_in(cast.member)
    assert UserSession.objects.filter(user=cast.member).count() == 1
    browser.post("/logout/")
    assert not UserSession.objects.filter(user=cast.member).exists()
    assert browser.get("/account/devices/").status_code == 302
    assert AuditEntry.objects.filter(action="auth.logout", actor=cast.member).exists()


def test_api_password_change_ends_every_other_device_and_session(cast):
    this, other = sign_in(), sign_in()
    browser = logged_in(cast.member)
    client = as_token(this["token"])
    assert_error(client.post("/api/v1/auth/password/", {"old_password": "wrong", "new_password": "Mới-2026-an-toàn"},
                             format="json"), 400, "wrong_password")
    assert_error(client.post("/api/v1/auth/password/", {"old_password": PASSWORD, "new_password": "123"},
                             format="json"), 400, "weak_password")
    assert as_token(other["token"]).get(DEVICES).status_code == 200  # refusals changed nothing
    response = client.post("/api/v1/auth/password/", {"old_password": PASSWORD, "new_password": "Mới-2026-an-toàn"},
                           format="json", HTTP_IDEMPOTENCY_KEY="pw-1")
    assert response.json() == {"changed": True, "devices_signed_out": 1, "sessions_ended": 1}
    assert client.get(DEVICES).status_code == 200
    assert_error(as_token(other["token"]).get(DEVICES), 401, "invalid_token")
    assert browser.get("/account/devices/").status_code == 302
    cast.member.refresh_from_db()
    assert cast.member.check_password("Mới-2026-an-toàn")
    entry = AuditEntry.objects.get(action="auth.access_ended")
    assert entry.data["reason"] == "password_changed" and entry.actor_id == cast.member.pk
    from ecabinet.models import IdempotencyRecord
    assert "Mới-2026" not in str(IdempotencyRecord.objects.get(key="pw-1").__dict__)


def test_the_password_screen_keeps_this_session_and_ends_the_others(cast):
    here, elsewhere = logged_in(cast.member), logged_in(cast.member)
    token = api_token(cast.member)
    assert here.get("/account/password/").status_code == 200
    response = here.post("/account/password/", {"old_password": PASSWORD, "new_password1": "Mới-2026-an-toàn",
                                                "new_password2": "Mới-2026-an-toàn"})
    assert response.status_code == 302
    assert here.get("/account/devices/").status_code == 200
    assert elsewhere.get("/account/devices/").status_code == 302
    assert_error(as_token(token).get(DEVICES), 401, "invalid_token")
    assert UserSession.objects.filter(user=cast.member).count() == 1
    # The kept session is still the one recorded: ending access later finds it.
    assert UserSession.objects.get(user=cast.member).session_key == here.session.session_key


def test_the_password_screen_refuses_a_wrong_old_password(cast):
    here, elsewhere = logged_in(cast.member), logged_in(cast.member)
    response = here.post("/account/password/", {"old_password": "wrong", "new_password1": "Mới-2026-an-toàn",
                                                "new_password2": "Mới-2026-an-toàn"})
    assert response.status_code == 200
    assert elsewhere.get("/account/devices/").status_code == 200
    assert not AuditEntry.objects.filter(action="auth.access_ended").exists()


def test_a_login_forgets_the_users_sessions_that_ended_meanwhile(cast):
    from django.contrib.sessions.models import Session

    first = logged_in(cast.member)
    Session.objects.filter(session_key=first.session.session_key).delete()  # expired, cleared
    logged_in(cast.member)
    assert UserSession.objects.filter(user=cast.member).count() == 1

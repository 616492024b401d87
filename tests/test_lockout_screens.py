"""Where a sign-in lock is seen and how it is lifted (issue 15 point 3; ecabinet/lockout.py,
docs/security.md "Sign-in throttling and lockout"): the screens' message and the API's answer in the
caller's language, the admin login that has no budget of its own, and the early lift by an administrator
or the secretariat (command, service, admin action), audited in their name. The counting itself:
tests/test_lockout.py.
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from ecabinet import services
from ecabinet.errors import Forbidden
from ecabinet.models import AuditEntry

from .factories import UserFactory
from .test_lockout import HALL, locked_entries, screen_login, tablet_accounts, token

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(db):
    return tablet_accounts()


@pytest.mark.parametrize(("path", "surface"), [("/login/", "login")])
def test_the_screens_lock_with_a_message_saying_when(accounts, settings, path, surface):
    settings.LOCKOUT_ACCOUNT_FAILURES = 5
    user = accounts[0]
    if surface == "admin":
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    for _ in range(4):
        _, response = screen_login(user.username, "wrong", path=path)
        assert response.status_code == 200
    _, response = screen_login(user.username, "wrong", path=path)
    assert response.status_code == 429
    client, right = screen_login(user.username, path=path)
    for refused in (response, right):
        assert refused.status_code == 429 and 14 * 60 < int(refused["Retry-After"]) <= 15 * 60
        assert "Sign-in is paused; please try again in 15 minutes." in refused.content.decode()
    assert "_auth_user_id" not in client.session
    if surface == "login":
        assert 'data-code="account_locked"' in right.content.decode()
    entry = locked_entries()[-1]
    assert entry.actor_id == user.pk
    assert entry.data == {"address": HALL, "surface": surface, "by": "account", "failures": 5, "minutes": 15}


def test_the_screen_says_it_in_vietnamese(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    client = Client(REMOTE_ADDR=HALL)
    client.cookies["django_language"] = "vi"
    for _ in range(2):
        response = client.post("/login/", {"username": "tablet00", "password": "sai"})
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.content.decode()


@pytest.mark.parametrize(("language", "words"), [("en", "Too many failed sign-in attempts for this account"),
                                               ("vi", "Đăng nhập sai quá nhiều lần")])
def test_the_api_lock_answer_in_the_caller_s_language(accounts, settings, language, words):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    token("tablet00", "wrong")
    refused = token("tablet00", "wrong", language=language)
    assert refused.status_code == 429
    body = refused.json()
    assert set(body) == {"code", "detail"} and body["code"] == "account_locked"
    assert body["detail"].startswith(words), body


def test_the_api_and_the_screens_share_the_counters(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    token("tablet00", "wrong")
    screen_login("tablet00", "wrong")
    _, response = screen_login("tablet00", "wrong")
    assert response.status_code == 429
    assert token("tablet00").status_code == 429
    assert locked_entries()[-1].data["surface"] == "login"


def test_the_admin_login_is_the_login_screen_so_it_has_no_budget_of_its_own(accounts, settings):
    """/admin/login/ checks no password: it sends to /login/ (and its second factor), whose counters hold."""
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    user = accounts[0]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    for _ in range(5):
        _, response = screen_login(user.username, "wrong", path="/admin/login/")
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not locked_entries()
    screen_login(user.username, "wrong")
    _, response = screen_login(user.username, "wrong")
    assert response.status_code == 429


# --- lifting a lock early -----------------------------------------------------------------------------------


def test_an_administrator_lifts_a_lock_with_the_command_audited_in_their_name(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    admin = UserFactory(username="it-admin", is_superuser=True, is_staff=True)
    token("tablet00", "wrong"), token("tablet00", "wrong")
    assert token("tablet00").status_code == 429
    call_command("lift_signin_lock", "--by", "it-admin", "--username", "tablet00")
    assert token("tablet00").status_code == 200
    entry = AuditEntry.objects.filter(action="auth.lockout_lifted").get()
    assert entry.actor_id == admin.pk and entry.object_id == str(accounts[0].pk)
    assert entry.data == {"username": "tablet00", "address": "", "lifted": ["account"]}


def test_an_address_lock_is_lifted_by_address(accounts, settings):
    settings.LOCKOUT_ADDRESS_FAILURES = 3
    secretary = UserFactory(username="office", is_secretariat=True)
    for n in range(3):
        token(f"x{n}", "wrong")
    assert token("tablet00").status_code == 429
    assert services.signin_lock_lift(actor=secretary, address=HALL) == ["address"]
    assert token("tablet00").status_code == 200


def test_only_an_administrator_or_the_secretariat_may_lift(accounts):
    with pytest.raises(Forbidden):
        services.signin_lock_lift(actor=accounts[1], username="tablet00")
    with pytest.raises(CommandError):
        call_command("lift_signin_lock", "--by", "tablet01", "--username", "tablet00")
    with pytest.raises(CommandError):
        call_command("lift_signin_lock", "--by", "nobody", "--username", "tablet00")
    assert not AuditEntry.objects.filter(action="auth.lockout_lifted").exists()


def test_an_administrator_lifts_locks_from_the_admin_audited_in_their_name(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    admin = UserFactory(username="it-admin", is_superuser=True, is_staff=True)
    for name in ("tablet00", "tablet01"):
        token(name, "wrong"), token(name, "wrong")
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/ecabinet/user/", {"action": "lift_signin_lock",
                                                     "_selected_action": [accounts[0].pk, accounts[1].pk]},
                           follow=True)
    assert "2 locks lifted." in response.content.decode()
    assert token("tablet00").status_code == token("tablet01").status_code == 200
    entries = AuditEntry.objects.filter(action="auth.lockout_lifted")
    assert sorted(e.data["username"] for e in entries) == ["tablet00", "tablet01"]
    assert {e.actor_id for e in entries} == {admin.pk}

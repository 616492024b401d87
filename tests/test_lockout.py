"""Failed sign-ins are counted per account and per address and lock for a while; successes are never
counted (issue 15 point 3; ecabinet/lockout.py, docs/security.md "Sign-in throttling and lockout").

The three doors — the login screen, the admin login, ``POST /api/v1/auth/token`` — all meet the same
counters; the client's address is the connection's unless a trusted proxy wrote X-Forwarded-For.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ecabinet import lockout
from ecabinet.models import AuditEntry

from .factories import UserFactory
from .voting.conftest import race

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"
PASSWORD = "pw-for-tests"
HALL = "10.20.30.40"


def token(username: str, password: str = PASSWORD, *, remote: str = HALL, forwarded: str | None = None,
          language: str = "en"):
    client = APIClient()
    client.cookies["django_language"] = language
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def screen_login(username: str, password: str = PASSWORD, *, remote: str = HALL, path: str = "/login/"):
    client = Client(REMOTE_ADDR=remote)
    client.cookies["django_language"] = "en"
    return client, client.post(path, {"username": username, "password": password})


def tablet_accounts():
    """28 tablets' accounts (27 members and the secretary), password PASSWORD."""
    return [UserFactory(username=f"tablet{n:02d}") for n in range(28)]


@pytest.fixture
def accounts(db):
    return tablet_accounts()


@pytest.fixture
def clock(monkeypatch, settings):
    """Move time forward (the in-memory cache's expiry and the locks' ends read ``time.time``; Redis
    keeps its own time, so these tests count in memory)."""
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                      "LOCATION": "lockout-clock"}}
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def locked_entries():
    return list(AuditEntry.objects.filter(action="auth.locked_out").order_by("seq"))


# --- successes are not counted: a hall of tablets behind one address -----------------------------------


def test_28_tablets_behind_one_address_all_sign_in_within_seconds(accounts):
    started = time.monotonic()
    answers = [token(user.username).status_code for user in accounts]
    assert answers == [200] * 28
    # Each signs in again (a tablet restarted): still nothing counted.
    assert [token(user.username).status_code for user in accounts] == [200] * 28
    assert time.monotonic() - started < 20


def test_successes_are_never_counted_even_against_the_smallest_limits(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES, settings.LOCKOUT_ADDRESS_FAILURES = 1, 5
    assert [token(user.username).status_code for user in accounts] == [200] * 28
    assert [screen_login(user.username)[1].status_code for user in accounts[:10]] == [302] * 10


def test_28_tablets_with_typos_among_them_all_sign_in(accounts):
    for n, user in enumerate(accounts):
        for _ in range(n % 4):  # up to three typos each: 39 failures from the hall's address
            assert token(user.username, "typo").status_code == 401
        assert token(user.username).status_code == 200, user.username
    assert locked_entries() == []


def test_28_tablets_sign_in_on_the_screen_from_one_address(accounts):
    for user in accounts:
        client, response = screen_login(user.username)
        assert response.status_code == 302, user.username
        assert client.get("/").status_code == 200


# --- 30 wrong passwords lock the account, not the others ----------------------------------------------


def test_30_wrong_passwords_lock_that_account_and_not_the_others(accounts):
    victim, other = accounts[0], accounts[1]
    answers = [token(victim.username, f"guess-{n}").status_code for n in range(30)]
    assert answers[:29] == [401] * 29
    assert answers[29] == 429  # the 30th failure starts the lock
    wrong, right = token(victim.username, "guess-31"), token(victim.username)
    for refused in (wrong, right):
        assert refused.status_code == 429
        assert refused.json()["code"] == "account_locked"
        assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60
    # The right password is not told apart from a wrong one.
    assert right.json() == wrong.json()
    # From another address too: the lock is the account's.
    assert token(victim.username, remote="192.0.2.99").status_code == 429
    # Everyone else signs in, from the same address.
    assert token(other.username).status_code == 200
    assert [token(u.username).status_code for u in accounts[2:]] == [200] * 26


def test_the_lock_ends_after_the_cool_off_and_refused_attempts_do_not_lengthen_it(accounts, clock, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    victim = accounts[0].username
    for _ in range(3):
        token(victim, "wrong")
    clock(10 * 60)
    assert token(victim, "wrong").status_code == 429  # refused, not counted
    clock(5 * 60 + 1)
    assert token(victim).status_code == 200  # 15 minutes after the lock started, whatever was tried meanwhile


def test_failures_far_apart_are_forgotten_and_a_success_forgets_the_account_s(accounts, clock, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    victim = accounts[0].username
    token(victim, "wrong"), token(victim, "wrong")
    clock(16 * 60)  # longer than the cool-off after the latest failure
    token(victim, "wrong"), token(victim, "wrong")
    assert token(victim).status_code == 200
    _, response = screen_login(victim)  # the screen's success forgets the account's failures
    assert response.status_code == 302
    token(victim, "wrong"), token(victim, "wrong")
    assert token(victim).status_code == 200


def test_an_unknown_username_is_locked_like_a_real_one(accounts, settings):
    """The answer tells nothing about which accounts exist."""
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    real = [token(accounts[0].username, "wrong") for _ in range(4)]
    ghost = [token("no-such-minister", "wrong") for _ in range(4)]
    assert [r.status_code for r in real] == [r.status_code for r in ghost] == [401, 401, 429, 429]
    assert real[-1].json() == ghost[-1].json()
    assert [e.actor_id for e in locked_entries()] == [accounts[0].pk, None]


# --- per address ----------------------------------------------------------------------------------------


def test_failures_over_many_accounts_from_one_address_lock_the_address(accounts, settings):
    settings.LOCKOUT_ADDRESS_FAILURES = 40
    answers = [token(f"spray{n}", "Password1").status_code for n in range(40)]
    assert answers[:39] == [401] * 39 and answers[39] == 429
    refused = token(accounts[0].username)  # the right password of a real account, from that address
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert "network address" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
    assert token(accounts[0].username, remote="192.0.2.7").status_code == 200  # elsewhere: fine
    entry = locked_entries()[-1]
    assert entry.actor is None and entry.data["by"] == "address" and entry.data["address"] == HALL


def test_default_limits():
    from django.conf import settings

    assert (settings.LOCKOUT_ACCOUNT_FAILURES, settings.LOCKOUT_ADDRESS_FAILURES, settings.LOCKOUT_PIN_FAILURES,
            settings.LOCKOUT_COOLOFF_MINUTES) == (30, 100, 5, 15)
    assert settings.AUTHENTICATION_BACKENDS[0] == "ecabinet.lockout.LockoutBackend"


# --- the address: X-Forwarded-For only from a trusted proxy ---------------------------------------------


def test_without_a_proxy_a_forged_x_forwarded_for_gets_no_fresh_budget(accounts, settings):
    settings.LOCKOUT_ADDRESS_FAILURES = 10
    answers = [token(f"spray{n}", "x", forwarded=f"198.51.100.{n}").status_code for n in range(12)]
    assert answers[:9] == [401] * 9 and set(answers[9:]) == {429}


def test_a_caller_reaching_daphne_directly_cannot_choose_its_address(accounts, settings):
    """Behind nginx (API_NUM_PROXIES=1) the address nginx wrote is believed — but only from nginx."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    settings.LOCKOUT_ADDRESS_FAILURES = 10
    direct = [token(f"spray{n}", "x", remote="203.0.113.5", forwarded=f"198.51.100.{n}").status_code
              for n in range(11)]
    assert direct[:9] == [401] * 9 and set(direct[9:]) == {429}
    # Through the proxy: each client has its own budget, and the address nginx wrote is the one locked.
    through = [token(f"spray{n}", "x", remote="10.0.0.2", forwarded=f"198.51.100.{n}").status_code
               for n in range(11)]
    assert through == [401] * 11
    assert locked_entries()[-1].data["address"] == "203.0.113.5"


def test_behind_the_proxy_the_last_entry_is_the_address(accounts, settings, rf):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    request = rf.post(TOKEN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
    assert lockout.client_address(request) == "192.0.2.1"  # default TRUSTED_PROXIES: loopback
    request = rf.post(TOKEN, REMOTE_ADDR="192.0.2.50", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert lockout.client_address(request) == "192.0.2.50"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 0}
    request = rf.post(TOKEN, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert lockout.client_address(request) == "127.0.0.1"


# --- the store -------------------------------------------------------------------------------------------


def test_when_the_cache_is_away_sign_in_goes_on(accounts, monkeypatch, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2

    def broken():
        raise ConnectionError("redis away")

    monkeypatch.setattr(lockout, "_cache", broken)
    assert [token("tablet00", "wrong").status_code for _ in range(3)] == [401] * 3
    assert token("tablet00").status_code == 200


def test_client_login_without_a_request_still_meets_the_lock(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 2
    token("tablet00", "wrong"), token("tablet00", "wrong")
    assert Client().login(username="tablet00", password=PASSWORD) is False
    assert Client().login(username="tablet01", password=PASSWORD) is True


# --- at once -----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_failures_racing_lock_once_and_tablets_racing_all_sign_in(settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 10
    users = [UserFactory(username=f"tablet{n:02d}") for n in range(12)]
    answers = race([lambda: token("tablet00", "wrong").status_code for _ in range(16)]
                       + [lambda u=u: token(u.username).status_code for u in users[1:]])
    guesses, tablets = answers[:16], answers[16:]
    assert tablets == [200] * 11
    # At most 9 plain failures: every answer given once the 10th counted failure made the lock is 429.
    assert guesses.count(401) <= 9 and set(guesses) <= {401, 429} and 429 in guesses
    assert token("tablet00").status_code == 429
    assert len(locked_entries()) == 1


def test_a_complete_api_sign_in_forgets_the_account_s_failures(accounts, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    token("tablet00", "wrong"), token("tablet00", "wrong")
    assert token("tablet00").status_code == 200  # the typos are forgotten ...
    token("tablet00", "wrong"), token("tablet00", "wrong")
    assert token("tablet00").status_code == 200  # ... so two more do not lock
    assert not locked_entries()


def test_guessing_one_s_current_password_to_change_it_counts_and_locks(accounts, settings):
    """A stolen session or token cannot guess the current password without limit (to take the
    account over by changing it): each wrong one is a failed sign-in of the account."""
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    api = APIClient(REMOTE_ADDR=HALL, HTTP_AUTHORIZATION=f"Token {token('tablet00').json()['token']}")
    browser, _ = screen_login("tablet00")  # both signed in first: a sign-in forgets the failures before it
    change = {"old_password": "guess", "new_password": "Mật-khẩu-mới-2026"}
    assert api.post("/api/v1/auth/password/", change, format="json").json()["code"] == "wrong_password"
    screen = browser.post("/account/password/", {"old_password": "guess", "new_password1": "Mật-khẩu-mới-2026",
                                                 "new_password2": "Mật-khẩu-mới-2026"})
    assert screen.status_code == 200 and "incorrect" in screen.content.decode()
    api.post("/api/v1/auth/password/", change, format="json")
    right = api.post("/api/v1/auth/password/", dict(change, old_password=PASSWORD), format="json")
    assert right.status_code == 429, right.content
    assert right.json()["code"] == "account_locked"
    assert "Retry-After" in right
    accounts[0].refresh_from_db()
    assert accounts[0].check_password(PASSWORD)
    assert locked_entries()[-1].data["surface"] == "api"

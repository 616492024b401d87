"""``hotpath.bulk_auth``: the user DRF would find for each request, or None ("let DRF answer"),
for a whole batch at once. Every case is checked against DRF's own authentication of the API on
the same request: whatever bulk_auth accepts, DRF accepts as the same user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.views import APIView

from hotpath import bulk_auth

from ..factories import UserFactory, api_token

PATH = "/api/v1/motions/1/votes/"


def drf_user(request):
    """What the API's DRF authentication makes of ``request`` (None: refused or anonymous)."""
    SessionMiddleware(lambda r: None).process_request(request)
    AuthenticationMiddleware(lambda r: None).process_request(request)
    try:
        view = APIView()  # the API's configured parsers and authenticators (settings.REST_FRAMEWORK)
        user = Request(request, parsers=view.get_parsers(), authenticators=view.get_authenticators()).user
    except APIException:
        return None
    return user if user.is_authenticated else None


def logged_in(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def post(*, token: str | None = None, authorization: str | None = None, session: str | None = None,
         csrf: str | None = None, csrf_header: str | None = None):
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    if csrf_header is not None:
        headers["HTTP_X_CSRFTOKEN"] = csrf_header
    request = RequestFactory().post(PATH, b'{"choice":"yes"}', content_type="application/json", **headers)
    if session is not None:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = session
    if csrf is not None:
        request.COOKIES[settings.CSRF_COOKIE_NAME] = csrf
    return request


def both(make):
    """bulk_auth's and DRF's verdicts on two copies of the same request."""
    bulk = bulk_auth.authenticate_many([make()])[0]
    return bulk, drf_user(make())


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def test_it_accepts_a_valid_token_as_drf_does(alice):
    key = api_token(alice)
    for header in (f"Token {key}", f"token {key}", f"TOKEN  {key}"):
        bulk, drf = both(lambda header=header: post(authorization=header))
        assert bulk == drf == alice, header


@pytest.mark.parametrize("header", ["Token", "Token a b", "Bearer abc", "Token \xe9"])
def test_it_leaves_malformed_headers_to_drf(alice, header):
    bulk, _drf = both(lambda: post(authorization=header))
    assert bulk is None


def test_it_refuses_unknown_tokens_and_disabled_accounts_like_drf(alice):
    key = api_token(alice)
    assert both(lambda: post(token="0" * 40)) == (None, None)
    alice.is_active = False
    alice.save()
    assert both(lambda: post(token=key)) == (None, None)


def test_it_accepts_a_session_with_its_csrf_token_as_drf_does(alice):
    session, secret = logged_in(alice), _get_new_csrf_string()
    assert both(lambda: post(session=session, csrf=secret, csrf_header=secret)) == (alice, alice)


@pytest.mark.parametrize("header", [None, "x" * 32])
def test_it_refuses_a_session_without_its_csrf_token_like_drf(alice, header):
    session, secret = logged_in(alice), _get_new_csrf_string()
    assert both(lambda: post(session=session, csrf=secret, csrf_header=header)) == (None, None)


def test_it_refuses_expired_sessions_changed_passwords_and_disabled_accounts(alice):
    secret = _get_new_csrf_string()
    expired = logged_in(alice)
    store = SessionStore(session_key=expired)
    store.set_expiry(timezone.now() - timedelta(seconds=1))
    store.save()
    assert both(lambda: post(session=expired, csrf=secret, csrf_header=secret)) == (None, None)
    changed = logged_in(alice)
    alice.set_password("a-new-password-2026")
    alice.save()
    assert both(lambda: post(session=changed, csrf=secret, csrf_header=secret)) == (None, None)
    disabled = logged_in(alice)
    alice.is_active = False
    alice.save()
    assert both(lambda: post(session=disabled, csrf=secret, csrf_header=secret)) == (None, None)


def test_it_leaves_sessions_of_other_backends_and_unknown_keys_to_django(alice):
    secret = _get_new_csrf_string()
    other = logged_in(alice)
    store = SessionStore(session_key=other)
    store[BACKEND_SESSION_KEY] = "guardian.backends.ObjectPermissionBackend"
    store.save()
    assert bulk_auth.authenticate_many([post(session=other, csrf=secret, csrf_header=secret)]) == [None]
    assert bulk_auth.authenticate_many([post(session="no-such-session", csrf=secret, csrf_header=secret)]) == [None]
    assert both(lambda: post()) == (None, None)


def test_it_authenticates_a_whole_batch_in_a_few_queries(db, django_assert_max_num_queries):
    users = [UserFactory(username=f"tv{i:03d}") for i in range(30)]
    tokens = [api_token(u) for u in users[:20]]
    secret = _get_new_csrf_string()
    sessions = [logged_in(u) for u in users[20:]]
    requests = [post(token=t) for t in tokens] + [post(session=s, csrf=secret, csrf_header=secret) for s in sessions]
    with django_assert_max_num_queries(3):
        found = bulk_auth.authenticate_many(requests)
    assert found == users


def test_it_refuses_expired_and_revoked_tokens_like_drf(alice):
    from ecabinet.models import Device

    expired, revoked = api_token(alice), api_token(alice)
    first, second = Device.objects.filter(user=alice).order_by("pk")
    first.expires_at = timezone.now() - timedelta(seconds=1)
    first.save()
    second.delete()
    assert both(lambda: post(token=expired)) == (None, None)
    assert both(lambda: post(token=revoked)) == (None, None)


def test_a_batch_slides_the_expiry_of_its_devices_in_one_update(db, settings, django_assert_max_num_queries):
    from ecabinet.models import Device

    users = [UserFactory(username=f"sl{i:03d}") for i in range(10)]
    tokens = [api_token(u) for u in users]
    long_ago = timezone.now() - timedelta(seconds=settings.API_TOKEN_REFRESH_SECONDS + 5)
    Device.objects.filter(user__in=users).update(last_used_at=long_ago, expires_at=timezone.now() + timedelta(hours=1))
    with django_assert_max_num_queries(3):  # devices, the one update, users
        assert bulk_auth.authenticate_many([post(token=t) for t in tokens]) == users
    slid = Device.objects.filter(user__in=users)
    assert all(d.last_used_at > long_ago for d in slid)
    assert all(d.expires_at > timezone.now() + timedelta(days=settings.API_TOKEN_IDLE_DAYS - 1) for d in slid)
    with django_assert_max_num_queries(2):  # fresh now: no write
        assert bulk_auth.authenticate_many([post(token=t) for t in tokens]) == users

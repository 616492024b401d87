"""Token authentication, the error format and the OpenAPI schema of API v1 (DESIGN.md §5.2)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from .test_api_meetings import assert_error, url


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Failed sign-ins are counted in the cache (ecabinet.lockout), which outlives one test."""
    cache.clear()
    yield
    cache.clear()


def test_it_exchanges_good_credentials_for_a_token_that_authenticates(cast):
    client = APIClient()
    response = client.post("/api/v1/auth/token", {"username": "member01", "password": "pw-for-tests"}, format="json")
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    cast.set_status("published")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(url(cast.meeting)).status_code == 200
    # Each sign-in is a device of its own (issue 15): a new token, and the first one still works.
    again = APIClient().post("/api/v1/auth/token", {"username": "member01", "password": "pw-for-tests"},
                             format="json")
    assert again.json()["token"] != token
    assert client.get(url(cast.meeting)).status_code == 200


@pytest.mark.parametrize("credentials", [
    {"username": "member01", "password": "wrong"},
    {"username": "nobody", "password": "pw-for-tests"},
])
def test_it_refuses_bad_credentials(cast, credentials):
    response = APIClient().post("/api/v1/auth/token", credentials, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_it_refuses_a_token_for_an_inactive_account(cast):
    cast.member.is_active = False
    cast.member.save(update_fields=["is_active"])
    response = APIClient().post("/api/v1/auth/token", {"username": "member01", "password": "pw-for-tests"},
                                format="json")
    assert_error(response, 401, "invalid_credentials")


def test_it_refuses_a_wrong_token_and_no_credentials_in_the_error_format(cast):
    client = APIClient()
    body = client.get("/api/v1/meetings/").json()
    assert body["code"] == "not_authenticated" and set(body) == {"code", "detail"}
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = client.get("/api/v1/meetings/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_it_answers_protocol_errors_in_the_error_format(cast):
    client = cast.client(cast.secretary)
    assert_error(client.get(url(cast.meeting, "publish")), 405, "method_not_allowed")
    malformed = client.post("/api/v1/meetings/", data="{not json", content_type="application/json")
    assert_error(malformed, 400, "malformed_request")
    unsupported = client.post("/api/v1/meetings/", data="<xml/>", content_type="application/xml")
    assert_error(unsupported, 415, "unsupported_media_type")
    assert_error(client.get("/api/v1/meetings/999999/"), 404, "not_found")


def test_it_answers_an_unknown_api_path_in_the_error_format(cast):
    client = cast.client(cast.member)
    assert_error(client.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(client.post("/api/v1/meetings/1/no-such-action/", {}, format="json"), 404, "not_found")


def test_it_publishes_an_openapi_schema_listing_every_api_path(cast):
    from ecabinet.api.urls import urlpatterns

    response = cast.client(cast.secretary).get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    expected = set()

    def walk(patterns, prefix: str = "") -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):  # an include(): the app's own routes (voting.api_urls)
                walk(pattern.url_patterns, route)
                continue
            if route in ("schema/", "^.*$"):  # the schema itself, and the JSON 404 for unknown paths
                continue
            # drf-spectacular names a ``pk`` path parameter ``id``; the others keep their names.
            route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m[1] == "pk" else f"{{{m[1]}}}", route)
            expected.add("/api/v1/" + route)

    walk(urlpatterns)
    assert expected - set(schema["paths"]) == set()
    # The list page and a session of the list are two components, not one name for both.
    page = schema["paths"]["/api/v1/meetings/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page_name = page["$ref"].rsplit("/", 1)[1]
    assert "results" in schema["components"]["schemas"][page_name]["properties"]
    assert "results" not in schema["components"]["schemas"]["MeetingList"]["properties"]


# --- concurrency ------------------------------------------------------------------------------------


# --- The login's address and lockout: tests/test_lockout.py (issue 15) ------------------------------

def test_the_num_proxies_setting_comes_from_the_environment():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.API_NUM_PROXIES == 0

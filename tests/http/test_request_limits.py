"""Request limits before authentication, through the server's ASGI application
(``ecabinet.asgi.application``) as Daphne calls it: the body cap (``ecabinet.http_limits``) and the
bounds of JSON bodies (``ecabinet.jsonguard``, in ``JSONLimitsMiddleware`` and DRF's parser).

Every refusal leaves the stored data as it was. The vote path has its own tests
(``tests/voting/test_intake_limits.py``); the cap inside Daphne, ``test_daphne_guard`` and
``test_daphne_body_cap``."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest

from ecabinet import jsonguard
from ecabinet.api.parsers import JSONParser
from ecabinet.asgi import application
from meetings.models import Meeting
from tests.factories import api_token

from ..asgi import scope

MEETINGS = "/api/v1/meetings/"
TOKEN = "/api/v1/auth/token"
JSON = (b"content-type", b"application/json")


async def send_parts(path: str, parts: list[bytes], headers: list, *, app=application) -> tuple[dict, int]:
    """A request whose body comes in ``parts`` (each an ``http.request`` message, ``more_body`` but
    the last); the answer (status, headers, JSON) and how many body messages the application read."""
    queue = [{"type": "http.request", "body": part, "more_body": n < len(parts) - 1} for n, part in enumerate(parts)]
    read, messages = 0, []

    async def receive():
        nonlocal read
        if read < len(queue):
            read += 1
            return queue[read - 1]
        await asyncio.sleep(3600)

    async def send(message):
        messages.append(message)

    await asyncio.wait_for(app(scope(path, method="POST", headers=headers), receive, send), 30)
    body = b"".join(m.get("body", b"") for m in messages[1:])
    answer = {"status": messages[0]["status"], "headers": dict(messages[0]["headers"]),
              "json": json.loads(body) if body else None}
    return answer, read


def post(path: str, body: bytes, headers: list) -> dict:
    length = (b"content-length", str(len(body)).encode())
    return asyncio.run(send_parts(path, [body], [length, *headers]))[0]


def deep(levels: int) -> bytes:
    return b'{"title": ' + b"[" * levels + b"]" * levels + b"}"


def many(values: int) -> bytes:
    return b'{"title": [' + b",".join([b"1"] * values) + b"]}"


@pytest.fixture
def secretary(transactional_db, cast) -> list:
    """The secretary's token header (committed: Django answers on a thread of its own)."""
    return [(b"authorization", f"Token {api_token(cast.secretary)}".encode())]


# --- the body cap ---------------------------------------------------------------------------------

def test_a_content_length_over_the_cap_is_answered_413_without_reading_the_body(settings):
    answer, read = asyncio.run(send_parts(TOKEN, [b"x" * 10], [
        JSON, (b"content-length", str(settings.HTTP_MAX_BODY_BYTES + 1).encode()), (b"cookie", b"django_language=en")]))
    assert answer["status"] == 413 and read == 0
    assert answer["json"] == {"code": "request_too_large",
                              "detail": "The request is too large: at most 1048576 bytes are accepted here."}
    assert answer["headers"][b"Content-Type"] == b"application/json"
    # Made outside Django, it still carries every security header Django's middleware would add.
    assert answer["headers"][b"Cache-Control"] == b"no-store, private"
    assert b"nonce" not in answer["headers"][b"Content-Security-Policy"]
    assert b"camera=()" in answer["headers"][b"Permissions-Policy"]
    assert answer["headers"][b"X-Content-Type-Options"] == b"nosniff"


def test_the_413_is_in_vietnamese_by_default(settings):
    settings.LANGUAGE_CODE = "vi"
    answer, _read = asyncio.run(send_parts(TOKEN, [b""], [JSON, (b"content-length", b"99999999999")]))
    assert answer["status"] == 413 and answer["json"]["detail"].startswith("Yêu cầu quá lớn")


def test_a_body_without_a_length_is_cut_at_the_cap(settings):
    piece = b"x" * 65536
    parts = [piece] * 1000  # 64 MB were it all read
    answer, read = asyncio.run(send_parts(TOKEN, parts, [JSON]))
    assert answer["status"] == 413 and answer["json"]["code"] == "request_too_large"
    assert read == settings.HTTP_MAX_BODY_BYTES // len(piece) + 1  # not a message past the cap


def test_a_body_at_the_cap_is_read_and_answered_by_the_view(transactional_db, settings):
    body = b'{"username": "' + b"u" * (settings.HTTP_MAX_BODY_BYTES - 40) + b'", "password": "x"}'
    assert len(body) <= settings.HTTP_MAX_BODY_BYTES
    answer, _read = asyncio.run(send_parts(TOKEN, [body[:1000], body[1000:]], [JSON]))
    assert answer["status"] == 400  # Django's view: the username is too long, not the body


def test_an_upload_may_be_as_large_as_a_document_and_no_larger(db, settings):
    settings.HTTP_MAX_UPLOAD_BODY_BYTES = 3 * settings.HTTP_MAX_BODY_BYTES
    multipart = (b"content-type", b"multipart/form-data; boundary=b")
    upload = "/api/v1/agenda-items/1/documents/"
    piece = b"x" * 65536
    two_mib = [piece] * (2 * settings.HTTP_MAX_BODY_BYTES // len(piece))
    token = (b"authorization", b"Token " + b"0" * 40)  # credentials in form (Django refuses them: 401)
    answer, _read = asyncio.run(send_parts(upload, two_mib, [multipart, token]))
    assert answer["status"] == 401  # read whole and handed to the view
    answer, read = asyncio.run(send_parts(upload, two_mib * 2, [multipart, token]))
    assert answer["status"] == 413 and read == 3 * settings.HTTP_MAX_BODY_BYTES // len(piece) + 1
    # Not a multipart upload: the small cap, even on the upload path.
    answer, _read = asyncio.run(send_parts(upload, two_mib, [JSON, token]))
    assert answer["status"] == 413


@pytest.mark.parametrize("headers", [
    [], [(b"authorization", b"Basic eDp5")], [(b"authorization", b"Token")], [(b"cookie", b"sessionid=")],
    [(b"cookie", b"csrftoken=x; django_language=en")],
], ids=["none", "basic", "empty token", "empty session", "other cookies"])
def test_without_credentials_an_upload_has_the_small_cap(db, settings, headers):
    """Issue 14: a stranger could send eight 50 MB uploads at once; only a token or a session cookie
    opens the larger cap (their presence: they are checked by Django afterwards)."""
    settings.HTTP_MAX_UPLOAD_BODY_BYTES = 3 * settings.HTTP_MAX_BODY_BYTES
    multipart = (b"content-type", b"multipart/form-data; boundary=b")
    upload = "/api/v1/agenda-items/1/documents/"
    piece = b"x" * 65536
    two_mib = [piece] * (2 * settings.HTTP_MAX_BODY_BYTES // len(piece))
    declared = (b"content-length", str(len(piece) * len(two_mib)).encode())
    answer, read = asyncio.run(send_parts(upload, two_mib, [multipart, declared, *headers]))
    assert answer["status"] == 413 and read == 0  # from the headers, not a byte read
    assert str(settings.HTTP_MAX_BODY_BYTES) in answer["json"]["detail"]
    answer, read = asyncio.run(send_parts(upload, two_mib, [multipart, *headers]))  # no length: cut at the cap
    assert answer["status"] == 413 and read == settings.HTTP_MAX_BODY_BYTES // len(piece) + 1
    answer, read = asyncio.run(send_parts(upload, two_mib, [multipart, declared, (b"cookie", b"sessionid=abc")]))
    assert answer["status"] in (401, 403) and read == len(two_mib)


# --- JSON bounds, before authentication -----------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "code"), [
    (deep(5000), 400, "json_too_deep"),
    (deep(33), 400, "json_too_deep"),
    (many(1001), 400, "json_too_many_fields"),
    (b'{"title": [1, 2}', 400, "malformed_request"),
    (b'{"title": "not closed}', 400, "malformed_request"),
])
@pytest.mark.parametrize("who", ["stranger", "secretary"])
def test_json_too_deep_too_large_or_broken_is_refused_to_anyone(cast, secretary, body, status, code, who):
    meetings = Meeting.objects.count()
    answer = post(MEETINGS, body, [JSON, *(secretary if who == "secretary" else [])])
    assert (answer["status"], answer["json"]["code"]) == (status, code)
    assert answer["json"]["detail"]
    assert Meeting.objects.count() == meetings


def _megabyte(settings, head: bytes, unit: bytes) -> bytes:
    return head + unit * ((settings.HTTP_MAX_BODY_BYTES - len(head)) // len(unit))


@pytest.mark.parametrize("shape", ["open string of escapes", "escaped backslashes", "only quotes", "brackets"])
def test_a_hostile_megabyte_to_the_login_is_answered_400_at_once(transactional_db, settings, shape):
    """A stranger's body of the largest size, shaped to make a backtracking scan quadratic (it took
    18 s for 56 KB and stalled the server): a 400 in about the time an honest body of that size takes."""
    body = {"open string of escapes": _megabyte(settings, b'"', b'\\"'),
            "escaped backslashes": _megabyte(settings, b'{"username": "', b"\\\\"),
            "only quotes": _megabyte(settings, b"", b'"'),
            "brackets": _megabyte(settings, b"", b"[{"),
            }[shape]
    assert settings.HTTP_MAX_BODY_BYTES - 8 < len(body) <= settings.HTTP_MAX_BODY_BYTES
    honest = b'{"username": "' + b"u" * (settings.HTTP_MAX_BODY_BYTES - 40) + b'", "password": "x"}'
    started = time.process_time()
    assert post(TOKEN, honest, [JSON])["status"] == 400
    baseline = time.process_time() - started
    started = time.process_time()
    answer = post(TOKEN, body, [JSON])
    spent = time.process_time() - started
    assert answer["status"] == 400
    assert answer["json"]["code"] in ("malformed_request", "json_too_deep", "json_too_many_fields")
    assert spent < 5 * baseline + 0.5, (spent, baseline)


def test_json_within_the_bounds_reaches_the_view(cast, secretary):
    answer = post(MEETINGS, deep(30), [JSON, *secretary])
    assert (answer["status"], answer["json"]["code"]) == (400, "invalid")  # the view's own check of title
    answer = post(MEETINGS, many(999), [JSON, *secretary])
    assert (answer["status"], answer["json"]["code"]) == (400, "invalid")


def test_bad_utf8_and_bad_syntax_are_400_not_500(cast, secretary):
    for body in (b'{"title": "\xff"}', b'{"title" 1}', b'{"title": NaN}'):
        answer = post(MEETINGS, body, [JSON, *secretary])
        assert (answer["status"], answer["json"]["code"]) == (400, "malformed_request"), body


def test_too_many_form_fields_is_a_400_with_a_code(cast, secretary):
    body = "&".join(f"f{n}=1" for n in range(1001)).encode()
    answer = post(MEETINGS, body, [(b"content-type", b"application/x-www-form-urlencoded"), *secretary])
    assert (answer["status"], answer["json"]["code"]) == (400, "too_many_fields")


def test_the_api_s_json_parser_has_the_bounds_itself():
    # Whatever the middleware list becomes: the parser is the one calling json.loads.
    with pytest.raises(jsonguard.JSONTooDeep):
        JSONParser().parse(io.BytesIO(deep(5000)))
    with pytest.raises(jsonguard.JSONTooManyItems):
        JSONParser().parse(io.BytesIO(many(5000)))
    assert JSONParser().parse(io.BytesIO('{"title": "Phiên họp"}'.encode())) == {"title": "Phiên họp"}

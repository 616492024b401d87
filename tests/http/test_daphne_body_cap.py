"""The body cap in a real Daphne process: a huge body is refused before it is read, chunked or not,
and the server's memory does not grow with it (issue 14: a 1.5 GB POST to ``auth/token`` took the
process from 249 MB to 1.7 GB, and it stayed there).

The server is the production entry point (``daphne ecabinet.asgi:application``); a database is
created for the uploads' forged credentials, which Django looks up. Bodies are made while they
are sent (``rawclient``), 300 MB each, so the test takes a few seconds; by hand, 1.5 GB was refused
in 10 ms with the server's
resident memory unchanged (docs/limits.md). Without the guard (``hotpath.daphne_guard``) Daphne
answers only after the last byte, and the body passes through its memory: these tests fail."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import daphne

from . import rawclient

TOKEN = "/api/v1/auth/token"
UPLOAD = "/api/v1/agenda-items/1/documents/"
MiB = 1024 * 1024
UPLOAD_CAP = 8 * MiB
def rss(pid: int) -> int:
    """Resident memory of a process, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(port, process) of a Daphne serving ``ecabinet.asgi:application``."""
    var_dir = tmp_path_factory.mktemp("daphne-body-cap")
    env = daphne.server_env(var_dir, HTTP_MAX_UPLOAD_BODY_BYTES=str(UPLOAD_CAP), HTTP_REFUSED_BODY_LINGER_SECONDS="2")
    # A database, for the forged credentials that the uploads carry (Django looks them up: 401).
    daphne.manage(env, "migrate", "-v0")
    with daphne.serving(env, var_dir) as (base, process):
        port = int(base.rsplit(":", 1)[1])
        for size in (1000, 500_000):  # warm up: the paths a refusal takes, and a body that is read
            rawclient.post(port, TOKEN, size)
        yield port, process


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_is_refused_before_it_is_read_and_memory_stays(server, chunked):
    port, process = server
    before = rss(process.pid)
    answer = rawclient.post(port, TOKEN, 300 * MiB, chunked=chunked)
    assert answer.status == 413, answer
    assert answer.json["code"] == "request_too_large"
    # Answered at once: the client had sent a few MB (socket buffers), not the 300.
    assert answer.sent < 32 * MiB and answer.seconds < 5
    time.sleep(0.3)
    assert rss(process.pid) - before < 4 * MiB
    assert rawclient.post(port, TOKEN, 2, first=b"{}").status == 400  # and the server serves on


FORGED_TOKEN = {"Authorization": "Token " + "0" * 40}  # credentials in form: Django refuses them (401)
SESSION = {"Cookie": "django_language=en; sessionid=not-a-session"}


@pytest.mark.parametrize("credentials", [FORGED_TOKEN, SESSION], ids=["token", "session cookie"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_may_carry_a_document_but_no_more(server, chunked, credentials):
    port, _process = server
    multipart = "multipart/form-data; boundary=b"
    accepted = rawclient.post(port, UPLOAD, UPLOAD_CAP - MiB, chunked=chunked, content_type=multipart,
                              headers=credentials)
    assert accepted.status in (401, 403)  # read whole, then refused by Django as any request is
    refused = rawclient.post(port, UPLOAD, 300 * MiB, chunked=chunked, content_type=multipart, headers=credentials)
    assert refused.status == 413 and refused.json["code"] == "request_too_large"
    assert str(UPLOAD_CAP) in refused.json["detail"]
    assert refused.sent < UPLOAD_CAP + 32 * MiB
    # A JSON body to the same path has the small cap.
    assert rawclient.post(port, UPLOAD, 2 * MiB, chunked=chunked, headers=credentials).status == 413


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_stranger_s_upload_gets_the_small_cap_at_once(server, chunked):
    """Issue 14: without credentials, eight 50 MB uploads at once took the server from 91 to 254 MB.
    Now a request without a token or a session cookie has the small cap on the upload paths too."""
    import concurrent.futures

    port, process = server
    multipart = "multipart/form-data; boundary=b"
    lookalikes = [{}, {"Authorization": "Basic eDp5"}, {"Authorization": "Token"}, {"Cookie": "sessionid="},
                  {"Cookie": "csrftoken=abc; django_language=vi"}, {"Authorization": "Bearer " + "0" * 40}]
    before = rss(process.pid)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: rawclient.post(port, UPLOAD, UPLOAD_CAP - MiB, chunked=chunked,
                                                         content_type=multipart,
                                                         headers=lookalikes[n % len(lookalikes)]), range(8)))
    for answer in answers:
        assert answer.status == 413 and answer.json["code"] == "request_too_large", answer
        assert str(1024 * 1024) in answer.json["detail"]
        assert answer.sent < UPLOAD_CAP - MiB or chunked  # answered from the headers, not after the body
    time.sleep(0.3)
    assert rss(process.pid) - before < 8 * MiB

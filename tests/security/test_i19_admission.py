"""A hostile caller against the admission queue of room sockets (``hotpath.admission``, issue 19
second round): floods without a credential, one credential opening hundreds of sockets, a line
longer than a process can answer, handshakes that go away while they wait or while they work. No
honest tablet may be kept out by them, and no place may be lost."""

from __future__ import annotations

import asyncio
import re

import pytest

from hotpath import admission
from tests.hotpath.recorder import Recorder as App

RETRY = re.compile(r"retry_after=(\d+)")  # what static/room/live.js reads in a 4429's reason


class Socket:
    """One handshake: its task and what the admission sent it."""

    def __init__(self, gate, n: int, headers: list) -> None:
        self.sent: list[dict] = []

        async def send(message):
            self.sent.append(message)

        self.task = asyncio.ensure_future(gate({"type": "websocket", "n": n, "headers": headers}, None, send))


def token(key: str) -> list:
    return [(b"authorization", f"Token {key}".encode()), (b"origin", b"http://127.0.0.1:8000")]


def cookie(sid: str) -> list:
    return [(b"cookie", f"csrftoken=abc; sessionid={sid}".encode())]


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def line_of(limit: int) -> tuple[App, admission.Admission]:
    """A recording application behind an admission that lets ``limit`` handshakes work at once."""
    app = App()
    return app, admission.Admission(app, limit=limit)


def finish(app: App, *ns: int) -> None:
    for n in ns:
        app.go.setdefault(n, asyncio.Event()).set()


def retry_of(each: Socket, kind: str) -> int:
    """The seconds a refused handshake is told to wait: accepted, then closed with 4429 and
    ``<kind> retry_after=N`` (what static/room/live.js reads)."""
    accept, close = each.sent
    assert accept == {"type": "websocket.accept"}
    assert close["code"] == admission.CLOSE_RATE_LIMITED and close["reason"].startswith(f"{kind} ")
    return int(RETRY.search(close["reason"]).group(1))


def assert_all_free(gate: admission.Admission, limit: int) -> None:
    line = gate.line()
    assert line.places._value == limit and not line.places._waiters
    assert line.waiting == 0 and line.held == {}


def test_a_flood_without_credentials_never_queues_and_the_honest_tablet_goes_first(settings):
    async def scenario():
        app, gate = line_of(1)
        working = Socket(gate, 0, token("honest-0"))
        await settle()
        # No cookie, a cookie without the session, an empty token, another scheme: all nobody.
        nobody = [[], [(b"cookie", b"csrftoken=x")], [(b"authorization", b"Token  ")],
                  [(b"authorization", b"Basic dXNlcjpwdw==")], [(b"cookie", b"sessionid=")]]
        flood = [Socket(gate, 100 + i, nobody[i % len(nobody)]) for i in range(500)]
        honest = Socket(gate, 1, cookie("honest-1"))
        await settle()
        for each in flood:
            assert each.task.done()
            assert each.sent == [{"type": "websocket.close", "code": admission.CLOSE_FORBIDDEN}]
        assert gate.line().waiting == 1  # the honest tablet alone waits
        finish(app, 0)
        await settle()
        assert app.entered == [0, 1]
        finish(app, 1)
        await asyncio.gather(working.task, honest.task)
        assert_all_free(gate, 1)

    asyncio.run(scenario())


def test_one_credential_takes_a_few_places_in_the_line_not_hundreds(settings):
    settings.WS_MAX_SOCKETS_PER_ACCOUNT = 3
    settings.WS_ADMISSION_RETRY_SECONDS = 7

    async def scenario():
        app, gate = line_of(1)
        working = Socket(gate, 0, token("other"))
        await settle()
        greedy = [Socket(gate, 100 + i, token("greedy")) for i in range(200)]
        honest = Socket(gate, 1, token("honest"))
        await settle()
        refused = [each for each in greedy if each.task.done()]
        assert len(refused) == 197
        assert {retry_of(each, "rate_limited") for each in refused} <= set(range(7, 15))
        assert gate.line().held == {"tother": 1, "tgreedy": 3, "thonest": 1}
        # The same person's cookie is another credential (the account is not known before the
        # database is asked), and a released place gives the credential its count back.
        finish(app, 0, 100, 101, 102, 1)
        await asyncio.gather(working.task, honest.task, *(each.task for each in greedy))
        assert app.entered == [0, 100, 101, 102, 1]
        again = Socket(gate, 2, token("greedy"))
        await settle()
        assert app.entered[-1] == 2
        finish(app, 2)
        await again.task
        assert_all_free(gate, 1)

    asyncio.run(scenario())


def test_the_line_is_bounded_and_the_refused_are_told_when_to_come_back_spread(settings):
    settings.WS_ADMISSION_QUEUE = 5
    settings.WS_ADMISSION_RETRY_SECONDS = 10

    async def scenario():
        app, gate = line_of(2)
        sockets = [Socket(gate, n, token(f"tablet-{n}")) for n in range(40)]
        await settle()
        assert app.entered == [0, 1]
        waiting = [s for s in sockets[2:] if not s.task.done()]
        busy = [s for s in sockets[2:] if s.task.done()]
        assert len(waiting) == 5 and len(busy) == 33
        waits = {retry_of(each, "busy") for each in busy}
        assert waits <= set(range(10, 21)) and len(waits) > 3  # spread, not all back at one second
        finish(app, *range(40))
        await asyncio.gather(*(s.task for s in sockets))
        assert app.entered == list(range(7))
        assert_all_free(gate, 2)

    asyncio.run(scenario())


def test_no_place_is_lost_however_a_handshake_ends(settings):
    async def scenario():
        app, gate = line_of(2)
        working = [Socket(gate, n, token(f"w{n}")) for n in range(2)]
        waiting = [Socket(gate, n, token(f"q{n}")) for n in range(2, 8)]
        await settle()
        for each in waiting[::2]:  # gone while queued (Daphne cancels an abandoned application)
            each.task.cancel()
        working[0].task.cancel()  # gone while working
        await settle()
        assert app.entered == [0, 1, 3]
        app.scopes[3]["fail"] = True  # the application raises
        finish(app, 3)
        await settle()
        admission.release(app.scopes[5])  # released by the consumer, then the socket lives on
        admission.release(app.scopes[5])
        await settle()
        assert app.entered == [0, 1, 3, 5, 7]
        finish(app, 1, 5, 7)
        results = await asyncio.gather(*(s.task for s in working + waiting), return_exceptions=True)
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 4
        assert sum(isinstance(r, RuntimeError) for r in results) == 1
        assert_all_free(gate, 2)
        fresh = [Socket(gate, n, token(f"f{n}")) for n in range(10, 12)]
        await settle()
        assert app.entered[-2:] == [10, 11]  # both places are there to take
        finish(app, 10, 11)
        await asyncio.gather(*(s.task for s in fresh))

    asyncio.run(scenario())


@pytest.mark.parametrize(("headers", "expected"), [
    ([(b"authorization", b"Token abc")], "tabc"),
    ([(b"authorization", b"token  abc ")], "tabc"),
    ([(b"cookie", b"sessionid=s1"), (b"authorization", b"Token abc")], "tabc"),  # the token wins (ws_auth)
    ([(b"cookie", b"a=1; sessionid=s1")], "ss1"),
    ([(b"cookie", b"a=1"), (b"cookie", b"sessionid=s1")], None),  # Channels reads the first cookie header
    ([(b"authorization", b"Bearer abc")], None),
    ([], None),
])
def test_the_credential_is_read_as_the_authentication_reads_it(headers, expected):
    assert admission.presented_credential({"headers": headers}) == expected

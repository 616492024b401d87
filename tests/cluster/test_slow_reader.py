"""A tablet that stops reading must not grow the server's memory without bound (issue #6, part 3).

Sixteen sockets on one worker complete the handshake and never read again, with a receive buffer as
small as the kernel allows; a ninth tablet reads normally. Some 8 MB of events then go to each: a
server that buffered them all would hold over 130 MB for the stalled sockets. The worker's resident
memory must grow by far less, the reading tablet must get everything, and the stalled sockets must
be closed (``meetings.consumers``: events held back beyond ``SLOW_BUFFER_BYTES``, the socket closed
with 4408 after ``SLOW_SECONDS`` and its buffer dropped)."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from urllib.parse import urlsplit

from meetings.consumers import SLOW_SECONDS

from .clients import Tablet, assert_exactly_once, open_session, settle
from .conftest import MEMBERS, rss_bytes

STALLED = 16
COMMENTS = 1200
# About 3,900 characters, 5.6 KB as UTF-8: near COMMENT_MAX_CHARS (4,000), so 1,200 of them push
# some 6.7 MB at each stalled socket.
TEXT = "Ý kiến rất dài về dự thảo nghị định. " * 105
BOUND = 40 * 1024 * 1024


def stalled_socket(base: str, meeting_id: int, token: str) -> socket.socket:
    """A WebSocket that completes its handshake and then never reads."""
    parts = urlsplit(base)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.settimeout(10)
    sock.connect((parts.hostname, parts.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/meetings/{meeting_id}/ HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: {base}\r\nAuthorization: Token {token}\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def cut_off(sock: socket.socket, timeout: float) -> bool:
    """Read what is left; True once the server has closed or reset the connection."""
    sock.settimeout(2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except ConnectionResetError:
            return True
        except TimeoutError:
            continue
    return False


def test_a_tablet_that_stops_reading_is_cut_off_and_memory_stays_bounded(cluster, scenario, tokens):
    served, writer_url = cluster.worker_urls
    pid = cluster.worker_pids[0]

    async def body(api):
        session = await open_session(api, members=MEMBERS[:20])
        reader = Tablet(api, session.meeting_id, "member01", base=served).start()
        await reader.ready.wait()
        stalled = [stalled_socket(served, session.meeting_id, tokens[user]) for user in MEMBERS[1:1 + STALLED]]
        await asyncio.sleep(1)
        baseline = peak = rss_bytes(pid)
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_bytes(pid))
                await asyncio.sleep(0.05)

        sampler = asyncio.ensure_future(sample())
        item = f"/agenda-items/{session.item_id}"
        writers = MEMBERS[16:20]

        async def write(writer: str, count: int) -> None:
            for n in range(count):
                await api.post(f"{item}/comments/", {"text": f"{n} {TEXT}"}, user=writer, base=writer_url)

        await asyncio.gather(*(write(w, COMMENTS // len(writers)) for w in writers))
        # Events keep coming, one a second, until the stalled sockets have been behind long enough.
        for n in range(int(SLOW_SECONDS) + 3):
            await api.post(f"{item}/comments/", {"text": f"thêm {n}"}, user=writers[0], base=writer_url)
            await asyncio.sleep(1)
        done.set()
        await sampler
        expected = await settle(api, [reader])
        assert_exactly_once(reader, expected["member01"])
        pushed = STALLED * COMMENTS * len(TEXT.encode())
        assert pushed > 2.5 * BOUND  # what an unbounded buffer would have held: the bound below means something
        print(f"stalled sockets: {STALLED}, pushed to each {pushed / STALLED / 2**20:.1f} MB; "
              f"worker RSS {baseline / 2**20:.0f} MB, peak {peak / 2**20:.0f} MB")
        assert peak - baseline < BOUND, f"the worker grew by {(peak - baseline) / 2**20:.0f} MB"
        closed = await asyncio.get_running_loop().run_in_executor(
            None, lambda: [cut_off(sock, 30) for sock in stalled])
        assert all(closed), f"{closed.count(False)} stalled sockets still open"
        for sock in stalled:
            sock.close()
        await reader.stop()

    scenario(body)
    log = (cluster.var_dir / "logs" / "worker-0.log").read_text(errors="replace")
    assert "closing a room socket" in log and "unread" in log

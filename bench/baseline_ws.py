"""The raw baseline: a minimal broadcast server written with the ``websockets`` library.

It speaks just enough of docs/protocol.md for the same tablet client to use it unchanged (a
snapshot or ``resumed`` on connect, ``resumed`` for ``resume``, ``pong`` for ``ping``), and it
broadcasts every message the publisher sends on ``/publish`` to every tablet with
``websockets.broadcast`` — no authentication, no database, no channel layer. What e-Cabinet adds on
top of this is what the fan-out ratio measures.

    python -m bench.baseline_ws --port 8765
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource

from websockets.asyncio.server import broadcast, serve

TABLETS: set = set()
HEAD = 0


async def handler(ws) -> None:
    global HEAD
    if ws.request.path.startswith("/publish"):
        async for message in ws:
            HEAD = max(HEAD, json.loads(message).get("seq", HEAD))
            broadcast(TABLETS, message)
        return
    TABLETS.add(ws)
    try:
        if "after_seq=" in ws.request.path:
            await ws.send(json.dumps({"type": "resumed", "seq": HEAD}))
        else:
            await ws.send(json.dumps({"type": "snapshot", "seq": HEAD, "meeting": {"motions": []}}))
        async for message in ws:
            kind = json.loads(message).get("type")
            if kind == "resume":
                await ws.send(json.dumps({"type": "resumed", "seq": HEAD}))
            elif kind == "ping":
                await ws.send(json.dumps({"type": "pong", "seq": HEAD}))
    finally:
        TABLETS.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**20) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(parser.parse_args().port))

"""A recording ASGI application for the admission queue's tests (``hotpath.admission``): the unit
tests and the hostile caller's tests (tests/security/test_i19_admission.py) use the same one."""

from __future__ import annotations

import asyncio


class Recorder:
    """An ASGI application that notes when each connection enters and waits to be told to go on."""

    def __init__(self) -> None:
        self.entered: list[int] = []
        self.inside = 0
        self.most_inside = 0
        self.go: dict[int, asyncio.Event] = {}
        self.scopes: dict[int, dict] = {}

    async def __call__(self, scope, receive, send):
        n = scope["n"]
        self.entered.append(n)
        self.scopes[n] = scope
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            await self.go.setdefault(n, asyncio.Event()).wait()
            if scope.get("fail"):
                raise RuntimeError("the application failed")
        finally:
            self.inside -= 1


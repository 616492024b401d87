"""The room socket behind the admission queue (``hotpath.admission``, issue 19): a socket gives its
place back once it has its snapshot — not when it closes — and a refused one gives it back too, so
one place is enough for any number of tablets connecting one after the other."""

from __future__ import annotations

import pytest

from meetings.models import Meeting

from .wsclient import Tablet, close_all, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_place_serves_tablets_that_stay_connected(cast, settings):
    settings.WS_ADMISSION_CONCURRENCY = 1
    cast.set_status(Meeting.Status.IN_PROGRESS)
    headers = [token_headers(person) for person in (cast.secretary, cast.pm, cast.member)]

    async def scenario():
        open_sockets = []
        for each in headers:
            # Each stays open: the next one is admitted all the same.
            open_sockets.append(await Tablet(each, cast.meeting.pk).join())
        await close_all(*open_sockets)

    run(scenario)


def test_a_refused_socket_gives_its_place_back(cast, settings):
    settings.WS_ADMISSION_CONCURRENCY = 1
    cast.set_status(Meeting.Status.IN_PROGRESS)
    outsider, member = token_headers(cast.outsider), token_headers(cast.member)

    async def scenario():
        refused = Tablet(outsider, cast.meeting.pk)
        connected, _detail = await refused.connect()
        assert not connected
        tablet = await Tablet(member, cast.meeting.pk).join()
        await tablet.close()

    run(scenario)

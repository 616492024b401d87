"""Motions in the session's reads: the agenda of ``GET /meetings/{id}/`` lists each item's motions
and the room snapshot carries their state, both without a query per item or per motion."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from meetings import permissions, services
from meetings.snapshot import snapshot
from voting.services import motions

from .conftest import build_room, client_for


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as context:
        call()
    return len(context.captured_queries)


def _add_motions(room, items: int, per_item: int) -> None:
    for i in range(items):
        item = room.item if i == 0 else services.agenda_item_add(actor=room.secretary, meeting=room.meeting,
                                                                 title=f"Mục {i + 1}")
        for j in range(per_item):
            motion = motions.motion_create(actor=room.secretary, item_id=item.pk, title=f"Nghị quyết {i}.{j}",
                                           method="secret" if j % 2 else "named")
            if j:
                motions.motion_open(actor=room.chair, motion_id=motion.pk)
                motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="yes")


def test_it_lists_the_motions_of_each_item_in_the_same_number_of_queries(db):
    room = build_room(members=2)
    client = client_for(room.members[0])
    url = f"/api/v1/meetings/{room.meeting.pk}/"
    _add_motions(room, items=1, per_item=1)
    small = _queries(lambda: client.get(url))
    access = permissions.meeting_access(room.members[0], room.meeting.pk)
    small_snapshot = _queries(lambda: snapshot(access))
    _add_motions(room, items=4, per_item=3)
    large = _queries(lambda: client.get(url))
    large_snapshot = _queries(lambda: snapshot(access))
    assert (large, large_snapshot) == (small, small_snapshot)
    agenda = client.get(url).json()["agenda"]
    assert [m["title"] for m in agenda[0]["motions"]] == ["Nghị quyết 0.0", "Nghị quyết 0.0", "Nghị quyết 0.1",
                                                          "Nghị quyết 0.2"]
    assert set(agenda[0]["motions"][2]) == {"id", "title", "status"} and agenda[0]["motions"][2]["status"] == "open"


def test_it_shows_each_person_their_own_vote_and_everyone_the_tally(db):
    room = build_room(members=2)
    named, secret = room.motion(), room.motion(method="secret")
    for motion in (named, secret):
        motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="no")
    mine = {m["id"]: m for m in snapshot(permissions.meeting_access(room.members[0], room.meeting.pk))["meeting"]
            ["motions"]}
    theirs = {m["id"]: m for m in snapshot(permissions.meeting_access(room.chair, room.meeting.pk))["meeting"]
              ["motions"]}
    assert mine[named.pk]["my_vote"] == {"voted": True, "choice": "no", "on_behalf_of": None}
    assert mine[secret.pk]["my_vote"] == {"voted": True, "choice": None, "on_behalf_of": None}
    assert theirs[named.pk]["my_vote"] is None and theirs[secret.pk]["my_vote"] is None
    assert theirs[named.pk]["tally"] == {"yes": 0, "no": 1, "abstain": 0, "voted": 1,
                                         "voters": [room.members[0].username]}
    assert theirs[secret.pk]["tally"] == {"voted": 1}
    detail = client_for(room.members[0]).get(f"/api/v1/motions/{secret.pk}/").json()
    assert detail["my_vote"]["choice"] is None and detail["tally"] == {"voted": 1} and detail["result"] is None

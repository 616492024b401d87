"""Who may open the room socket (issue #3 "participants only"; DESIGN.md §2, §5.3): participants,
authenticated by session cookie or ``Authorization: Token``; the archivist only on a closed
session. Everyone else is refused the same way whether the session exists or not: closed with
4403 before the socket is accepted, and nothing sent.
"""

from __future__ import annotations

import pytest
from django.test import Client

from meetings.consumers import CLOSE_FORBIDDEN
from meetings.models import Event, Meeting, Presence

from .wsclient import ORIGIN, PASSWORD, Tablet, cookie_headers, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = 987654


def refusal(headers, meeting_id: int) -> tuple[bool, object]:
    outcome = {}

    async def scenario():
        tablet = Tablet(headers, meeting_id)
        outcome["result"] = await tablet.connect()
        outcome["quiet"] = await tablet.quiet(0.05)
        await tablet.close()

    run(scenario)
    assert outcome["quiet"]
    return outcome["result"]


def snapshot_for(headers, meeting_id: int) -> dict:
    outcome = {}

    async def scenario():
        tablet = await Tablet(headers, meeting_id).open()
        outcome["snapshot"] = await tablet.recv()
        await tablet.close()

    run(scenario)
    return outcome["snapshot"]


@pytest.mark.parametrize("auth", ["token", "cookie"])
def test_it_lets_participants_in_by_token_or_session_cookie(cast, auth):
    cast.set_status(Meeting.Status.PUBLISHED)
    for user in (cast.pm, cast.secretary, cast.member, cast.member2, cast.observer):
        headers = token_headers(user) if auth == "token" else cookie_headers(user)
        snapshot = snapshot_for(headers, cast.meeting.pk)
        assert snapshot["type"] == "snapshot"
        assert snapshot["meeting"]["me"]["username"] == user.username


def test_it_refuses_everyone_else_the_same_way(cast):
    def refused(headers, meeting_id=cast.meeting.pk):
        events_before = Event.objects.count()
        outcome = refusal(headers, meeting_id)
        assert Event.objects.count() == events_before  # not even a presence event
        assert not Presence.objects.exists()
        return outcome

    forbidden = (False, CLOSE_FORBIDDEN)
    # Invited, but the session is still a draft (only its secretary and chair see it).
    assert refused(token_headers(cast.member)) == forbidden
    assert refused(token_headers(cast.observer)) == forbidden
    cast.set_status(Meeting.Status.IN_PROGRESS)
    assert refused([(b"origin", ORIGIN.encode())]) == forbidden
    assert refused([(b"origin", ORIGIN.encode()), (b"authorization", b"Token not-a-real-token")]) == forbidden
    assert refused([(b"origin", ORIGIN.encode()), (b"cookie", b"sessionid=not-a-session")]) == forbidden
    for user in (cast.outsider, cast.admin, cast.archivist):
        assert refused(token_headers(user)) == forbidden
        assert refused(cookie_headers(user)) == forbidden
    assert refused(token_headers(cast.member), meeting_id=MISSING) == forbidden
    assert refused(token_headers(cast.admin), meeting_id=MISSING) == forbidden
    cast.member.is_active = False
    cast.member.save(update_fields=["is_active"])
    assert refused(token_headers(cast.member)) == forbidden


def test_it_refuses_a_session_cookie_after_logout(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = Client()
    assert client.login(username="member01", password=PASSWORD)
    headers = [(b"origin", ORIGIN.encode()), (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]
    assert snapshot_for(headers, cast.meeting.pk)["type"] == "snapshot"
    client.logout()
    assert refusal(headers, cast.meeting.pk) == (False, CLOSE_FORBIDDEN)


def test_it_lets_the_chair_and_secretary_into_a_draft(cast):
    for user in (cast.pm, cast.secretary):
        assert snapshot_for(token_headers(user), cast.meeting.pk)["meeting"]["status"] == "draft"


@pytest.mark.parametrize("status", ["published", "in_progress", "adjourned"])
def test_it_refuses_the_archivist_before_the_session_is_closed(cast, status):
    cast.set_status(status)
    assert refusal(token_headers(cast.archivist), cast.meeting.pk) == (False, CLOSE_FORBIDDEN)


def test_it_lets_the_archivist_read_a_closed_session(cast):
    cast.set_status(Meeting.Status.CLOSED)
    headers = token_headers(cast.archivist)
    snapshot = snapshot_for(headers, cast.meeting.pk)
    assert snapshot["meeting"]["status"] == "closed"
    # The archivist reads (everyone's positions too) and does nothing else (docs/protocol.md §4, me.can).
    assert snapshot["meeting"]["me"] == {"username": "archivist", "role": None, "can": {
        "run": False, "speak": False, "position": False, "see_positions": True, "comment": False,
        "comment_visibilities": [], "vote": False, "stands_in": False},
        "offline": {"allowed": False}}  # an archivist reads at a desk; nothing is kept on a tablet (issue 17)
    # All documents of a closed session, including the restricted one (DESIGN.md §2).
    titles = {d["title"] for d in snapshot["meeting"]["agenda"][0]["documents"]}
    assert titles == {cast.public_doc.title, cast.internal_doc.title, cast.restricted_doc.title}


def test_it_does_not_write_to_the_log_of_a_closed_session_when_someone_reads_it(cast):
    # Closed sessions are immutable (DESIGN.md §3 principle 7): reading one is not an event.
    cast.set_status(Meeting.Status.CLOSED)
    head = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    snapshot_for(token_headers(cast.archivist), cast.meeting.pk)
    snapshot_for(token_headers(cast.member), cast.meeting.pk)
    assert Meeting.objects.get(pk=cast.meeting.pk).event_seq == head
    assert Event.objects.filter(meeting=cast.meeting, seq__gt=head).count() == 0

"""The per-session event log (DESIGN.md §3 principles 2–3, issue #3 "Event log"): every service
writes exactly the expected kinds, to the expected audiences, with a ``seq`` that is gapless per
session (1..N, never reused) and written in the service's own transaction; the doorbell rings only
after commit, once per event, carrying the event serialised once.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from ecabinet import audit, realtime
from ecabinet.models import AuditEntry
from meetings import events, services
from meetings.models import (
    AgendaItem,
    Comment,
    Event,
    Meeting,
    Participant,
    Position,
    SpeakRequest,
)

from ..conftest import upload
from ..factories import UserFactory, in_days
from ..pdfs import make_pdf


def head(meeting) -> int:
    return Meeting.objects.values_list("event_seq", flat=True).get(pk=meeting.pk)


def log(meeting, after: int = 0) -> list[Event]:
    return list(Event.objects.filter(meeting=meeting, seq__gt=after).order_by("seq"))


@contextmanager
def writes(meeting, *kinds: str):
    """The block writes exactly ``kinds``, in order, numbered on from the current head."""
    before = head(meeting)
    written: list[Event] = []
    yield written
    written.extend(log(meeting, before))
    assert [e.kind for e in written] == list(kinds)
    assert [e.seq for e in written] == list(range(before + 1, before + 1 + len(kinds)))
    assert head(meeting) == before + len(kinds)


def assert_gapless(meeting) -> None:
    seqs = [e.seq for e in log(meeting)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert head(meeting) == len(seqs)


def u(user) -> str:
    return realtime.user_token(user.pk)


def test_it_logs_the_preparation_of_a_session_from_seq_one(cast):
    rows = log(cast.meeting)
    assert [(e.seq, e.kind) for e in rows] == [
        (1, "participant.added"),  # the creator, as secretary
        (2, "participant.added"), (3, "participant.added"), (4, "participant.added"), (5, "participant.added"),
        (6, "agenda_item.added"),
        (7, "document.published"), (8, "document.published"), (9, "document.published"),
    ]
    # Documents are announced to their readers only (permissions.documents_visible_to).
    assert [e.audience for e in rows[6:]] == [["all"], ["internal"], sorted(["secretariat", u(cast.member)])]
    assert_gapless(cast.meeting)


def test_it_logs_every_session_service(cast):
    meeting, sec = cast.meeting, cast.secretary
    with writes(meeting, "agenda_item.added"):
        second = services.agenda_item_add(actor=sec, meeting=meeting, title="Báo cáo kinh tế – xã hội")
    with writes(meeting, "agenda.reordered") as written:
        services.agenda_item_move(actor=sec, item=second, position=1)
    assert written[0].data == {"order": [second.pk, cast.item.pk]}
    with writes(meeting, "document.published"):
        doc = services.document_upload(actor=sec, item=second, title="Tờ trình", classification="internal",
                                       upload=upload(data=make_pdf(["Tờ trình mới"])))
    with writes(meeting, "document.published"):
        services.document_add_version(actor=sec, document=doc, upload=upload(data=make_pdf(["Bản sửa 2"])))
    with writes(meeting, "document.published", "document.withdrawn") as written:
        services.document_set_recipients(actor=sec, document=cast.restricted_doc, recipients=["member02"])
    assert [e.audience for e in written] == [[u(cast.member2)], [u(cast.member)]]
    with writes(meeting):  # the same recipients again: nothing changed, nothing to tell
        services.document_set_recipients(actor=sec, document=cast.restricted_doc, recipients=["member02"])

    deputy = UserFactory(username="deputy01")
    with writes(meeting, "participant.added") as written:
        services.participant_add(actor=sec, meeting=meeting, username="deputy01", role="substitute",
                                 substitute_for="member02")
    assert written[0].data["participant"]["approved"] is False
    with writes(meeting, "participant.changed") as written:
        services.substitute_approve(actor=cast.pm, meeting=meeting, username=deputy.username)
    assert written[0].data["participant"]["approved"] is True
    UserFactory(username="member03")
    with writes(meeting, "participant.added"):
        services.participant_add(actor=sec, meeting=meeting, username="member03", role="member")
    with writes(meeting, "participant.removed") as written:
        services.participant_remove(actor=sec, meeting=meeting, username="member03")
    assert written[0].data == {"username": "member03"}

    with writes(meeting, "meeting.status"):
        services.meeting_publish(actor=sec, meeting=meeting)
    with writes(meeting, "attendance.changed"):
        services.attendance_set(actor=sec, meeting=meeting, username="member01", status="present")
    with writes(meeting, "meeting.status"):
        services.meeting_start(actor=cast.pm, meeting=meeting)
    with writes(meeting, "meeting.status"):
        services.meeting_adjourn(actor=cast.pm, meeting=meeting)
    with writes(meeting, "meeting.status") as written:
        services.meeting_close(actor=sec, meeting=meeting)
    assert written[0].data == {"status": "closed"} and written[0].audience == ["all"]
    assert_gapless(meeting)


def test_it_logs_every_room_service(cast):
    meeting, item, member = cast.meeting, cast.item, cast.member
    cast.set_status(Meeting.Status.PUBLISHED)
    with writes(meeting, "comment.posted") as written:
        shared = services.comment_post(actor=member, item_id=item.pk, text="Đề nghị bổ sung Điều 3")
    assert written[0].audience == ["all"] and written[0].data["comment"]["id"] == shared.pk
    with writes(meeting, "comment.posted") as written:
        services.comment_post(actor=member, item_id=item.pk, text="Gửi Văn phòng", visibility="secretariat")
    assert written[0].audience == sorted(["secretariat", u(member)])
    with writes(meeting, "comment.posted") as written:
        note = services.comment_post(actor=member, item_id=item.pk, text="Ghi chú riêng", visibility="private")
    assert written[0].audience == [u(member)]
    with writes(meeting, "comment.edited") as written:
        services.comment_edit(actor=member, comment_id=note.pk, text="Ghi chú riêng, sửa")
    assert written[0].audience == [u(member)]
    with writes(meeting):  # the same text: no new revision, no event
        services.comment_edit(actor=member, comment_id=note.pk, text="Ghi chú riêng, sửa")
    with writes(meeting, "comment.deleted") as written:
        services.comment_delete(actor=member, comment_id=shared.pk)
    assert written[0].data["comment"]["deleted"] is True and written[0].data["comment"]["text"] == ""

    with writes(meeting, "speaker.queue") as written:
        services.speak_request(actor=member, item_id=item.pk)
    assert [s["username"] for s in written[0].data["queue"]] == ["member01"]
    with writes(meeting, "speaker.queue") as written:
        services.speak_withdraw(actor=member, item_id=item.pk)
    assert written[0].data == {"item": item.pk, "queue": [], "spoken": 0}
    with writes(meeting, "position.changed") as written:
        services.position_set(actor=cast.member2, item_id=item.pk, value="no_objection")
    assert written[0].audience == sorted(["chair", "secretariat", u(cast.member2)])
    assert written[0].data["username"] == "member02" and written[0].data["position"]["value"] == "no_objection"
    with writes(meeting, "agenda_item.status"):
        services.agenda_item_set_status(actor=cast.secretary, item_id=item.pk, status="deferred")
    with writes(meeting):  # unchanged status
        services.agenda_item_set_status(actor=cast.secretary, item_id=item.pk, status="deferred")
    with writes(meeting, "agenda_item.status"):
        services.agenda_item_set_status(actor=cast.secretary, item_id=item.pk, status="pending")

    cast.set_status(Meeting.Status.IN_PROGRESS)
    services.speak_request(actor=member, item_id=item.pk)
    services.speak_request(actor=cast.member2, item_id=item.pk)
    with writes(meeting, "speaker.queue") as written:
        services.floor_give(actor=cast.pm, item_id=item.pk, username="member02")
    assert [(s["username"], s["status"]) for s in written[0].data["queue"]] == [
        ("member01", "waiting"), ("member02", "speaking")]
    with writes(meeting, "speaker.queue") as written:
        services.floor_end(actor=cast.secretary, item_id=item.pk)
    assert [s["status"] for s in written[0].data["queue"]] == ["waiting", "done"]
    with writes(meeting, "agenda.current", "agenda_item.status") as written:
        services.agenda_set_current(actor=cast.pm, meeting_id=meeting.pk, item_id=item.pk)
    assert [e.data for e in written] == [{"item": item.pk}, {"item": item.pk, "status": "discussing"}]
    with writes(meeting, "agenda.current"):  # an item under discussion stays so
        services.agenda_set_current(actor=cast.pm, meeting_id=meeting.pk, item_id=item.pk)
    with writes(meeting, "agenda.current"):
        services.agenda_set_current(actor=cast.pm, meeting_id=meeting.pk, item_id=None)

    second = services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Mục 2")
    third = services.agenda_item_add(actor=cast.secretary, meeting=meeting, title="Mục 3")
    with writes(meeting, "agenda_item.status", "agenda_item.status") as written:
        services.consent_block_decide(actor=cast.pm, meeting_id=meeting.pk, item_ids=[third.pk, second.pk])
    assert [e.data for e in written] == [{"item": third.pk, "status": "decided"},
                                         {"item": second.pk, "status": "decided"}]
    assert_gapless(meeting)


def test_it_numbers_each_session_on_its_own(cast):
    other = services.meeting_create(actor=cast.secretary, title="Phiên họp chuyên đề", kind="thematic",
                                    starts_at=in_days(5))
    services.agenda_item_add(actor=cast.secretary, meeting=other, title="Chuyên đề pháp luật")
    services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục thêm")
    assert [e.seq for e in log(other)] == [1, 2]
    assert_gapless(cast.meeting)
    assert_gapless(other)


# --- same transaction ------------------------------------------------------------------------------

class Boom(Exception):
    pass


def _state(meeting) -> dict:
    """Everything a room or session service may change, to compare before and after a failure."""
    meeting = Meeting.objects.get(pk=meeting.pk)
    return {
        "event_seq": meeting.event_seq, "status": meeting.status, "current": meeting.current_item_id,
        "events": Event.objects.count(), "audit": AuditEntry.objects.count(), "comments": Comment.objects.count(),
        "speakers": list(SpeakRequest.objects.values_list("status", flat=True)),
        "positions": Position.objects.count(), "participants": Participant.objects.count(),
        "items": sorted(AgendaItem.objects.values_list("status", "position")),
        "attendance": sorted(Participant.objects.values_list("attendance", flat=True)),
    }


FAILING = {
    "comment_post": lambda c: services.comment_post(actor=c.member, item_id=c.item.pk, text="Sẽ mất"),
    "speak_request": lambda c: services.speak_request(actor=c.member, item_id=c.item.pk),
    "position_set": lambda c: services.position_set(actor=c.member, item_id=c.item.pk, value="object"),
    "agenda_set_current": lambda c: services.agenda_set_current(actor=c.pm, meeting_id=c.meeting.pk,
                                                                item_id=c.item.pk),
    "attendance_set": lambda c: services.attendance_set(actor=c.secretary, meeting=c.meeting,
                                                        username="member01", status="present"),
    "agenda_item_add": lambda c: services.agenda_item_add(actor=c.secretary, meeting=c.meeting, title="Sẽ mất"),
    "meeting_adjourn": lambda c: services.meeting_adjourn(actor=c.pm, meeting=c.meeting),
    "presence_connect": lambda c: services.presence_connect(user=c.member, meeting_id=c.meeting.pk,
                                                            channel_name="test.channel!1"),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("service", sorted(FAILING))
def test_it_leaves_no_event_when_a_service_fails_after_emitting(cast, service, monkeypatch, doorbells):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    before = _state(cast.meeting)
    rung = len(doorbells)
    real_emit = events.emit_many  # ``emit`` goes through it too

    def emit_then_fail(*args, **kwargs):
        real_emit(*args, **kwargs)
        raise Boom

    monkeypatch.setattr(events, "emit_many", emit_then_fail)
    with pytest.raises(Boom):
        FAILING[service](cast)
    assert _state(cast.meeting) == before
    assert len(doorbells) == rung
    monkeypatch.setattr(events, "emit_many", real_emit)
    # The counter was rolled back with the row: the next event takes the very next number.
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Sau lỗi")
    assert_gapless(cast.meeting)


@pytest.mark.django_db(transaction=True)
def test_it_leaves_no_event_when_the_audit_entry_after_the_events_fails(cast, monkeypatch, doorbells):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    second = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục 2")
    before = _state(cast.meeting)
    rung = len(doorbells)
    real_record = audit.record

    def record(actor, action, *args, **kwargs):
        if action == "agenda.consent_block":  # written after both agenda_item.status events
            raise Boom
        return real_record(actor, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", record)
    with pytest.raises(Boom):
        services.consent_block_decide(actor=cast.pm, meeting_id=cast.meeting.pk, item_ids=[cast.item.pk, second.pk])
    assert _state(cast.meeting) == before
    assert len(doorbells) == rung
    assert_gapless(cast.meeting)


# --- broadcast on commit -------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_it_rings_the_doorbell_only_after_commit_once_per_event(cast, doorbells):
    cast.set_status(Meeting.Status.PUBLISHED)
    doorbells.clear()
    with transaction.atomic():
        services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Một")
        services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Hai", visibility="secretariat")
        assert doorbells == []
    first, second = log(cast.meeting)[-2:]
    m = cast.meeting.pk
    # The text is the event as stored (PostgreSQL's jsonb may order the keys differently on reading).
    def parsed(message):
        if "text" in message:
            return {**message, "text": json.loads(message["text"])}
        if "texts" in message:
            return {**message, "texts": [[seq, json.loads(text), key] for seq, text, key in message["texts"]]}
        return message

    rung = [(groups, parsed(message)) for groups, message in doorbells]
    assert rung == [
        ([f"m{m}.all"], {"type": "room.event", "seq": first.seq, "audience": ["all"],
                         "text": json.loads(events.serialise(first))}),
        # The private one goes with its marker to all: which tokens may see the number, and its
        # text for those sockets (each socket's Sequencer takes only what its tokens may see).
        ([f"m{m}.all"], {"type": "room.event", "first": second.seq, "seq": second.seq,
                         "visible": {"secretariat": [second.seq], u(cast.member): [second.seq]},
                         "texts": [[second.seq, json.loads(events.serialise(second)), None]]}),
    ]


@pytest.mark.django_db(transaction=True)
def test_it_rings_nothing_for_a_rolled_back_transaction(cast, doorbells):
    cast.set_status(Meeting.Status.PUBLISHED)
    before = _state(cast.meeting)
    doorbells.clear()
    with pytest.raises(Boom), transaction.atomic():
        services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Không bao giờ gửi")
        services.speak_request(actor=cast.member, item_id=cast.item.pk)
        assert doorbells == []
        raise Boom
    assert doorbells == []
    assert _state(cast.meeting) == before


@pytest.mark.django_db(transaction=True)
def test_it_never_reuses_a_seq_when_writers_run_at_once(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    writers = [cast.member, cast.member2, cast.pm, cast.secretary]
    per_writer = 5
    barrier = threading.Barrier(len(writers))
    errors: list[Exception] = []

    def write(user):
        try:
            barrier.wait()
            for n in range(per_writer):
                services.comment_post(actor=user, item_id=cast.item.pk, text=f"{user.username} {n}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    start = head(cast.meeting)
    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert_gapless(cast.meeting)
    posted = log(cast.meeting, start)
    assert len(posted) == len(writers) * per_writer
    # Each writer's comments appear in its own order: a seq is taken inside the writer's transaction.
    for user in writers:
        texts = [e.data["comment"]["text"] for e in posted if e.data["comment"]["author"] == user.username]
        assert texts == [f"{user.username} {n}" for n in range(per_writer)]

"""Issue 19: the room socket's snapshot is cut from what every socket of the session shares at one
``seq`` (``meetings.snapshot.snapshot_text``). It must be, byte for byte, the reference snapshot
(``snapshot(access)`` serialised as the room sends it) for every kind of reader — and readers who see
differently must never be given each other's bytes, whatever order they connect in."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meetings import permissions, services
from meetings import snapshot as snapshots
from meetings.models import Meeting, Presence
from meetings.room import dumps
from voting.services import motions

from ..conftest import upload

READERS = ("pm", "secretary", "member", "member2", "observer", "deputy", "member3")


@pytest.fixture(autouse=True)
def _no_shared_between_tests():
    snapshots._forget()
    yield
    snapshots._forget()


def reference(user, meeting_id: int) -> str:
    return dumps(snapshots.snapshot(permissions.meeting_access_by_id(user, meeting_id), fresh=True))


def shared(user, meeting_id: int) -> str:
    seq, text = snapshots.snapshot_text(permissions.meeting_access_by_id(user, meeting_id))
    assert f'"seq":{seq},' in text[:40]
    return text


def busy(c) -> None:
    """A session with something of every kind that differs between readers: comments of each
    visibility, on the item and on documents of each classification, a second restricted document
    with another recipient, positions, turns to speak, motions with votes."""
    c.set_status(Meeting.Status.IN_PROGRESS)
    item, second = c.item, services.agenda_item_add(actor=c.secretary, meeting=c.meeting, title="Nội dung hai")
    services.document_upload(actor=c.secretary, item=second, title="Mật hai", classification="restricted",
                             upload=upload(), recipients=["member02"])
    services.agenda_set_current(actor=c.pm, meeting_id=c.meeting.pk, item_id=item.pk)
    for n, (author, visibility) in enumerate([(c.member, "shared"), (c.member, "private"), (c.member, "secretariat"),
                                             (c.member2, "private"), (c.member2, "shared"), (c.pm, "secretariat"),
                                             (c.deputy, "shared"), (c.observer, "private")] * 2):
        services.comment_post(actor=author, item_id=item.pk, text=f"Ý kiến {n} của {author.username}",
                              visibility=visibility)
    services.comment_post(actor=c.member, item_id=item.pk, document_id=c.restricted_doc.pk, page=1, text="Trên mật")
    services.comment_post(actor=c.member, item_id=item.pk, document_id=c.internal_doc.pk, page=1, text="Nội bộ")
    services.comment_post(actor=c.member2, item_id=item.pk, document_id=c.public_doc.pk, text="Công khai")
    gone = services.comment_post(actor=c.member2, item_id=second.pk, text="Sẽ xoá")
    services.comment_delete(actor=c.member2, comment_id=gone.pk)
    services.position_set(actor=c.member, item_id=item.pk, value="object", note="Chưa rõ")
    services.position_set(actor=c.member2, item_id=item.pk, value="no_objection")
    services.position_set(actor=c.member2, item_id=second.pk, value="object")
    services.speak_request(actor=c.member, item_id=item.pk)
    services.speak_request(actor=c.observer, item_id=item.pk)
    services.floor_give(actor=c.pm, item_id=item.pk)
    for person in (c.member, c.pm):
        services.attendance_set(actor=c.secretary, meeting=c.meeting, username=person.username, status="present")
    named = motions.motion_create(actor=c.pm, item_id=item.pk, title="Thông qua")
    motions.motion_open(actor=c.pm, motion_id=named.pk)
    motions.vote_cast(actor=c.member, motion_id=named.pk, choice="yes")
    motions.vote_cast(actor=c.pm, motion_id=named.pk, choice="no")
    motions.motion_create(actor=c.pm, item_id=second.pk, title="Bí mật", method="secret")
    Presence.objects.create(channel_name="elsewhere", meeting=c.meeting, user=c.member,
                            connected_at=c.meeting.starts_at, seen_at=c.meeting.starts_at)


@pytest.mark.parametrize("limit", [10, 2])
def test_the_shared_snapshot_is_the_reference_byte_for_byte_for_every_reader(substitute, settings, limit):
    c = substitute
    settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM = limit
    busy(c)
    readers = {name: getattr(c, name) for name in READERS}
    texts = {}
    # Every reader twice, in two orders: the second pass reads only what the first one left shared.
    for name in [*READERS, *reversed(READERS)]:
        text = shared(readers[name], c.meeting.pk)
        assert text == reference(readers[name], c.meeting.pk), name
        texts.setdefault(name, set()).add(text)
    assert all(len(found) == 1 for found in texts.values())
    # Readers who see differently got different bytes (the test would not notice a shared window otherwise).
    assert len({next(iter(texts[name])) for name in READERS}) == len(READERS)


def test_an_archivist_reads_a_closed_session_as_the_reference_does(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Riêng", visibility="private")
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Chung")
    cast.set_status(Meeting.Status.CLOSED)
    for user in (cast.archivist, cast.member, cast.secretary):
        assert shared(user, cast.meeting.pk) == reference(user, cast.meeting.pk)


def test_one_read_of_the_session_serves_every_reader_at_the_same_seq(substitute):
    c = substitute
    busy(c)
    shared(c.member, c.meeting.pk)
    with CaptureQueriesContext(connection) as queries:
        for name in READERS:
            shared(getattr(c, name), c.meeting.pk)
    # Per reader: the access (two queries) and, for the secretariat, who is online.
    assert len(queries) == 2 * len(READERS) + 1, "\n".join(q["sql"] for q in queries)


def test_a_new_event_is_in_the_next_snapshot_and_presence_alone_reuses_the_shared_read(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    before = shared(cast.member2, cast.meeting.pk)
    kept = snapshots._shared[cast.meeting.pk]
    services.presence_connect(user=cast.member, meeting_id=cast.meeting.pk, channel_name="one")  # presence.changed
    after_presence = shared(cast.member2, cast.meeting.pk)
    assert snapshots._shared[cast.meeting.pk].memo is kept.memo  # not read again
    assert after_presence == reference(cast.member2, cast.meeting.pk) != before  # the seq moved
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Mới")  # no signal-free write: an event
    snapshots._shared[cast.meeting.pk] = kept  # as if the save had been made by another process
    text = shared(cast.member2, cast.meeting.pk)
    assert "Mới" in text and text == reference(cast.member2, cast.meeting.pk)


def test_a_write_without_an_event_is_seen_by_the_next_snapshot(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    shared(cast.member, cast.meeting.pk)
    cast.member2.full_name = "Tên Mới Đổi"
    cast.member2.save()  # an account renamed: no event in the session
    assert "Tên Mới Đổi" in shared(cast.member, cast.meeting.pk)


def test_a_snapshot_read_while_an_event_is_emitted_is_read_again(cast, monkeypatch):
    """The seq it claims is the state it carries: an event emitted while the shared part was read
    makes it read again."""
    cast.set_status(Meeting.Status.IN_PROGRESS)
    original, calls = snapshots._read, []

    def racing(meeting):
        calls.append(meeting.event_seq)
        state = original(meeting)
        if len(calls) == 1:  # a comment lands after the comments were read, before the check
            services.comment_post(actor=cast.member2, item_id=cast.item.pk, text="Chen ngang")
        return state

    monkeypatch.setattr(snapshots, "_read", racing)
    snapshots._forget()
    seq, text = snapshots.snapshot_text(permissions.meeting_access_by_id(cast.member, cast.meeting.pk))
    assert len(calls) == 2 and seq == calls[1] > calls[0]
    assert "Chen ngang" in text
    monkeypatch.setattr(snapshots, "_read", original)
    assert text == reference(cast.member, cast.meeting.pk)



@pytest.mark.parametrize("limit", [10, 2])
def test_comments_posted_after_the_shared_read_are_added_to_it_not_read_again(substitute, settings, limit):
    """Issue 19: a reconnect storm during a debate read the whole session again after every comment;
    ``comment.posted`` carries the comment, which the shared read takes from the log, and every
    reader's snapshot stays the reference's byte for byte (private, secretariat-only, on a document)."""
    settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM = limit
    c = substitute
    busy(c)
    for name in READERS:
        shared(getattr(c, name), c.meeting.pk)
    kept = snapshots._shared[c.meeting.pk]
    services.comment_post(actor=c.member, item_id=c.item.pk, text="Riêng mới", visibility="private")
    services.comment_post(actor=c.member2, item_id=c.item.pk, text="Văn phòng", visibility="secretariat")
    services.comment_post(actor=c.pm, item_id=c.item.pk, text="Trên tài liệu", document_id=c.internal_doc.pk, page=1)
    services.comment_post(actor=c.member3, item_id=c.item.pk, text="Chung mới")
    with CaptureQueriesContext(connection) as queries:
        texts = {name: shared(getattr(c, name), c.meeting.pk) for name in READERS}
    assert not any('FROM "meetings_agendaitem"' in q["sql"] for q in queries), "\n".join(q["sql"] for q in queries)
    assert snapshots._shared[c.meeting.pk].built_at == kept.built_at  # the same read, with the comments added
    for name in READERS:
        assert texts[name] == reference(getattr(c, name), c.meeting.pk), name
    assert "Chung mới" in texts["member"] and "Riêng mới" not in texts["member2"]
    assert limit == 2 or "Riêng mới" in texts["member"]

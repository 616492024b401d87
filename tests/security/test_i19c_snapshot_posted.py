"""Hostile review of the shared snapshot extended by ``comment.posted`` (issue 19): a comment added
from the log must reach exactly the readers the reference builder gives it to — a comment on a
restricted document only to its recipients (and the secretariat), one edited or deleted right after
posting with its current words only, and a log with a hole is read again, never guessed."""

from __future__ import annotations

import pytest

from meetings import permissions, services
from meetings import snapshot as snapshots
from meetings.models import Event, Meeting
from tests.room.test_snapshot_shared import READERS, reference, shared


@pytest.fixture(autouse=True)
def _no_shared_between_tests():
    snapshots._forget()
    yield
    snapshots._forget()


def _warm(c) -> snapshots.Shared:
    for name in READERS:
        shared(getattr(c, name), c.meeting.pk)
    return snapshots._shared[c.meeting.pk]


def test_a_comment_on_a_restricted_document_reaches_only_its_readers(substitute):
    c = substitute
    c.set_status(Meeting.Status.IN_PROGRESS)
    kept = _warm(c)
    services.comment_post(actor=c.member, item_id=c.item.pk, document_id=c.restricted_doc.pk, page=1,
                          text="Chỉ người nhận")
    services.comment_post(actor=c.member, item_id=c.item.pk, document_id=c.internal_doc.pk, page=1, text="Nội bộ mới")
    texts = {name: shared(getattr(c, name), c.meeting.pk) for name in READERS}
    assert snapshots._shared[c.meeting.pk].built_at == kept.built_at  # extended, not read again
    for name in READERS:
        assert texts[name] == reference(getattr(c, name), c.meeting.pk), name
    assert "Chỉ người nhận" in texts["member"] and "Chỉ người nhận" in texts["secretary"]
    for name in ("member2", "observer", "deputy", "member3"):
        assert "Chỉ người nhận" not in texts[name], name


def test_a_comment_edited_or_deleted_right_after_posting_shows_only_its_current_words(substitute):
    c = substitute
    c.set_status(Meeting.Status.IN_PROGRESS)
    _warm(c)
    posted = services.comment_post(actor=c.member, item_id=c.item.pk, text="Lời lỡ miệng")
    gone = services.comment_post(actor=c.member2, item_id=c.item.pk, text="Sẽ rút lại")
    # The readers' access is read now (at the posting's seq); the edit and deletion land before their
    # snapshot reads the log.
    accesses = {name: permissions.meeting_access_by_id(getattr(c, name), c.meeting.pk) for name in READERS}
    services.comment_edit(actor=c.member, comment_id=posted.pk, text="Lời đã sửa")
    services.comment_delete(actor=c.member2, comment_id=gone.pk)
    for name, access in accesses.items():
        _seq, text = snapshots.snapshot_text(access)
        assert "Lời lỡ miệng" not in text and "Sẽ rút lại" not in text, name


def test_a_hole_in_the_log_is_read_again_not_extended(cast):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    kept = _warm_cast(cast)
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Một")
    services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Hai", visibility="private")
    Event.objects.filter(meeting=cast.meeting, seq=Meeting.objects.get(pk=cast.meeting.pk).event_seq - 1).delete()
    for user in (cast.member2, cast.member, cast.secretary):
        assert shared(user, cast.meeting.pk) == reference(user, cast.meeting.pk)
    assert snapshots._shared[cast.meeting.pk].built_at != kept.built_at


def _warm_cast(cast) -> snapshots.Shared:
    for user in (cast.member, cast.member2, cast.secretary):
        shared(user, cast.meeting.pk)
    return snapshots._shared[cast.meeting.pk]

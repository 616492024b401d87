"""Comments through API v1 (issue #3 "Comments"): on an agenda item or one of its documents
(optionally a page), visibility shared / secretariat / private; observers keep private notes only;
only the author edits (history kept) or deletes (tombstone); nothing changes after the session is
closed; what the caller may not see answers 404 like what does not exist.
"""

from __future__ import annotations

import pytest

from meetings import services
from meetings.models import Comment, CommentRevision, Event, Meeting

from ..conftest import upload
from ..pdfs import make_pdf

MISSING = 987654


def comments_path(item_id: int) -> str:
    return f"/api/v1/agenda-items/{item_id}/comments/"


def post_comment(cast, who: str, item_id: int | None = None, **payload):
    payload.setdefault("text", "Đề nghị làm rõ phạm vi điều chỉnh")
    return cast.client(getattr(cast, who)).post(comments_path(item_id or cast.item.pk), payload, format="json")


def edit(cast, who: str, comment_id: int, text: str = "Bản sửa"):
    return cast.client(getattr(cast, who)).post(f"/api/v1/comments/{comment_id}/edit/", {"text": text}, format="json")


def delete(cast, who: str, comment_id: int):
    return cast.client(getattr(cast, who)).post(f"/api/v1/comments/{comment_id}/delete/", format="json")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


@pytest.fixture
def room(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    return cast


def test_it_lets_participants_comment_with_every_visibility(room):
    for who in ("pm", "secretary", "member", "member2"):
        for visibility in ("shared", "secretariat", "private"):
            response = post_comment(room, who, visibility=visibility, text=f"{who} {visibility}")
            assert response.status_code == 201, (who, visibility)
            body = response.json()
            assert (body["author"], body["visibility"], body["text"]) == (
                getattr(room, who).username, visibility, f"{who} {visibility}")
            assert body["deleted"] is False and body["edited_at"] is None
    assert Comment.objects.count() == 12


def test_it_lets_observers_keep_private_notes_only(room):
    assert error(post_comment(room, "observer", visibility="shared")) == (403, "forbidden")
    assert error(post_comment(room, "observer", visibility="secretariat")) == (403, "forbidden")
    assert post_comment(room, "observer", visibility="private").status_code == 201
    assert list(Comment.objects.values_list("visibility", flat=True)) == ["private"]


def test_it_answers_those_who_may_not_see_the_item_like_a_missing_one(room):
    missing = post_comment(room, "member", item_id=MISSING)
    assert missing.status_code == 404
    for who in ("outsider", "admin", "archivist"):
        response = post_comment(room, who)
        assert (response.status_code, response.json()) == (404, missing.json()), who
        listing = room.client(getattr(room, who)).get(comments_path(room.item.pk))
        assert (listing.status_code, listing.json()) == (404, missing.json()), who
    assert room.client(None).post(comments_path(room.item.pk), {"text": "x"}, format="json").status_code in (401, 403)
    assert not Comment.objects.exists()


def test_it_validates_what_is_written(room):
    assert error(post_comment(room, "member", text="   ")) == (400, "invalid")
    assert error(post_comment(room, "member", text="x" * 4_001)) == (400, "text_too_long")
    assert error(post_comment(room, "member", visibility="everyone")) == (400, "invalid")
    assert error(post_comment(room, "member", page=1)) == (400, "page_without_document")
    assert not Comment.objects.exists()


def test_it_comments_on_a_page_of_a_document_of_the_item(room):
    doc = services.document_upload(actor=room.secretary, item=room.item, title="Dự thảo ba trang",
                                   classification="internal", upload=upload(data=make_pdf(["Ba trang"], pages=3)))
    ok = post_comment(room, "member", document=doc.pk, page=3)
    assert ok.status_code == 201 and (ok.json()["document"], ok.json()["page"]) == (doc.pk, 3)
    assert post_comment(room, "member", document=doc.pk).status_code == 201  # the whole document
    assert error(post_comment(room, "member", document=doc.pk, page=4)) == (400, "invalid_page")
    assert error(post_comment(room, "member", document=doc.pk, page=0)) == (400, "invalid")


def test_it_refuses_a_document_of_another_item_or_one_the_caller_may_not_read(room):
    other = services.agenda_item_add(actor=room.secretary, meeting=room.meeting, title="Mục khác")
    missing = post_comment(room, "member", document=MISSING)
    assert missing.status_code == 404
    # The document exists and the member may read it, but it belongs to another item.
    wrong_item = post_comment(room, "member", item_id=other.pk, document=room.public_doc.pk)
    assert (wrong_item.status_code, wrong_item.json()) == (404, missing.json())
    # Restricted to member01: member02 is told it does not exist; so is the observer for an internal one.
    hidden = post_comment(room, "member2", document=room.restricted_doc.pk)
    assert (hidden.status_code, hidden.json()) == (404, missing.json())
    internal = post_comment(room, "observer", document=room.internal_doc.pk, visibility="private")
    assert (internal.status_code, internal.json()) == (404, missing.json())
    assert not Comment.objects.exists()


def test_it_lets_only_the_author_change_a_comment(room):
    shared = services.comment_post(actor=room.member, item_id=room.item.pk, text="Chung")
    memo = services.comment_post(actor=room.member, item_id=room.item.pk, text="Văn phòng", visibility="secretariat")
    note = services.comment_post(actor=room.member, item_id=room.item.pk, text="Riêng", visibility="private")
    missing = edit(room, "member", MISSING)
    assert missing.status_code == 404
    events_before = Event.objects.count()
    for change in (edit, delete):
        # Those who can see it are told they may not change it ...
        for who, comment in (("member2", shared), ("pm", shared), ("observer", shared), ("secretary", memo)):
            assert error(change(room, who, comment.pk)) == (403, "forbidden"), (change, who)
        # ... those who cannot are told it does not exist, exactly like a missing one.
        for who, comment in (("member2", memo), ("member2", note), ("secretary", note), ("pm", memo),
                             ("outsider", shared), ("admin", shared)):
            response = change(room, who, comment.pk)
            assert (response.status_code, response.json()) == (404, missing.json()), (change, who)
    assert Event.objects.count() == events_before
    assert [c.text for c in Comment.objects.order_by("id")] == ["Chung", "Văn phòng", "Riêng"]
    assert not CommentRevision.objects.exists()


def test_it_keeps_the_history_of_an_edit_and_a_tombstone_for_a_deletion(room):
    comment = services.comment_post(actor=room.member, item_id=room.item.pk, text="Bản đầu")
    edited = edit(room, "member", comment.pk, "Bản hai")
    assert edited.status_code == 200 and edited.json()["text"] == "Bản hai" and edited.json()["edited_at"]
    assert edit(room, "member", comment.pk, "Bản ba").status_code == 200
    deleted = delete(room, "member", comment.pk)
    assert deleted.status_code == 200
    assert (deleted.json()["deleted"], deleted.json()["text"]) == (True, "")
    assert list(CommentRevision.objects.filter(comment=comment).values_list("text", flat=True)) == [
        "Bản đầu", "Bản hai", "Bản ba"]
    comment.refresh_from_db()
    assert comment.text == "Bản ba" and comment.deleted_at is not None  # kept, just not shown
    listing = room.client(room.member2).get(comments_path(room.item.pk)).json()["results"]
    assert [(c["id"], c["deleted"], c["text"]) for c in listing] == [(comment.pk, True, "")]
    assert error(edit(room, "member", comment.pk, "Sống lại")) == (409, "comment_deleted")
    assert error(delete(room, "member", comment.pk)) == (409, "comment_deleted")


def _replay(cast, who: str) -> list[dict]:
    response = cast.client(getattr(cast, who)).get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0")
    assert response.status_code == 200
    return response.json()["events"]


def test_an_edited_or_deleted_comment_is_not_handed_out_again_by_the_replay(room):
    """What its author rewrote or deleted leaves the event log's replay too (the same rule as
    annotations, docs/protocol.md): the earlier events carry the comment as it is now, with their
    seq and audience unchanged, so a resuming tablet ends in the same state."""
    comment = services.comment_post(actor=room.member, item_id=room.item.pk, text="Lời nói vội")
    before = _replay(room, "member2")
    assert "Lời nói vội" in str(before)
    edit(room, "member", comment.pk, "Lời đã cân nhắc")
    after_edit = _replay(room, "member2")
    assert "Lời nói vội" not in str(after_edit)
    about = [e for e in after_edit if e["kind"].startswith("comment.") and e["data"]["comment"]["id"] == comment.pk]
    assert [e["kind"] for e in about] == ["comment.posted", "comment.edited"]
    assert {e["data"]["comment"]["text"] for e in about} == {"Lời đã cân nhắc"}
    assert [e["seq"] for e in after_edit][: len(before)] == [e["seq"] for e in before]
    delete(room, "member", comment.pk)
    after_delete = _replay(room, "member2")
    assert "Lời đã cân nhắc" not in str(after_delete)
    assert all(e["data"]["comment"]["deleted"] and e["data"]["comment"]["text"] == "" for e in after_delete
               if e["kind"].startswith("comment.") and e["data"]["comment"]["id"] == comment.pk)
    # the record keeps every text the author wrote
    assert list(CommentRevision.objects.filter(comment=comment).values_list("text", flat=True)) == [
        "Lời nói vội", "Lời đã cân nhắc"]


@pytest.mark.parametrize("status", ["adjourned", "closed"])
def test_it_changes_nothing_once_the_session_is_closed(cast, status):
    cast.set_status(Meeting.Status.PUBLISHED)
    comment = services.comment_post(actor=cast.member, item_id=cast.item.pk, text="Trước khi bế mạc")
    cast.set_status(status)
    if status == "adjourned":  # adjourned: the session may still be commented on (before its minutes)
        assert post_comment(cast, "member").status_code == 201
        return
    events_before = Event.objects.count()
    assert error(post_comment(cast, "member")) == (409, "invalid_state")
    assert error(post_comment(cast, "member", visibility="private")) == (409, "invalid_state")
    assert error(edit(cast, "member", comment.pk)) == (409, "invalid_state")
    assert error(delete(cast, "member", comment.pk)) == (409, "invalid_state")
    assert Event.objects.count() == events_before
    comment.refresh_from_db()
    assert (comment.text, comment.deleted_at) == ("Trước khi bế mạc", None)


def test_it_refuses_comments_on_a_draft(cast):
    # The draft is seen by its secretary and chair only; even they cannot comment yet.
    assert error(post_comment(cast, "secretary")) == (409, "invalid_state")
    assert post_comment(cast, "member").status_code == 404


def test_deleting_and_editing_count_against_the_comment_limit(room, settings):
    """Issue 14: the delete view had no limit (the edit one had). Both count as comment writes."""
    from django.core.cache import caches

    from ecabinet import limits

    caches[limits.CACHE_ALIAS].clear()
    settings.RATE_COMMENTS_PER_MINUTE = 1000
    made = [services.comment_post(actor=room.member, item_id=room.item.pk, text=f"Ý kiến {n}") for n in range(4)]
    settings.RATE_COMMENTS_PER_MINUTE = 3
    assert [delete(room, "member", c.pk).status_code for c in made[:3]] == [200, 200, 200]
    assert error(delete(room, "member", made[3].pk)) == (429, "rate_limited")
    assert error(edit(room, "member", made[3].pk)) == (429, "rate_limited")
    assert Comment.objects.get(pk=made[3].pk).deleted_at is None
    caches[limits.CACHE_ALIAS].clear()

"""Snapshot + emitted events = fresh snapshot, for every kind of change (Zulip's ``verify_action``).

For each action, every persona's snapshot is taken before; the action runs through the services;
the events it wrote that each persona may see are applied to that persona's old snapshot with the
tablets' own reducer (``static/room/state.js``, run by Node); the result must equal a fresh
snapshot. A service that changes what a tablet shows without an event — or an event the reducer
misreads — fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from meetings import events, permissions, services
from meetings.models import Event, Meeting
from meetings.room import dumps
from meetings.snapshot import snapshot

from .conftest import upload
from .factories import UserFactory
from .pdfs import make_pdf

NODE = shutil.which("node")
SCRIPT = Path(__file__).parent / "js" / "apply_events.mjs"
PERSONAS = ("secretary", "pm", "member", "member2", "observer", "deputy")  # deputy: a substitute



@pytest.fixture(autouse=True)
def _node():
    # Under CI a missing Node.js is a failure, not a skip (the Makefile installs it).
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js is needed to run the tablets' reducer: apt-get install -y nodejs")
        pytest.skip("Node.js runs the tablets' reducer: apt-get install -y nodejs")


def _state(user, meeting_id: int) -> dict:
    return json.loads(dumps(snapshot(permissions.meeting_access(user, meeting_id))))


def _apply(cases: list[dict]) -> list[dict]:
    result = subprocess.run([NODE, str(SCRIPT)], input=json.dumps(cases), capture_output=True, text=True,
                            check=True, timeout=30)
    return json.loads(result.stdout)


def verify_action(cast, action, *, expect: set[str]) -> None:
    """Run ``action`` and check every persona converges; ``expect`` lists kinds it must emit."""
    meeting_id = cast.meeting.pk
    users = {name: getattr(cast, name) for name in PERSONAS}
    before = {name: _state(user, meeting_id) for name, user in users.items()}
    seq = Meeting.objects.get(pk=meeting_id).event_seq
    action()
    written = list(Event.objects.filter(meeting_id=meeting_id, seq__gt=seq).order_by("seq"))
    assert expect <= {e.kind for e in written}, f"expected {expect}, wrote {[e.kind for e in written]}"
    assert [e.seq for e in written] == list(range(seq + 1, seq + 1 + len(written))), "seq must be gapless"
    cases, fresh = [], []
    for name, user in users.items():
        access = permissions.meeting_access(user, meeting_id)
        visible = [json.loads(events.serialise(e)) for e in written if permissions.hears(access, e.audience)]
        cases.append({"state": before[name]["meeting"], "events": visible})
        fresh.append(_state(user, meeting_id)["meeting"])
    for name, applied, expected in zip(users, _apply(cases), fresh, strict=True):
        assert applied == expected, f"{name}'s tablet diverged from a fresh snapshot"


@pytest.fixture
def live(substitute):
    substitute.set_status(Meeting.Status.PUBLISHED)
    return substitute


def test_it_converges_for_comments_of_every_visibility(live):
    c = live
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Đồng ý với dự thảo"),
                  expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Góp ý riêng cho Văn phòng",
                                                   visibility="secretariat"), expect={"comment.posted"})
    note = []
    verify_action(c, lambda: note.append(services.comment_post(actor=c.member2, item_id=c.item.pk,
                                                               text="Ghi chú cá nhân", visibility="private")),
                  expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Trang 1 cần sửa",
                                                   document_id=c.internal_doc.pk, page=1), expect={"comment.posted"})
    shared = services.comment_post(actor=c.member2, item_id=c.item.pk, text="Ý kiến ban đầu")
    verify_action(c, lambda: services.comment_edit(actor=c.member2, comment_id=shared.pk, text="Ý kiến đã sửa"),
                  expect={"comment.edited"})
    verify_action(c, lambda: services.comment_delete(actor=c.member2, comment_id=shared.pk), expect={"comment.deleted"})
    verify_action(c, lambda: services.comment_edit(actor=c.member2, comment_id=note[0].pk, text="Ghi chú mới"),
                  expect={"comment.edited"})


def test_annotations_leave_every_tablets_room_state_as_a_fresh_snapshot_has_it(live):
    """Issue 17: the snapshot carries no annotations (the reader asks the API for them), and the
    tablets' reducer ignores ``annotation.*`` events: whoever hears them, the state still converges."""
    c = live
    note = {"document_id": c.internal_doc.pk, "kind": "note", "page": 1, "point": [0.5, 0.5]}
    made = {}
    for visibility in ("private", "secretariat", "shared"):
        verify_action(c, lambda v=visibility: made.setdefault(v, services.annotation_create(
            actor=c.member, visibility=v, text=f"Ghi chú {v}", **note)), expect={"annotation.created"})
    verify_action(c, lambda: services.annotation_update(actor=c.member, annotation_id=made["shared"].pk,
                                                        visibility="private"),
                  expect={"annotation.updated", "annotation.deleted"})
    verify_action(c, lambda: services.annotation_delete(actor=c.member, annotation_id=made["secretariat"].pk),
                  expect={"annotation.deleted"})
    verify_action(c, lambda: services.document_add_version(actor=c.secretary, document=c.internal_doc,
                                                           upload=upload(data=make_pdf(["Tờ trình sửa đổi"]))),
                  expect={"document.published"})


def test_it_converges_for_the_speaking_queue_and_the_chairs_control(live):
    c = live
    verify_action(c, lambda: services.speak_request(actor=c.member, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.speak_request(actor=c.observer, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.speak_withdraw(actor=c.observer, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.meeting_start(actor=c.pm, meeting=c.meeting), expect={"meeting.status"})
    verify_action(c, lambda: services.agenda_set_current(actor=c.pm, meeting_id=c.meeting.pk, item_id=c.item.pk),
                  expect={"agenda.current", "agenda_item.status"})
    verify_action(c, lambda: services.floor_give(actor=c.pm, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.floor_end(actor=c.secretary, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.agenda_item_set_status(actor=c.pm, item_id=c.item.pk, status="deferred"),
                  expect={"agenda_item.status"})
    verify_action(c, lambda: services.agenda_set_current(actor=c.pm, meeting_id=c.meeting.pk, item_id=None),
                  expect={"agenda.current"})


def test_it_converges_for_positions_and_the_consent_block(live):
    c = live
    second = services.agenda_item_add(actor=c.secretary, meeting=c.meeting, title="Báo cáo công tác tháng")
    verify_action(c, lambda: services.position_set(actor=c.member, item_id=c.item.pk, value="object",
                                                   note="Cần làm rõ Điều 3"), expect={"position.changed"})
    verify_action(c, lambda: services.position_set(actor=c.member2, item_id=second.pk, value="no_objection"),
                  expect={"position.changed"})
    verify_action(c, lambda: services.position_set(actor=c.member, item_id=c.item.pk, value="wish_to_speak"),
                  expect={"position.changed"})
    services.meeting_start(actor=c.pm, meeting=c.meeting)
    verify_action(c, lambda: services.consent_block_decide(actor=c.pm, meeting_id=c.meeting.pk, item_ids=[second.pk]),
                  expect={"agenda_item.status"})


def test_it_converges_for_attendance_participants_and_substitutes(live):
    c = live
    verify_action(c, lambda: services.attendance_set(actor=c.member, meeting=c.meeting, username=c.member.username,
                                                     status="confirmed"), expect={"attendance.changed"})
    verify_action(c, lambda: services.attendance_set(actor=c.secretary, meeting=c.meeting,
                                                     username=c.member2.username, status="absent",
                                                     reason="Công tác nước ngoài"), expect={"attendance.changed"})
    deputy = UserFactory(username="deputy02", full_name="Trần Thị Phó")
    verify_action(c, lambda: services.participant_add(actor=c.secretary, meeting=c.meeting, username="deputy02",
                                                      role="substitute", substitute_for=c.member2.username),
                  expect={"participant.added"})
    verify_action(c, lambda: services.substitute_approve(actor=c.pm, meeting=c.meeting, username=deputy.username),
                  expect={"participant.changed"})
    UserFactory(username="guest2", full_name="Khách Mời Hai")
    verify_action(c, lambda: services.participant_add(actor=c.secretary, meeting=c.meeting, username="guest2",
                                                      role="observer"), expect={"participant.added"})
    verify_action(c, lambda: services.participant_remove(actor=c.secretary, meeting=c.meeting, username="guest2"),
                  expect={"participant.removed"})


def test_it_converges_for_the_agenda_and_documents(live):
    c = live
    added = []
    verify_action(c, lambda: added.append(services.agenda_item_add(actor=c.secretary, meeting=c.meeting,
                                                                   title="Tờ trình dự án Luật")),
                  expect={"agenda_item.added"})
    verify_action(c, lambda: services.agenda_item_move(actor=c.secretary, item=added[0], position=1),
                  expect={"agenda.reordered"})
    for classification, recipients in (("public", []), ("internal", []), ("restricted", ["member02", "guest"])):
        verify_action(c, lambda cl=classification, r=recipients: services.document_upload(
            actor=c.secretary, item=added[0], title=f"Tài liệu {cl}", classification=cl,
            upload=upload(data=make_pdf([f"Nội dung {cl}"])), recipients=r), expect={"document.published"})
    verify_action(c, lambda: services.document_add_version(actor=c.secretary, document=c.restricted_doc,
                                                           upload=upload(data=make_pdf(["Bản sửa đổi lần 2"])),
                                                           note="Sửa Điều 2"), expect={"document.published"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Số liệu trang 1",
                                                   document_id=c.restricted_doc.pk, page=1), expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Ghi chú riêng",
                                                   visibility="private", document_id=c.restricted_doc.pk),
                  expect={"comment.posted"})
    # member01 loses the document (and the comments on it); member02 and the guest gain it with the
    # shared comment but not member01's private note.
    verify_action(c, lambda: services.document_set_recipients(actor=c.secretary, document=c.restricted_doc,
                                                              recipients=["member02", "guest"]),
                  expect={"document.published", "document.withdrawn"})
    # Given back, member01 sees the shared comment and their own note again.
    verify_action(c, lambda: services.document_set_recipients(actor=c.secretary, document=c.restricted_doc,
                                                              recipients=["member01", "member02"]),
                  expect={"document.published", "document.withdrawn"})


def test_it_converges_through_the_whole_lifecycle(live):
    c = live
    verify_action(c, lambda: services.meeting_start(actor=c.secretary, meeting=c.meeting), expect={"meeting.status"})
    verify_action(c, lambda: services.meeting_adjourn(actor=c.pm, meeting=c.meeting), expect={"meeting.status"})
    verify_action(c, lambda: services.meeting_close(actor=c.secretary, meeting=c.meeting), expect={"meeting.status"})


# --- motions and votes (issue #4) ------------------------------------------------------------------

def test_it_converges_for_motions_and_votes_named_and_secret(live):
    from voting.services import motions

    c = live
    verify_action(c, lambda: motions.meeting_set_voting_rules(actor=c.pm, meeting=c.meeting, rule="vn-government",
                                                              substitutes_may_vote=False, votes_may_change=True),
                  expect={"meeting.voting_rules"})
    services.meeting_start(actor=c.secretary, meeting=c.meeting)
    for user in (c.pm, c.member, c.member2):
        services.attendance_set(actor=c.secretary, meeting=c.meeting, username=user.username, status="present")
    for method in ("named", "secret"):
        put = []
        verify_action(c, lambda m=method: put.append(motions.motion_create(
            actor=c.secretary, item_id=c.item.pk, title=f"Nghị quyết ({m})", method=m)), expect={"motion.created"})
        motion_id = put[0].pk
        verify_action(c, lambda: motions.motion_open(actor=c.pm, motion_id=motion_id), expect={"motion.opened"})
        verify_action(c, lambda: motions.vote_cast(actor=c.member, motion_id=motion_id, choice="yes"),
                      expect={"vote.tally", "vote.mine"})
        verify_action(c, lambda: motions.vote_cast(actor=c.pm, motion_id=motion_id, choice="no"),
                      expect={"vote.tally", "vote.mine"})
        if method == "named":  # the session lets named votes change before the close
            verify_action(c, lambda: motions.vote_cast(actor=c.member, motion_id=motion_id, choice="abstain"),
                          expect={"vote.tally", "vote.mine"})
        verify_action(c, lambda: motions.motion_close(actor=c.secretary, motion_id=motion_id),
                      expect={"motion.closed"})


# --- paged comments (issue 14) ---------------------------------------------------------------------

def test_it_converges_when_comments_overflow_the_snapshots_window(live, settings):
    """With a window of two comments per item, new comments push the oldest out (counted as omitted),
    edits and deletions of comments outside the window change nothing, and a document gained or lost
    replaces the item's window — for every persona, whatever each of them may see."""
    settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM = 2
    c = live
    first = services.comment_post(actor=c.member2, item_id=c.item.pk, text="Ý kiến thứ nhất")
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Ý kiến thứ hai"),
                  expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Ý kiến thứ ba"),
                  expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member2, item_id=c.item.pk, text="Riêng tư",
                                                   visibility="private"), expect={"comment.posted"})
    verify_action(c, lambda: services.comment_post(actor=c.member, item_id=c.item.pk, text="Gửi Văn phòng",
                                                   visibility="secretariat"), expect={"comment.posted"})
    verify_action(c, lambda: services.comment_edit(actor=c.member2, comment_id=first.pk, text="Đã sửa (cũ)"),
                  expect={"comment.edited"})
    verify_action(c, lambda: services.comment_delete(actor=c.member2, comment_id=first.pk),
                  expect={"comment.deleted"})
    for n in range(3):
        verify_action(c, lambda n=n: services.comment_post(actor=c.member, item_id=c.item.pk, text=f"Trang 1 ({n})",
                                                           document_id=c.restricted_doc.pk, page=1),
                      expect={"comment.posted"})
    verify_action(c, lambda: services.document_set_recipients(actor=c.secretary, document=c.restricted_doc,
                                                              recipients=["member02", "guest"]),
                  expect={"document.published", "document.withdrawn"})
    verify_action(c, lambda: services.document_set_recipients(actor=c.secretary, document=c.restricted_doc,
                                                              recipients=["member01", "member02"]),
                  expect={"document.published", "document.withdrawn"})
    snap = _state(c.member, c.meeting.pk)["meeting"]
    assert len([x for x in snap["comments"] if x["agenda_item"] == c.item.pk]) == 2
    counts = snap["comment_counts"][str(c.item.pk)]
    assert counts["total"] - counts["omitted"] == 2 and counts["omitted"] > 0


# --- a bounded speaking queue (issue 14) -------------------------------------------------------------

def test_it_converges_when_a_long_debate_outgrows_the_queue_shown(live, settings):
    """With two finished turns shown, a debate of five turns lists the waiting speaker, the one
    speaking and the latest two finished turns, and counts all five as spoken — in the snapshot and
    in the state the events build, for every persona."""
    settings.SPEAK_QUEUE_DONE_SHOWN = 2
    c = live
    services.meeting_start(actor=c.pm, meeting=c.meeting)
    services.agenda_set_current(actor=c.pm, meeting_id=c.meeting.pk, item_id=c.item.pk)
    for speaker in (c.member, c.member2, c.member, c.member2, c.member):
        verify_action(c, lambda s=speaker: services.speak_request(actor=s, item_id=c.item.pk), expect={"speaker.queue"})
        verify_action(c, lambda: services.floor_give(actor=c.pm, item_id=c.item.pk), expect={"speaker.queue"})
        verify_action(c, lambda: services.floor_end(actor=c.pm, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.speak_request(actor=c.member2, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.floor_give(actor=c.pm, item_id=c.item.pk), expect={"speaker.queue"})
    verify_action(c, lambda: services.speak_request(actor=c.member, item_id=c.item.pk), expect={"speaker.queue"})
    snap = _state(c.observer, c.meeting.pk)["meeting"]
    queue = snap["speakers"][str(c.item.pk)]
    assert [r["status"] for r in queue] == ["done", "done", "speaking", "waiting"]
    assert snap["speakers_spoken"][str(c.item.pk)] == 5

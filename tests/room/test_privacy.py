"""Private notes and secretariat comments never reach anyone else (issue #3 "Done means"): not
over HTTP (the comment list, the snapshot, the event log), not over the live socket, not over
replay (``?after_seq=`` and ``resume``). A private note is its author's alone; a secretariat
comment is its author's and the session secretariat's.
"""

from __future__ import annotations

import json

import pytest

from meetings import services
from meetings.models import Meeting

from .wsclient import Tablet, call, run, token_headers

PRIVATE = "GHI-CHÚ-RIÊNG của Bộ trưởng"
PRIVATE_EDITED = "GHI-CHÚ-RIÊNG đã sửa"
SECRETARIAT = "CHỈ-VĂN-PHÒNG: đề nghị lùi thời hạn"
SECRETARIAT_EDITED = "CHỈ-VĂN-PHÒNG đã sửa"
SECRETS = (PRIVATE, PRIVATE_EDITED, SECRETARIAT, SECRETARIAT_EDITED)

# What each viewer may read of member01's private note and secretariat comment.
MAY_READ = {
    "member": set(SECRETS),
    "member2": set(),
    "observer": set(),
    "pm": set(),
    "secretary": {SECRETARIAT, SECRETARIAT_EDITED},
}


def write_secrets(cast) -> tuple[int, int]:
    note = services.comment_post(actor=cast.member, item_id=cast.item.pk, text=PRIVATE, visibility="private")
    services.comment_edit(actor=cast.member, comment_id=note.pk, text=PRIVATE_EDITED)
    memo = services.comment_post(actor=cast.member, item_id=cast.item.pk, text=SECRETARIAT,
                                 visibility="secretariat")
    services.comment_edit(actor=cast.member, comment_id=memo.pk, text=SECRETARIAT_EDITED)
    services.comment_post(actor=cast.member2, item_id=cast.item.pk, text="Ý kiến chung")
    return note.pk, memo.pk


def readable(payload, texts=SECRETS) -> set[str]:
    """Which of the secret texts appear anywhere in a payload (a response body, messages)."""
    raw = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return {t for t in texts if t in raw}


def current(payload) -> set[str]:
    """Current texts only: the comment list and the snapshot show the latest text, not history."""
    return readable(payload, (PRIVATE_EDITED, SECRETARIAT_EDITED))


def test_it_keeps_them_out_of_every_http_read(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    note, memo = write_secrets(cast)
    m = cast.meeting.pk
    for who, may in MAY_READ.items():
        client = cast.client(getattr(cast, who))
        comments = client.get(f"/api/v1/agenda-items/{cast.item.pk}/comments/")
        snapshot = client.get(f"/api/v1/meetings/{m}/snapshot/")
        log = client.get(f"/api/v1/meetings/{m}/events/?after_seq=0")
        assert comments.status_code == snapshot.status_code == log.status_code == 200, who
        ids = {c["id"] for c in comments.json()["results"]}
        assert (note in ids, memo in ids) == (PRIVATE in may, SECRETARIAT in may), who
        assert current(comments.content.decode()) == current(list(may)), who
        assert current(snapshot.content.decode()) == current(list(may)), who
        # The log's replay carries the comments as they are now: an edited comment's earlier events
        # no longer hand out the words its author replaced (docs/protocol.md, "Withdrawn words").
        assert readable(log.content.decode()) == current(list(may)), who
        assert all(e["seq"] > 0 for e in log.json()["events"])


def test_it_keeps_private_notes_from_the_archivist_of_a_closed_session(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    write_secrets(cast)
    cast.set_status(Meeting.Status.CLOSED)
    client = cast.client(cast.archivist)
    m = cast.meeting.pk
    for path in (f"/api/v1/agenda-items/{cast.item.pk}/comments/", f"/api/v1/meetings/{m}/snapshot/",
                 f"/api/v1/meetings/{m}/events/?after_seq=0"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert not readable(response.content.decode(), (PRIVATE, PRIVATE_EDITED)), path


def test_it_answers_the_outsider_and_the_administrator_404_everywhere(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    write_secrets(cast)
    m = cast.meeting.pk
    for user in (cast.outsider, cast.admin):
        client = cast.client(user)
        for path in (f"/api/v1/agenda-items/{cast.item.pk}/comments/", f"/api/v1/meetings/{m}/snapshot/",
                     f"/api/v1/meetings/{m}/events/?after_seq=0"):
            response = client.get(path)
            assert response.status_code == 404 and not readable(response.content.decode()), (user, path)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_them_off_every_other_tablet_live_and_on_replay(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    headers = {who: token_headers(getattr(cast, who)) for who in MAY_READ}
    start = cast.meeting.event_seq
    received: dict[str, dict[str, list]] = {who: {} for who in MAY_READ}

    def last_write(message: dict) -> bool:  # write_secrets ends with this shared comment, seen by all
        return "Ý kiến chung" in json.dumps(message, ensure_ascii=False)

    async def scenario():
        tablets = {who: await Tablet(h, cast.meeting.pk).open() for who, h in headers.items()}
        await call(write_secrets)(cast)
        for who, tablet in tablets.items():
            received[who]["live"] = await tablet.until(last_write)
            # On the same socket: a resume from before the session's first event.
            await tablet.send({"type": "resume", "after_seq": 0})
            received[who]["resume"] = await tablet.until_resumed()
        for tablet in tablets.values():
            assert await tablet.quiet(0.05)
        for tablet in tablets.values():
            await tablet.close()
        for who, h in headers.items():
            for after in (0, start):
                tablet = await Tablet(h, cast.meeting.pk, after_seq=after).open()
                received[who][f"after_seq={after}"] = await tablet.until_resumed()
                await tablet.close()
            tablet = await Tablet(h, cast.meeting.pk).open()
            received[who]["snapshot"] = [await tablet.recv()]
            await tablet.close()

    run(scenario)
    for who, may in MAY_READ.items():
        for way, messages in received[who].items():
            assert messages, (who, way)
            if way == "live":  # heard as it was said: the first text, then the edit
                assert readable(messages) == may, (who, way)
            else:  # a snapshot or a replay gives the comments as they are now, never the replaced words
                assert readable(messages) == current(list(may)), (who, way)
            # Whatever else they got, they got the shared comment.
            assert "Ý kiến chung" in json.dumps(messages, ensure_ascii=False), (who, way)


def test_it_keeps_comments_on_a_document_to_the_readers_of_the_document(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    services.comment_post(actor=cast.member, item_id=cast.item.pk, document_id=cast.restricted_doc.pk, page=1,
                          text="Số liệu ở trang 1 của báo cáo hạn chế")
    services.comment_post(actor=cast.member, item_id=cast.item.pk, document_id=cast.internal_doc.pk, page=1,
                          text="Tờ trình nội bộ, trang 1")
    # Who may not read the document: member02 the restricted one, the guest neither.
    for user, hidden in ((cast.member2, {cast.restricted_doc.pk}),
                         (cast.observer, {cast.restricted_doc.pk, cast.internal_doc.pk})):
        client = cast.client(user)
        comments = client.get(f"/api/v1/agenda-items/{cast.item.pk}/comments/").json()["results"]
        log = client.get(f"/api/v1/meetings/{cast.meeting.pk}/events/?after_seq=0").json()["events"]
        on_hidden = [c["text"] for c in comments if c["document"] in hidden]
        in_log = [e["data"]["comment"]["text"] for e in log
                  if e["kind"].startswith("comment.") and e["data"]["comment"]["document"] in hidden]
        assert (on_hidden, in_log) == ([], []), user.username

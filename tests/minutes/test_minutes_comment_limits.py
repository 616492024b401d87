"""Comments on the draft minutes: the room's comment limits apply (API and screen), and the minutes'
answer lists a bounded page of them (issue 14: a member posted 250 comments of 4,000 characters in
3.4 s, and ``GET …/minutes/`` then returned 1 MB)."""

from __future__ import annotations

import pytest

from ecabinet import clock as server_clock
from meetings.models import MinutesComment

from ..test_rate_limits import Clock

T0 = 1_800_000_000 + 10


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr(server_clock, "now", clock)
    return clock


def _post(session, user, text):
    return session.client(user).post(f"/api/v1/meetings/{session.meeting.pk}/minutes/comments/", {"text": text},
                                     format="json")


def test_minutes_comments_are_rate_limited_like_the_room_s(drafted, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = 3
    for n in range(3):
        assert _post(drafted, drafted.member, f"Ý kiến {n}").status_code == 201
    refused = _post(drafted, drafted.member, "Ý kiến thừa")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert MinutesComment.objects.count() == 3
    assert _post(drafted, drafted.member2, "Người khác").status_code == 201  # another account
    # The screen's form counts against the same budget.
    page = drafted.client(drafted.member)
    page.force_login(drafted.member)
    page.post(f"/meetings/{drafted.meeting.pk}/minutes/comment/", {"text": "Qua màn hình"})
    assert MinutesComment.objects.filter(author=drafted.member).count() == 3
    clock.now += 60
    assert _post(drafted, drafted.member, "Phút sau").status_code == 201


def test_minutes_comment_characters_are_capped_per_hour(drafted, clock, settings):
    settings.RATE_COMMENTS_PER_MINUTE = settings.RATE_COMMENTS_PER_HOUR = 1000
    settings.RATE_COMMENT_CHARS_PER_HOUR = 10_000
    long = "Đ" * 4000
    assert [_post(drafted, drafted.member, long).status_code for _ in range(3)] == [201, 201, 429]
    assert MinutesComment.objects.count() == 2


def test_the_minutes_answer_lists_the_newest_page_of_comments(drafted, settings):
    settings.MINUTES_COMMENTS_PAGE = 50
    author = drafted.member
    MinutesComment.objects.bulk_create([
        MinutesComment(minutes=drafted.minutes, author=author, text=f"{n} " + "x" * 3990,
                       created_at=drafted.minutes.updated_at) for n in range(260)])
    client = drafted.client(drafted.secretary)
    url = f"/api/v1/meetings/{drafted.meeting.pk}/minutes/"
    first = client.get(url)
    assert first.status_code == 200
    body = first.json()
    assert len(body["comments"]) == 50 and body["comments_total"] == 260 and body["comments_more"] is True
    assert len(first.content) < 300_000
    ids = [c["id"] for c in body["comments"]]
    assert ids == sorted(ids) and ids[-1] == MinutesComment.objects.order_by("-pk").first().pk
    seen = list(ids)
    while body["comments_more"]:
        body = client.get(url, {"comments_before": seen[0]}).json()
        seen = [c["id"] for c in body["comments"]] + seen
    assert seen == list(MinutesComment.objects.order_by("pk").values_list("pk", flat=True))
    for bad in ("-1", "abc", "9" * 19, "1e3"):
        answer = client.get(url, {"comments_before": bad})
        assert answer.status_code == 400 and answer.json()["code"] == "invalid"

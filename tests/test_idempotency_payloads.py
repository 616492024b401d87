"""A POST whose answer holds datetimes (a comment) is stored and replayed with its key."""

from meetings.models import Comment, Meeting


def test_it_replays_an_answer_with_datetimes_identically(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    client = cast.client(cast.member)
    url = f"/api/v1/agenda-items/{cast.item.pk}/comments/"
    first = client.post(url, {"text": "Đồng ý"}, format="json", HTTP_IDEMPOTENCY_KEY="comment-1")
    again = client.post(url, {"text": "Đồng ý"}, format="json", HTTP_IDEMPOTENCY_KEY="comment-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and "created_at" in first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Comment.objects.filter(text="Đồng ý").count() == 1

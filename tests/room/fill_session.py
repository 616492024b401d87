"""Fill a session to the room's limits (``fill()``, run by ``manage.py shell`` in a test server's environment).

A new session with the demo's cast (the chair, 26 members, the secretary, the guest), as many agenda
items as ``MEETING_MAX_AGENDA_ITEMS`` allows, on each of them ``ROOM_SNAPSHOT_COMMENTS_PER_ITEM`` + 2
shared comments of ``COMMENT_MAX_CHARS`` characters that cost the most bytes we send (characters
outside the BMP, quotes and backslashes, U+2028), every member's position with the longest note on
every item, and a request to speak from each member on each item. All through the services, as the
API would. Returns ``{"meeting": id, "item": first item id}``.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from meetings import services
from meetings.models import Meeting

User = get_user_model()


def worst_text(chars: int, salt: int) -> str:
    """``chars`` characters, almost all 4 bytes in UTF-8, with quotes, backslashes and U+2028."""
    pattern = "😀𝕍\"\\\u2028🇻🇳"
    text = f"{salt}:" + (pattern * (chars // len(pattern) + 1))
    return text[:chars]


def fill() -> dict:
    secretary = User.objects.get(username="secretary")
    members = list(User.objects.filter(username__startswith="member").order_by("username"))
    meeting = services.meeting_create(actor=secretary, title=worst_text(300, 0), kind="regular",
                                      starts_at=timezone.now() + timedelta(days=1), location=worst_text(300, 1))
    services.participant_add(actor=secretary, meeting=meeting, username="pm", role="chair")
    for member in members:
        services.participant_add(actor=secretary, meeting=meeting, username=member.username, role="member")
    services.participant_add(actor=secretary, meeting=meeting, username="guest", role="observer")
    items = [services.agenda_item_add(actor=secretary, meeting=meeting, title=worst_text(500, n))
             for n in range(settings.MEETING_MAX_AGENDA_ITEMS)]
    services.meeting_publish(actor=secretary, meeting=meeting)
    for n, item in enumerate(items):
        for k in range(settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM + 2):
            author = members[(n + k) % len(members)]
            services.comment_post(actor=author, item_id=item.pk, text=worst_text(settings.COMMENT_MAX_CHARS, k))
        for member in members:
            services.position_set(actor=member, item_id=item.pk, value="object", note=worst_text(500, n))
            services.speak_request(actor=member, item_id=item.pk)
    meeting = Meeting.objects.get(pk=meeting.pk)
    return {"meeting": meeting.pk, "item": items[0].pk}


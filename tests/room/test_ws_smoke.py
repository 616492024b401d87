import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from ecabinet.asgi import application
from meetings import services
from meetings.models import Meeting


def headers(user):
    token, _ = Token.objects.get_or_create(user=user)
    return [(b"origin", b"http://127.0.0.1:8000"), (b"authorization", f"Token {token.key}".encode())]


@pytest.mark.django_db(transaction=True)
def test_it_sends_a_snapshot_then_live_events(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    member_headers = headers(cast.member)

    async def scenario():
        comm = WebsocketCommunicator(application, f"/ws/meetings/{cast.meeting.pk}/", headers=member_headers)
        connected, _ = await comm.connect()
        assert connected
        first = json.loads(await comm.receive_from(timeout=5))
        assert first["type"] == "snapshot"
        await sync_to_async(services.comment_post)(actor=cast.member2, item_id=cast.item.pk, text="Tôi đồng ý")
        event = json.loads(await comm.receive_from(timeout=5))
        assert event["kind"] == "comment.posted" and event["seq"] > first["seq"]
        await comm.disconnect()

    async_to_sync(scenario)()

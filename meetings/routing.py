from django.urls import path

from ecabinet import converters  # noqa: F401  (registers <id:...>: ids of at most 18 digits)

from .consumers import MeetingConsumer

websocket_urlpatterns = [
    path("ws/meetings/<id:meeting_id>/", MeetingConsumer.as_asgi()),
]

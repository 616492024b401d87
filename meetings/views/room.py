"""The live session room (issue #3 §7): a tablet page drawn by ``static/room/room.js`` from the
socket's snapshot and events.

The view only checks access, writes the ``meeting.viewed`` audit entry and serves the empty
containers; everything live comes over ``/ws/meetings/<id>/`` and every write goes through the HTTP
API (``/api/v1/``) with an ``Idempotency-Key``, from the browser's outbox. It is the one screen
that needs JavaScript, and says so.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from ecabinet import clock
from ecabinet.screens import domain_errors
from meetings import offline, services


@login_required
@ensure_csrf_cookie  # the outbox reads the token from the cookie for its X-CSRFToken header
@domain_errors
def meeting_room(request: HttpRequest, pk: int) -> HttpResponse:
    access = services.meeting_view(actor=request.user, meeting_id=pk)
    return render(request, "meetings/room.html", {"access": access, "meeting": access.meeting,
                                                      "comment_max": settings.COMMENT_MAX_CHARS,
                                                      "offline": offline.session_state(access, clock.moment())})

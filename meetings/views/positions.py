"""The table of positions before the session (secretariat and chair), and the chair's consent block:
uncontested items marked decided together."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet.converters import whole_number
from ecabinet.screens import domain_errors, safe_next
from meetings import permissions, selectors, services
from meetings.models import Position

from .common import access_or_404
from .sessions import chair_of


def _staff_or_404(user, pk: int):
    """The positions table is for whoever sees everyone's positions (``permissions.sees_all_positions``:
    the secretariat and the chair; the archivist in a closed session), as in the room's snapshot."""
    access = access_or_404(user, pk)
    if not permissions.sees_all_positions(access):
        raise Http404
    return access


@login_required
@domain_errors
def meeting_positions(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_404(request.user, pk)
    access = services.meeting_view(actor=request.user, meeting_id=pk, what="positions")
    meeting = access.meeting
    items = list(meeting.agenda_items.select_related("presenter_ministry").order_by("position"))
    people = [p for p in selectors.participants(meeting) if p.role in permissions.POSITION_HOLDERS and p.is_approved]
    marks: dict[tuple[int, int], Position] = {
        (p.agenda_item_id, p.user_id): p for p in Position.objects.filter(agenda_item__meeting=meeting)
    }
    candidates = {i.pk for i in services.consent_candidates(meeting)}
    rows = []
    for item in items:
        cells = [marks.get((item.pk, person.user_id)) for person in people]
        counts = {value: sum(1 for c in cells if c and c.value == value) for value in Position.Value.values}
        rows.append({"item": item, "cells": cells, "counts": counts, "unmarked": cells.count(None),
                     "candidate": item.pk in candidates})
    return render(request, "meetings/positions.html", {
        "access": access, "meeting": meeting, "people": people, "rows": rows, "tab": "positions",
        "chair": chair_of(meeting, access), "can_take_block": access.can_chair and meeting.status == "in_progress",
        "candidates": candidates,
    })


@login_required
@require_POST
@domain_errors
def consent_block(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    chosen = [n for n in map(whole_number, request.POST.getlist("items")) if n is not None]
    decided = services.consent_block_decide(actor=request.user, meeting_id=pk, item_ids=chosen)
    messages.success(request, _("%(n)s items were taken as a consent block and marked decided.") % {"n": len(decided)})
    return redirect(safe_next(request, reverse("meeting_positions", args=[pk])))

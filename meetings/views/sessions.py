"""Screens of a session as a whole: my sessions, creating one, the agenda page, state transitions,
attendance and the read-receipt table."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ecabinet import clock
from ecabinet.errors import DomainError
from ecabinet.screens import domain_errors, report_error, report_form_errors, safe_next
from meetings import offline, permissions, selectors, services
from meetings.forms import AttendanceForm, MeetingForm
from meetings.models import Meeting, Participant

from .common import access_or_404, manager_or_404

S = Meeting.Status
ACTIVE = (S.DRAFT, S.PUBLISHED, S.IN_PROGRESS)

# action name → (service, who may press it, label, message after success)
TRANSITIONS = {
    "publish": (services.meeting_publish, S.DRAFT, "can_run", gettext_lazy("Publish and send invitations"),
                gettext_lazy("The session is published; the invitations have been sent.")),
    "start": (services.meeting_start, S.PUBLISHED, "can_run", gettext_lazy("Start the session"),
              gettext_lazy("The session has started.")),
    "adjourn": (services.meeting_adjourn, S.IN_PROGRESS, "can_run", gettext_lazy("Adjourn the session"),
                gettext_lazy("The session is adjourned.")),
    "close": (services.meeting_close, S.ADJOURNED, "can_run", gettext_lazy("Close the session"),
              gettext_lazy("The session is closed; its record is now final.")),
}


def transitions_for(access: permissions.MeetingAccess) -> list[dict]:
    """The state buttons this caller may press now (at most one, as the states form a line)."""
    return [
        {"action": action, "label": label, "url": reverse("meeting_transition", args=[access.meeting.pk, action])}
        for action, (_service, source, right, label, _done) in TRANSITIONS.items()
        if access.meeting.status == source and getattr(access, right)
    ]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    services.meetings_list_viewed(actor=request.user)
    meetings = list(permissions.meetings_visible_to(request.user).order_by("starts_at", "id"))
    upcoming = [m for m in meetings if m.status in ACTIVE]
    earlier = [m for m in reversed(meetings) if m.status not in ACTIVE]
    return render(request, "meetings/home.html", {
        "upcoming": upcoming, "earlier": earlier,
        "can_create": permissions.can_create_meeting(request.user),
    })


@login_required
def meeting_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create_meeting(request.user):
        raise Http404
    form = MeetingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            report_error(request, exc)
        else:
            messages.success(request, _("The session was created as a draft. Now build its agenda and invite "
                                        "the participants."))
            return redirect("meeting_prepare", pk=meeting.pk)
    return render(request, "meetings/meeting_form.html", {"form": form})


def chair_of(meeting: Meeting, access: permissions.MeetingAccess | None = None) -> Participant | None:
    """The session's chair with their account and ministry: from ``access`` when its look-up read it."""
    if access is not None and access.chair_known:
        return access.chair
    return meeting.participants.filter(role=Participant.Role.CHAIR).select_related("user__ministry").first()


@login_required
@domain_errors
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access = services.meeting_view(actor=request.user, meeting_id=pk)
    meeting = access.meeting
    # The agenda is read within the header's statement (followup_tags.header_counts, which the page
    # renders first; issue 19): what the page shows of it is worked out as the template asks for it.
    agenda = selectors.PageAgenda(access)
    me = access.participant
    chair = chair_of(meeting, access)
    summary = functools.cache(lambda: _agenda_summary(agenda.rows()))
    return render(request, "meetings/meeting_detail.html", {
        "access": access, "meeting": meeting, "items": agenda.rows, "chair": chair, "me": me, "tab": "agenda",
        "transitions": transitions_for(access),
        "document_count": lambda: summary()[0],
        "unread_count": lambda: summary()[1],
        "planned_total": lambda: summary()[2],
        "can_answer_invitation": permissions.may_answer_invitation(access),
        "publish_blockers": lambda: _publish_blockers(access, agenda.rows(), chair),
        "offline": offline.session_state(access, clock.moment()),
        # The header's statement also reads the session's tasks and written ballots the page lists
        # (followup_tags.header_counts; issue 19: one statement for the four, not four).
        "session_lists": meeting.pk,
        "session_agenda": agenda,
    })


def _agenda_summary(items: list) -> tuple[int, int, int]:
    """The agenda screen's figures: documents for the reader, of which new or updated, planned minutes."""
    documents = [doc for item in items for doc in item.visible_documents]
    return (len(documents), sum(1 for d in documents if d.read_state.is_new or d.read_state.is_updated),
            sum(item.planned_minutes or 0 for item in items))


def _publish_blockers(access: permissions.MeetingAccess, items: list, chair: Participant | None) -> list[str]:
    """What the secretariat still has to do before the session may be published (the service has the
    final word; this only saves a refused click)."""
    if access.meeting.status != S.DRAFT or not access.can_run:
        return []
    blockers = []
    if not items:
        blockers.append(_("Add at least one agenda item."))
    if chair is None:
        blockers.append(_("Invite the chair."))
    return blockers


@login_required
@require_POST
@domain_errors
def meeting_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in TRANSITIONS:
        raise Http404
    service, _source, _right, _label, done = TRANSITIONS[action]
    access = access_or_404(request.user, pk)
    service(actor=request.user, meeting=access.meeting)
    messages.success(request, str(done))
    return redirect(safe_next(request, reverse("meeting_detail", args=[pk])))


@login_required
@require_POST
@domain_errors
def meeting_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_or_404(request.user, pk)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        participant = services.attendance_set(actor=request.user, meeting=access.meeting, **form.cleaned_data)
        if participant.user_id == request.user.pk:
            messages.success(request, _("Your answer was recorded: %(status)s.")
                             % {"status": participant.get_attendance_display()})
        else:
            messages.success(request, _("Attendance of %(name)s: %(status)s.")
                             % {"name": participant.user.get_full_name(),
                                "status": participant.get_attendance_display()})
    return redirect(safe_next(request, reverse("meeting_detail", args=[pk])))


@login_required
@domain_errors
def meeting_receipts(request: HttpRequest, pk: int) -> HttpResponse:
    manager_or_404(request.user, pk)
    access = services.meeting_view(actor=request.user, meeting_id=pk, what="receipts")
    documents, people, opened = selectors.read_receipt_table(access.meeting)
    readable = permissions.document_readers(access.meeting, people)
    rows = []
    for doc in documents:
        cells, read_current, readers = [], 0, 0
        for person in people:
            receipt = opened.get((doc.pk, person.user_id))
            may_read = (doc.pk, person.user_id) in readable
            readers += may_read
            if receipt is None:
                state = "none" if may_read else "na"
            elif receipt.version_id == doc.current_version_id:
                state, read_current = "current", read_current + 1
            else:
                state = "older"
            cells.append({"state": state, "receipt": receipt, "person": person})
        rows.append({"document": doc, "cells": cells, "read_current": read_current, "readers": readers})
    return render(request, "meetings/receipts.html", {
        "access": access, "meeting": access.meeting, "people": people, "rows": rows, "tab": "receipts",
        "chair": chair_of(access.meeting, access),
    })

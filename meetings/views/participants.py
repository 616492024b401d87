"""Who takes part: invitations (secretariat), substitutes (chair), attendance (secretariat and chair)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet.permissions import may_manage_devices_of
from ecabinet.screens import domain_errors, report_form_errors, safe_next
from meetings import permissions, selectors, services
from meetings.forms import ParticipantForm
from meetings.models import Meeting, Participant

from .common import access_or_404
from .sessions import transitions_for

User = get_user_model()
RECORDABLE = (Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS)


def _person_label(user) -> str:
    ministry = user.ministry.name if user.ministry_id else ""
    return f"{user.get_full_name()} — {ministry}" if ministry else user.get_full_name()


def participant_form(meeting: Meeting, people: list[Participant], data=None) -> ParticipantForm:
    """The invitation form: active accounts not yet invited; members who may be given a substitute."""
    invitable = (User.objects.filter(is_active=True).exclude(participations__meeting=meeting)
                 .select_related("ministry").order_by("full_name", "username"))
    members = [(p.user.username, p.user.get_full_name()) for p in people
               if p.role in permissions.STOOD_IN_FOR]
    return ParticipantForm(data, people=[(u.username, _person_label(u)) for u in invitable], members=members)


@login_required
@domain_errors
def meeting_participants(request: HttpRequest, pk: int) -> HttpResponse:
    if not access_or_404(request.user, pk).can_run:
        raise Http404
    access = services.meeting_view(actor=request.user, meeting_id=pk, what="participants")
    meeting = access.meeting
    people = selectors.participants(meeting)
    preparable = meeting.status in services.PREPARABLE
    return render(request, "meetings/participants.html", {
        "access": access, "meeting": meeting, "people": people, "tab": "participants",
        "chair": next((p for p in people if p.role == Participant.Role.CHAIR), None),
        "transitions": transitions_for(access),
        "can_invite": access.can_manage and preparable,
        "can_approve": access.can_chair and preparable,
        "can_record": access.can_run and meeting.status in RECORDABLE,
        "invite_form": participant_form(meeting, people) if access.can_manage and preparable else None,
        "attendance_choices": Participant.Attendance.choices,
        "counts": _attendance_counts(people),
        # Whose lost tablet the viewer may revoke: ``ecabinet.permissions`` answers, not the template.
        "devices_of": {p.user_id for p in people if may_manage_devices_of(request.user, p.user)
                       and p.user_id != request.user.pk},
    })


def _attendance_counts(people: list[Participant]) -> list[tuple[str, int]]:
    counted = [p for p in people if p.role != Participant.Role.SECRETARY]
    return [(label, sum(1 for p in counted if p.attendance == value))
            for value, label in Participant.Attendance.choices]


@login_required
@require_POST
@domain_errors
def participant_add(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_or_404(request.user, pk)
    back = safe_next(request, reverse("meeting_participants", args=[pk]))
    if not access.can_manage:
        raise Http404
    form = participant_form(access.meeting, selectors.participants(access.meeting), request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect(back)
    data = form.cleaned_data
    participant = services.participant_add(actor=request.user, meeting=access.meeting, username=data["username"],
                                           role=data["role"], substitute_for=data["substitute_for"] or None)
    if participant.is_approved:
        messages.success(request, _("%(name)s was invited as %(role)s.")
                         % {"name": participant.user.get_full_name(), "role": participant.get_role_display()})
    else:
        messages.success(request, _("%(name)s was added as a substitute; the chair must approve them before "
                                    "they can open the session.") % {"name": participant.user.get_full_name()})
    return redirect(back)


@login_required
@require_POST
@domain_errors
def participant_remove(request: HttpRequest, pk: int, username: str) -> HttpResponse:
    access = access_or_404(request.user, pk)
    services.participant_remove(actor=request.user, meeting=access.meeting, username=username)
    messages.success(request, _("The invitation was withdrawn and access removed."))
    return redirect(safe_next(request, reverse("meeting_participants", args=[pk])))


@login_required
@require_POST
@domain_errors
def substitute_approve(request: HttpRequest, pk: int, username: str) -> HttpResponse:
    access = access_or_404(request.user, pk)
    participant = services.substitute_approve(actor=request.user, meeting=access.meeting, username=username)
    messages.success(request, _("%(name)s is approved as substitute for %(member)s.")
                     % {"name": participant.user.get_full_name(),
                        "member": participant.substitute_for.get_full_name()})
    return redirect(safe_next(request, reverse("meeting_participants", args=[pk])))


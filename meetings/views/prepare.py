"""The secretariat's preparation screen: agenda items, their order, and documents."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet import limits
from ecabinet.http_limits import body_limit
from ecabinet.screens import domain_errors, report_form_errors, safe_next
from meetings import permissions, selectors, services
from meetings.forms import AgendaItemForm, DocumentUploadForm, MoveForm, OfflineForm, RecipientsForm, VersionForm
from meetings.models import Document, Participant

from .common import access_or_404, item_or_404, manager_or_404
from .sessions import chair_of, transitions_for


def recipient_choices(people: list[Participant]) -> list[tuple[str, str]]:
    """Who may be named as a recipient of a restricted document: the participants other than the
    secretariat, who sees every document anyway."""
    return [
        (p.user.username, f"{p.user.get_full_name()} — {p.get_role_display()}")
        for p in people if p.role != Participant.Role.SECRETARY
    ]


@login_required
@domain_errors
def meeting_prepare(request: HttpRequest, pk: int) -> HttpResponse:
    manager_or_404(request.user, pk)
    access = services.meeting_view(actor=request.user, meeting_id=pk, what="prepare")
    meeting = access.meeting
    items = selectors.agenda(access)
    people = selectors.participants(meeting)
    choices = recipient_choices(people)
    usernames = {p.user_id: p.user.username for p in people}
    recipients = permissions.recipients_by_document(meeting)
    for item in items:
        # Each form on the page gets its own id prefix, so labels point at the right inputs.
        item.upload_form = DocumentUploadForm(recipient_choices=choices, auto_id=f"up{item.pk}_%s")
        for doc in item.visible_documents:
            doc.version_form = VersionForm(auto_id=f"v{doc.pk}_%s")
            if doc.classification == Document.Classification.RESTRICTED:
                chosen = [usernames[i] for i in recipients.get(doc.pk, ()) if i in usernames]
                doc.recipient_form = RecipientsForm(recipient_choices=choices, initial={"recipients": chosen},
                                                    auto_id=f"r{doc.pk}_%s")
                doc.recipient_count = len(chosen)
    return render(request, "meetings/prepare.html", {
        "access": access, "meeting": meeting, "items": items, "tab": "prepare", "chair": chair_of(meeting, access),
        "transitions": transitions_for(access),
        "editable": meeting.status in services.PREPARABLE,
        "item_form": AgendaItemForm(auto_id="new_item_%s"),
        "offline_form": OfflineForm(auto_id="offline_%s", initial={
            "offline_copies": meeting.offline_copies, "offline_restricted": meeting.offline_restricted}),
    })


@login_required
@require_POST
@domain_errors
def meeting_offline(request: HttpRequest, pk: int) -> HttpResponse:
    """The secretariat's offline settings of the session (docs/offline.md)."""
    access = access_or_404(request.user, pk)
    form = OfflineForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        services.meeting_set_offline(actor=request.user, meeting=access.meeting, **form.cleaned_data)
        messages.success(request, _("The offline settings of the session were saved; tablets apply them at "
                                    "their next connection."))
    return redirect(f"{safe_next(request, reverse('meeting_prepare', args=[pk])).split('#')[0]}#offline-card")


@login_required
@require_POST
@domain_errors
def agenda_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_or_404(request.user, pk)
    form = AgendaItemForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        item = services.agenda_item_add(actor=request.user, meeting=access.meeting, **form.cleaned_data)
        messages.success(request, _("Agenda item %(n)s was added.") % {"n": item.position})
    return redirect(safe_next(request, reverse("meeting_prepare", args=[pk])))


@login_required
@require_POST
@domain_errors
def agenda_item_move(request: HttpRequest, pk: int) -> HttpResponse:
    _access, item = item_or_404(request.user, pk)
    back = safe_next(request, reverse("meeting_prepare", args=[item.meeting_id]))
    form = MoveForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect(back)
    step = -1 if form.cleaned_data["direction"] == "up" else 1
    services.agenda_item_move(actor=request.user, item=item, position=item.position + step)
    return redirect(f"{back.split('#')[0]}#item-{item.pk}")


@body_limit("upload")
@login_required
@require_POST
@domain_errors
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    limits.check_upload(request.user, request.META)  # before the body is parsed
    access, item = item_or_404(request.user, pk)
    choices = recipient_choices(selectors.participants(access.meeting)) if access.can_manage else []
    form = DocumentUploadForm(request.POST, request.FILES, recipient_choices=choices)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        data = form.cleaned_data
        document = services.document_upload(actor=request.user, item=item, title=data["title"],
                                            classification=data["classification"], upload=data["file"],
                                            recipients=data["recipients"])
        messages.success(request, _("“%(title)s” was uploaded (%(pages)s pages).")
                         % {"title": document.title, "pages": document.current_version.pages})
    return redirect(f"{safe_next(request, reverse('meeting_prepare', args=[item.meeting_id])).split('#')[0]}"
                    f"#item-{item.pk}")

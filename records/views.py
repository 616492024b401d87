"""The minutes screen: draft, comments, finalisation, signatures, resolution and corrections.

One page per session (``/meetings/<id>/minutes/``) shows what the caller may do at this stage: the
secretary edits and finalises, participants read and comment on the draft, the secretary and then
the chair sign with their PIN, the chair signs the resolution, and anyone who may read the session
sees the signed files and their verification. Every action is a service call; errors come back as
messages (``domain_errors``).
"""

from __future__ import annotations

import re
from html import unescape

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ecabinet.converters import whole_number
from ecabinet.errors import ValidationFailed
from ecabinet.http_limits import body_limit
from ecabinet.mfa_views import signing_factor
from ecabinet.screens import domain_errors
from meetings.models import Meeting, Minutes, SealedDocument
from meetings.views.common import access_or_404
from meetings.views.sessions import chair_of
from records import permissions as records_permissions

from .minutes import drafting, sealing
from .minutes.api import verification


def _page(pk: int) -> str:
    return reverse("meeting_minutes", args=[pk])


def editable_text(html: str) -> str:
    """What the editor's text box shows: paragraphs as plain text when the HTML is only paragraphs
    and line breaks (what plain text typed here becomes), else the sanitised HTML itself."""
    if re.fullmatch(r"(?:<p>(?:[^<]|<br>)*</p>)*", html or ""):
        return "\n\n".join(unescape(p).replace("<br>", "\n") for p in re.findall(r"<p>(.*?)</p>", html))
    return html


def _revision(request: HttpRequest) -> int:
    value = whole_number(request.POST.get("revision", ""))
    if value is None:
        raise ValidationFailed(_("Reload the page and try again."), code="revision_required")
    return value


@login_required
@domain_errors
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_or_404(request.user, pk)
    meeting = access.meeting
    minutes = Minutes.objects.filter(meeting=meeting).select_related("document").first()
    documents = {d.pk: d for d in SealedDocument.objects.filter(meeting=meeting).prefetch_related("signatures__signer")}
    resolution = next((d for d in documents.values() if d.kind == SealedDocument.Kind.RESOLUTION), None)
    corrections = sorted((d for d in documents.values() if d.kind == SealedDocument.Kind.CORRECTION),
                         key=lambda d: d.pk)
    verify = request.GET.get("verify")
    reports = {}
    if whole_number(verify) in documents:
        reports[int(verify)] = verification(documents[int(verify)])
    items = []
    if minutes is not None:
        recorded = set(minutes.recorded_comments)
        for item in minutes.record["agenda"]:
            narrative = minutes.narratives.get(str(item["id"]), "")
            items.append({**item, "narrative": narrative, "narrative_text": editable_text(narrative),
                          "shared": [{**c, "on_record": c["id"] in recorded} for c in item["comments"]]})
    after = meeting.status in (Meeting.Status.ADJOURNED, Meeting.Status.CLOSED)
    document = minutes.document if minutes else None
    may = records_permissions.minutes_actions(access, minutes, resolution)
    return render(request, "meetings/minutes.html", {
        "access": access, "meeting": meeting, "chair": chair_of(meeting), "tab": "minutes",
        "minutes": minutes, "items": items, "after_session": after, "document": document,
        "resolution": resolution, "corrections": corrections, "reports": reports,
        "signable_corrections": {c.pk for c in corrections if records_permissions.signs_now(access, c)},
        "can_edit": may.can_edit, "can_generate": may.can_generate, "can_comment": may.can_comment,
        "comments": minutes.comments.select_related("author") if may.reads_comments else [],
        "secretary_signs": may.secretary_signs, "chair_signs": may.chair_signs,
        "can_sign_resolution": may.can_sign_resolution, "can_correct": may.can_correct, "can_export": may.can_export,
        "decisions_text": "\n".join(minutes.decisions) if minutes else "",
        "opening_text": editable_text(minutes.opening) if minutes else "",
    })


@login_required
@require_POST
@domain_errors
def minutes_generate(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    _minutes, created = drafting.minutes_generate(actor=request.user, meeting_id=pk)
    messages.success(request, _("The draft minutes were drawn up from the session record.") if created
                     else _("The draft was updated from the session record; your text was kept."))
    return redirect(_page(pk))


@body_limit("text")
@login_required
@require_POST
@domain_errors
def minutes_save(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    minutes = Minutes.objects.filter(meeting_id=pk).first()
    narratives = {}
    if minutes is not None:
        for item in minutes.record["agenda"]:
            field = f"narrative_{item['id']}"
            if field in request.POST:
                narratives[str(item["id"])] = request.POST[field]
    changes = {"opening": request.POST.get("opening", ""), "narratives": narratives,
               "decisions": request.POST.get("decisions", "").splitlines(),
               "recorded_comments": [n for n in map(whole_number, request.POST.getlist("recorded")) if n is not None],
               "number": request.POST.get("number", ""), "place": request.POST.get("place", "")}
    drafting.minutes_update(actor=request.user, meeting_id=pk, revision=_revision(request), changes=changes)
    messages.success(request, _("The draft minutes were saved."))
    return redirect(_page(pk))


@login_required
@require_POST
@domain_errors
def minutes_comment(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    item = request.POST.get("item", "")
    drafting.minutes_comment(actor=request.user, meeting_id=pk, text=request.POST.get("text", ""),
                             item_id=whole_number(item))
    messages.success(request, _("Your comment was sent to the secretary."))
    return redirect(_page(pk) + "#comments")


@login_required
@require_POST
@domain_errors
def minutes_finalize(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    sealing.minutes_finalize(actor=request.user, meeting_id=pk, revision=_revision(request))
    messages.success(request, _("The minutes are final and ready for signatures."))
    return redirect(_page(pk))


@login_required
@require_POST
@domain_errors
def minutes_sign(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    document = sealing.minutes_sign(actor=request.user, meeting_id=pk, pin=request.POST.get("pin", ""),
                                    otp=signing_factor(request))
    messages.success(request, _("Signed and sealed.") if document.status == SealedDocument.Status.SEALED
                     else _("Signed. The chair's signature is awaited."))
    return redirect(_page(pk))


@login_required
@require_POST
@domain_errors
def resolution_sign(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    sealing.resolution_sign(actor=request.user, meeting_id=pk, pin=request.POST.get("pin", ""),
                            number=request.POST.get("number") or None, otp=signing_factor(request))
    messages.success(request, _("The session resolution was signed and sealed."))
    return redirect(_page(pk) + "#resolution")


@login_required
@require_POST
@domain_errors
def correction_create(request: HttpRequest, pk: int) -> HttpResponse:
    access_or_404(request.user, pk)
    sealing.correction_create(actor=request.user, meeting_id=pk, text=request.POST.get("text", ""))
    messages.success(request, _("The correction was drawn up; the secretary and then the chair sign it."))
    return redirect(_page(pk) + "#corrections")


@login_required
@require_POST
@domain_errors
def correction_sign(request: HttpRequest, pk: int, cid: int) -> HttpResponse:
    access_or_404(request.user, pk)
    document = drafting.sealed_for(actor=request.user, meeting_id=pk, kind="correction", document_id=cid)
    sealing.document_sign(actor=request.user, document=document, pin=request.POST.get("pin", ""),
                          otp=signing_factor(request))
    messages.success(request, _("The correction was signed."))
    return redirect(_page(pk) + "#corrections")

"""Document screens: the page with its versions and the in-app reader (static/reader/reader.js), the
watermarked file, the reader's own copy, "what changed", and the secretariat's new-version and
recipients forms.

Opening the page records a view (audit) but not a read: a read receipt is written when the file
itself is fetched (``services.document_issue_copy``, through ``downloads.watermarked_response``; or
the reader's copy, ``services.document_reader_copy``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ecabinet import limits
from ecabinet.converters import whole_number
from ecabinet.errors import Conflict, ValidationFailed
from ecabinet.hardening import framed_by_self
from ecabinet.http_limits import body_limit
from ecabinet.screens import domain_errors, report_error, report_form_errors, safe_next
from meetings import permissions, selectors, services
from meetings.compare import Line, compare_versions
from meetings.downloads import reader_copy_response, watermarked_response
from meetings.forms import RecipientsForm, VersionForm
from meetings.models import Document, ReadReceipt

from .prepare import recipient_choices

# Runs of unchanged lines longer than this are folded, keeping CONTEXT lines on each side.
FOLD_AFTER, CONTEXT = 6, 2


@dataclass
class Block:
    op: str  # "same", "added", "removed" or "folded" (unchanged lines hidden behind a toggle)
    lines: list[str] = field(default_factory=list)


def diff_blocks(lines: list[Line]) -> list[Block]:
    """Group a comparison into runs, folding the middle of long unchanged runs."""
    runs: list[Block] = []
    for line in lines:
        if runs and runs[-1].op == line.op:
            runs[-1].lines.append(line.text)
        else:
            runs.append(Block(line.op, [line.text]))
    blocks: list[Block] = []
    for run in runs:
        if run.op != "same" or len(run.lines) <= FOLD_AFTER:
            blocks.append(run)
            continue
        blocks += [Block("same", run.lines[:CONTEXT]), Block("folded", run.lines[CONTEXT:-CONTEXT]),
                   Block("same", run.lines[-CONTEXT:])]
    return blocks


def _manage_forms(access: permissions.MeetingAccess, document: Document) -> dict:
    if not access.can_manage or access.meeting.status not in services.PREPARABLE:
        return {}
    forms: dict = {"version_form": VersionForm()}
    if document.classification == Document.Classification.RESTRICTED:
        people = selectors.participants(access.meeting)
        usernames = {p.user_id: p.user.username for p in people}
        chosen = [usernames[i] for i in permissions.document_recipient_ids(document) if i in usernames]
        forms["recipient_form"] = RecipientsForm(recipient_choices=recipient_choices(people),
                                                 initial={"recipients": chosen})
        forms["recipient_count"] = len(chosen)
    return forms


@login_required
@domain_errors
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access, document = services.document_view(actor=request.user, document_id=pk)
    versions = list(document.versions.select_related("uploaded_by").order_by("-number"))
    read_numbers = set(ReadReceipt.objects.filter(user=request.user, version__document=document)
                       .values_list("version__number", flat=True))
    current = document.current_version
    last_read = max(read_numbers) if read_numbers else None
    # The reader's versions (static/reader/reader.js, contract C3): each loads its own reader copy.
    reader_versions = [{"number": v.number, "pages": v.pages, "current": v.pk == document.current_version_id,
                        "reader_url": reverse("document_read_copy", args=[document.pk, v.number])}
                       for v in sorted(versions, key=lambda v: v.number)]
    return render(request, "meetings/document_detail.html", {
        "reader_versions": json.dumps(reader_versions),
        "access": access, "meeting": access.meeting, "document": document, "item": document.agenda_item,
        "versions": versions, "current": current, "read_numbers": read_numbers, "last_read": last_read,
        "updated_since_read": bool(current and last_read is not None and current.number not in read_numbers),
        **_manage_forms(access, document),
    })


@login_required
@framed_by_self  # the document page shows the file in an <iframe> of the same site
@domain_errors
def document_file(request: HttpRequest, pk: int) -> HttpResponse:
    raw = request.GET.get("version", "")
    version = whole_number(raw)
    if raw and version is None:
        raise Http404
    return watermarked_response(request, pk, version, inline=request.GET.get("inline") == "1")


@login_required
@require_http_methods(["GET", "HEAD"])
@domain_errors
def document_read_copy(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The reader's own watermarked copy of version ``number`` (contract C2), by byte range."""
    try:
        return reader_copy_response(request, pk, number)
    except Conflict as exc:  # still being made by another request of this user: PDF.js may ask again
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain; charset=utf-8",
                            headers={"Retry-After": "2", "Cache-Control": "private, no-store"})


@login_required
@domain_errors
def document_compare(request: HttpRequest, pk: int) -> HttpResponse:
    access, document = services.document_view(actor=request.user, document_id=pk)
    try:
        comparison = compare_versions(document, request.GET.get("from"), request.GET.get("to"))
    except ValidationFailed as exc:
        report_error(request, exc)
        return redirect("document_detail", pk=pk)
    return render(request, "meetings/document_compare.html", {
        "access": access, "meeting": access.meeting, "document": document, "item": document.agenda_item,
        "comparison": comparison, "blocks": diff_blocks(comparison.lines),
        "versions": list(document.versions.order_by("number").values_list("number", flat=True)),
    })


@body_limit("upload")
@login_required
@require_POST
@domain_errors
def document_add_version(request: HttpRequest, pk: int) -> HttpResponse:
    limits.check_upload(request.user, request.META)  # before the body is parsed
    _access, document = permissions.document_access(request.user, pk)
    form = VersionForm(request.POST, request.FILES)
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        version = services.document_add_version(actor=request.user, document=document,
                                                upload=form.cleaned_data["file"], note=form.cleaned_data["note"])
        messages.success(request, _("Version %(n)s of “%(title)s” was uploaded; readers will see it marked "
                                    "as updated.") % {"n": version.number, "title": document.title})
    return redirect(safe_next(request, reverse("document_detail", args=[pk])))


@login_required
@require_POST
@domain_errors
def document_recipients(request: HttpRequest, pk: int) -> HttpResponse:
    access, document = permissions.document_access(request.user, pk)
    if not access.can_manage:
        raise Http404
    form = RecipientsForm(request.POST, recipient_choices=recipient_choices(selectors.participants(access.meeting)))
    if not form.is_valid():
        report_form_errors(request, form)
    else:
        services.document_set_recipients(actor=request.user, document=document,
                                         recipients=form.cleaned_data["recipients"])
        messages.success(request, _("The recipients of “%(title)s” were updated.") % {"title": document.title})
    return redirect(safe_next(request, reverse("document_detail", args=[pk])))

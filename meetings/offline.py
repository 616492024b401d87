"""What a tablet may keep offline (issue 17, docs/offline.md): the answer of ``GET /api/v1/offline/``.

The tablet asks at every contact (page load, the room socket's connect) and deletes whatever it holds
that is not listed as allowed. Who may keep what is ``meetings.permissions`` (``offline_refusal``,
``offline_documents``); this module only lists it and names the URLs to store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import permissions
from .models import Document, Meeting

S = Meeting.Status

# Why a session may not be kept, for the person (the machine code is permissions.offline_refusal's).
REFUSALS = {
    "not_participant": _("Only the session's participants may keep it on a tablet."),
    "not_approved": _("Your substitution has not been approved yet."),
    "offline_off": _("The secretariat does not allow this session to be kept on tablets."),
    "draft": _("A draft session cannot be kept on a tablet; it can once it is published."),
    "closed": _("This session closed too long ago to be kept on a tablet."),
}


def copy_url(document_id: int, version_number: int) -> str:
    """The URL of the copy of a document's version that a tablet keeps: the ONE place that names it —
    the reader's own watermarked copy (``document_read_copy``, issue 17 contract C2), the very URL the
    reader asks for, so the service worker answers the reader's byte ranges from the kept copy."""
    return reverse("document_read_copy", args=[document_id, version_number])


def annotations_url(document_id: int, version_number: int) -> str:
    """The annotations of one version (issue 17 contract C4) the reader asks for, kept with the copy."""
    return reverse("api_document_annotations", args=[document_id]) + f"?version={version_number}"


def comments_url(agenda_item_id: int) -> str:
    """The comments of the document's agenda item the reader shows at their pages: the latest page of
    them (``COMMENTS_PAGE_SIZE``), as the reader asks for it first; earlier pages are not kept."""
    return reverse("api_comments", args=[agenda_item_id])


def candidates(user, now: datetime):
    """The sessions the listing considers, bounded by ``OFFLINE_MAX_SESSIONS``: those the user may
    open that are published, in progress, adjourned, or closed less than ``OFFLINE_CLOSED_DAYS`` ago;
    the running ones first, then the coming ones (soonest first), then the recently closed ones."""
    recent = now - timedelta(days=settings.OFFLINE_CLOSED_DAYS)
    window = Q(status__in=permissions.OFFLINE_STATES) | Q(status=S.CLOSED, closed_at__gte=recent)
    rank = Case(When(status__in=[S.IN_PROGRESS, S.ADJOURNED], then=Value(0)), When(status=S.PUBLISHED, then=Value(1)),
                default=Value(2), output_field=IntegerField())
    return (permissions.meetings_visible_to(user).filter(window).annotate(offline_rank=rank)
            .order_by("offline_rank", "starts_at", "id")[:settings.OFFLINE_MAX_SESSIONS])


def session_entry(access: permissions.MeetingAccess, now: datetime) -> dict:
    """One session of the listing: whether it may be kept (and if not, why), its documents' current
    versions with the URLs of their copies and annotations, and the pages to keep."""
    meeting = access.meeting
    refusal = permissions.offline_refusal(access, now)
    entry = {"id": meeting.pk, "title": meeting.title, "status": meeting.status, "allowed": refusal is None,
             "reason": refusal, "reason_text": str(REFUSALS[refusal]) if refusal else "",
             "offline_restricted": meeting.offline_restricted, "documents": [], "pages": []}
    if refusal:
        return entry
    documents = (Document.objects.filter(permissions.offline_documents(access), agenda_item__meeting=meeting,
                                         current_version__isnull=False)
                 .select_related("current_version").order_by("agenda_item__position", "id"))
    for doc in documents:
        number = doc.current_version.number
        entry["documents"].append({"id": doc.pk, "title": doc.title, "classification": doc.classification,
                                   "version": number, "reader_url": copy_url(doc.pk, number),
                                   "annotations_url": annotations_url(doc.pk, number),
                                   "comments_url": comments_url(doc.agenda_item_id),
                                   "page_url": reverse("document_detail", args=[doc.pk])})
    entry["pages"] = [reverse("meeting_detail", args=[meeting.pk]), reverse("meeting_room", args=[meeting.pk]),
                      *(d["page_url"] for d in entry["documents"])]
    return entry


def listing(user, now: datetime) -> dict:
    """``GET /api/v1/offline/``: every session of the window, allowed or not (a tablet deletes what it
    holds of one that is not allowed, or not listed at all)."""
    sessions = []
    for meeting in candidates(user, now):
        try:
            access = permissions.meeting_access(user, meeting)
        except permissions.NotFound:  # withdrawn between the two queries
            continue
        sessions.append(session_entry(access, now))
    return {"user": user.pk, "sessions": sessions, "max_sessions": settings.OFFLINE_MAX_SESSIONS}


def session_state(access: permissions.MeetingAccess, now: datetime) -> dict:
    """For the session page's and the room's "Keep this session on the tablet": whether it may be
    kept, and why not (a sentence for the person)."""
    refusal = permissions.offline_refusal(access, now)
    return {"allowed": refusal is None, "reason": refusal, "reason_text": str(REFUSALS[refusal]) if refusal else ""}

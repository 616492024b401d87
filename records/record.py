"""The machine-readable record of a session (issue 5, item 1 and the record embedded by item 3).

``session_record(meeting)`` reads, in a fixed number of queries whatever the size of the session,
what the system knows of it: header, attendance and the quorum statement under the session's rule,
the agenda with its documents (every version's sha256), who had the floor, the comments shared with
the session (never private notes, never comments to the secretariat, never deleted ones), every
motion with its frozen result, and the decisions. Lists are in a fixed order and datetimes are
ISO 8601 in UTC, so the same session always gives the same bytes (``session_record_json``).

The Akoma Ntoso rendering of the same record is in ``records.record_akn``.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db.models import Prefetch

from meetings.models import AgendaItem, Comment, Document, DocumentVersion, Meeting, Participant, SpeakRequest
from voting import legal, tally
from voting.models import Motion
from voting.permissions import COUNTED_ROLES

__all__ = ["RECORD_VERSION", "iso", "session_record", "session_record_json"]

RECORD_VERSION = 1
ATTENDING = (Participant.Attendance.PRESENT, Participant.Attendance.REMOTE)
HAD_THE_FLOOR = (SpeakRequest.Status.DONE, SpeakRequest.Status.SPEAKING)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``; ``None`` stays ``None``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _ministry(user) -> dict | None:
    ministry = user.ministry
    if ministry is None:
        return None
    return {"code": ministry.code, "name": ministry.name, "name_en": ministry.name_en}


def _attendance(people: list[Participant]) -> list[dict]:
    return [{"username": p.user.username, "full_name": p.user.full_name, "ministry": _ministry(p.user),
             "role": p.role, "attendance": p.attendance, "absence_reason": p.absence_reason,
             "substitute_for": p.substitute_for.username if p.substitute_for_id else None,
             "substitute_approved": p.substitute_approved_at is not None if p.role == Participant.Role.SUBSTITUTE
             else None}
            for p in people]


def _quorum(meeting: Meeting, people: list[Participant]) -> dict:
    """The quorum statement under the session's rule: members are the chair and the members,
    present those of them attending in the room or remotely (``voting.tally``'s definitions); the
    rule's legal basis is the version in force on the session's date (its id, instrument, articles)."""
    members = [p for p in people if p.role in COUNTED_ROLES]
    present = [p for p in members if p.attendance in ATTENDING]
    preset = tally.PRESETS.get(meeting.vote_rule)
    count = tally.Count(members=len(members), present=len(present))
    basis = _basis(meeting) if preset else None
    return {"rule": meeting.vote_rule, "citation": tally.citation_of(preset, basis) if basis else None,
            "members": len(members), "present": len(present),
            "in_room": sum(p.attendance == Participant.Attendance.PRESENT for p in present),
            "remote": sum(p.attendance == Participant.Attendance.REMOTE for p in present),
            "absent": sum(p.attendance == Participant.Attendance.ABSENT for p in members),
            "quorum_met": preset.quorate(count) if preset else None, **(basis.as_dict() if basis else {})}


def _basis(meeting: Meeting) -> legal.LegalBasis | None:
    """The version of the session's rule in force on its date (``voting.legal``); None before the first."""
    try:
        return legal.preset_version(meeting.vote_rule, legal.session_day(meeting.starts_at))
    except legal.NoVersionInForce:
        return None


def _document(doc: Document) -> dict:
    versions = sorted(doc.version_list, key=lambda v: v.number)
    current = next((v for v in versions if v.pk == doc.current_version_id), None)
    return {"id": doc.pk, "title": doc.title, "classification": doc.classification,
            "current_version": current.number if current else None,
            "sha256": current.sha256 if current else None,
            "versions": [{"number": v.number, "sha256": v.sha256, "size": v.size, "pages": v.pages,
                          "uploaded_at": iso(v.uploaded_at), "note": v.note} for v in versions]}


def _speaker(request: SpeakRequest) -> dict:
    return {"username": request.user.username, "full_name": request.user.full_name, "status": request.status,
            "requested_at": iso(request.requested_at), "floor_at": iso(request.floor_at),
            "ended_at": iso(request.ended_at)}


def _comment(comment: Comment) -> dict:
    return {"id": comment.pk, "author": comment.author.username, "author_name": comment.author.full_name,
            "document": comment.document_id, "page": comment.page, "text": comment.text,
            "created_at": iso(comment.created_at), "edited_at": iso(comment.edited_at)}


def _motion(motion: Motion) -> dict:
    result = motion.result
    return {"id": motion.pk, "title": motion.title, "text": motion.text, "method": motion.method,
            "rule": motion.rule, "status": motion.status, "opened_at": iso(motion.opened_at),
            "closed_at": iso(motion.closed_at), "result": result,
            "citation": result["citation"] if result else None,
            "adopted": bool(result and result.get("adopted")),
            "roll_call": result.get("roll_call") if result and motion.method == Motion.Method.NAMED else None}


def session_record(meeting: Meeting) -> dict:
    """The record of ``meeting`` as a JSON-ready dict. Seven queries whatever the session's size."""
    meeting = Meeting.objects.select_related("created_by").get(pk=meeting.pk)
    people = list(Participant.objects.filter(meeting=meeting)
                  .select_related("user__ministry", "substitute_for").order_by("id"))
    documents = Document.objects.order_by("id").prefetch_related(
        Prefetch("versions", queryset=DocumentVersion.objects.order_by("number"), to_attr="version_list"))
    speakers = (SpeakRequest.objects.filter(status__in=HAD_THE_FLOOR).select_related("user")
                .order_by("floor_at", "id"))
    comments = (Comment.objects.filter(visibility=Comment.Visibility.SHARED, deleted_at__isnull=True)
                .select_related("author").order_by("created_at", "id"))
    items = list(AgendaItem.objects.filter(meeting=meeting).select_related("presenter_ministry")
                 .prefetch_related(Prefetch("documents", queryset=documents, to_attr="document_list"),
                                   Prefetch("speak_requests", queryset=speakers, to_attr="speaker_list"),
                                   Prefetch("comments", queryset=comments, to_attr="comment_list"),
                                   Prefetch("motions", queryset=Motion.objects.order_by("id"), to_attr="motion_list"))
                 .order_by("position"))
    chair = next((p for p in people if p.role == Participant.Role.CHAIR), None)
    agenda = []
    decisions = []
    for item in items:
        motions = [_motion(m) for m in item.motion_list]
        agenda.append({
            "id": item.pk, "position": item.position, "title": item.title, "description": item.description,
            "status": item.status,
            "presenter_ministry": item.presenter_ministry.name if item.presenter_ministry_id else None,
            "documents": [_document(d) for d in item.document_list],
            "speakers": [_speaker(r) for r in item.speaker_list],
            "comments": [_comment(c) for c in item.comment_list],
            "motions": motions,
        })
        adopted = [{"motion": m["id"], "title": m["title"], "outcome": m["result"]["outcome"]}
                   for m in motions if m["adopted"]]
        if item.status == AgendaItem.Status.DECIDED or adopted:
            decisions.append({"item": item.pk, "position": item.position, "title": item.title,
                              "item_status": item.status, "adopted_motions": adopted})
    return {
        "record_version": RECORD_VERSION,
        "header": {"id": meeting.pk, "title": meeting.title, "kind": meeting.kind, "status": meeting.status,
                   "starts_at": iso(meeting.starts_at), "started_at": iso(meeting.started_at),
                   "adjourned_at": iso(meeting.adjourned_at), "closed_at": iso(meeting.closed_at),
                   "location": meeting.location,
                   "chair": ({"username": chair.user.username, "full_name": chair.user.full_name}
                             if chair else None)},
        "attendance": _attendance(people),
        "quorum": _quorum(meeting, people),
        "agenda": agenda,
        "decisions": decisions,
    }


def session_record_json(meeting: Meeting) -> bytes:
    """The record as UTF-8 JSON with sorted keys: the same session gives the same bytes."""
    return json.dumps(session_record(meeting), sort_keys=True, ensure_ascii=False, indent=2).encode("utf-8")

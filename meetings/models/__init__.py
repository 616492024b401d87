"""Models of the meetings app, one module per concern.

State lives in explicit fields guarded by database constraints; transitions happen only in
``meetings.services``.
"""

from .annotations import Annotation
from .documents import (
    Document,
    DocumentCopy,
    DocumentUserObjectPermission,
    DocumentVersion,
    MeetingUserObjectPermission,
    ReaderCopy,
    ReadReceipt,
    reader_copy_path,
    version_path,
    version_upload_to,
)
from .minutes import Minutes, MinutesComment, SealedDocument, SignatureStep, sealed_path
from .room import Comment, CommentRevision, Event, Position, Presence, SpeakRequest
from .sessions import AgendaItem, Meeting, Participant

__all__ = [
    "AgendaItem",
    "Annotation",
    "Comment",
    "CommentRevision",
    "Document",
    "DocumentCopy",
    "DocumentUserObjectPermission",
    "DocumentVersion",
    "Event",
    "Meeting",
    "MeetingUserObjectPermission",
    "Minutes",
    "MinutesComment",
    "Participant",
    "Position",
    "Presence",
    "ReadReceipt",
    "ReaderCopy",
    "SealedDocument",
    "SignatureStep",
    "SpeakRequest",
    "reader_copy_path",
    "sealed_path",
    "version_path",
    "version_upload_to",
]

"""Server-rendered screens (issue #2 §8). Views parse a form, call one service, and redirect;
reads come from ``meetings.selectors`` and permission questions from ``meetings.permissions``."""

from .documents import (
    document_add_version,
    document_compare,
    document_detail,
    document_file,
    document_read_copy,
    document_recipients,
)
from .participants import meeting_participants, participant_add, participant_remove, substitute_approve
from .positions import consent_block, meeting_positions
from .prepare import agenda_item_add, agenda_item_move, document_upload, meeting_offline, meeting_prepare
from .room import meeting_room
from .sessions import home, meeting_attendance, meeting_create, meeting_detail, meeting_receipts, meeting_transition

__all__ = [
    "agenda_item_add",
    "agenda_item_move",
    "consent_block",
    "document_add_version",
    "document_compare",
    "document_detail",
    "document_file",
    "document_read_copy",
    "document_recipients",
    "document_upload",
    "home",
    "meeting_attendance",
    "meeting_create",
    "meeting_detail",
    "meeting_offline",
    "meeting_participants",
    "meeting_positions",
    "meeting_prepare",
    "meeting_receipts",
    "meeting_room",
    "meeting_transition",
    "participant_add",
    "participant_remove",
    "substitute_approve",
]

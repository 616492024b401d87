"""Every change to sessions, participants, agendas, documents and the live room happens here.

Each service takes keyword-only arguments, runs in one transaction, checks the caller's permission
and the current state, makes the change, and writes — in the same transaction — the audit entry
(``ecabinet.audit``) and the session's event-log entry (``meetings.events``), which is broadcast
after commit. Views, the API, the admin and management commands call these functions; none writes
models.

State changes use conditional updates (``UPDATE … WHERE status = <expected>``) rather than row locks
alone, because SQLite ignores ``SELECT … FOR UPDATE``.
"""

from .agenda import agenda_item_add, agenda_item_move
from .annotation_carry import annotations_carry_forward
from .annotations import annotation_create, annotation_delete, annotation_update
from .documents import (
    document_add_version,
    document_add_version_prepare,
    document_issue_copy,
    document_set_recipients,
    document_upload,
    document_upload_prepare,
    document_view,
)
from .guards import PREPARABLE
from .participants import attendance_set, participant_add, participant_remove, substitute_approve
from .presence import (
    presence_apply,
    presence_connect,
    presence_disconnect,
    presence_touch,
    presence_touch_many,
)
from .reader import document_reader_copy
from .room import (
    agenda_item_set_status,
    agenda_set_current,
    comment_delete,
    comment_edit,
    comment_post,
    consent_block_decide,
    consent_candidates,
    floor_end,
    floor_give,
    position_set,
    speak_request,
    speak_withdraw,
)
from .sessions import (
    OFFLINE_FIELDS,
    meeting_adjourn,
    meeting_close,
    meeting_create,
    meeting_publish,
    meeting_set_offline,
    meeting_start,
    meeting_view,
    meetings_list_viewed,
    meetings_offline_listed,
)

__all__ = [
    "OFFLINE_FIELDS",
    "PREPARABLE",
    "agenda_item_add",
    "agenda_item_move",
    "agenda_item_set_status",
    "agenda_set_current",
    "annotation_create",
    "annotation_delete",
    "annotation_update",
    "annotations_carry_forward",
    "attendance_set",
    "comment_delete",
    "comment_edit",
    "comment_post",
    "consent_block_decide",
    "consent_candidates",
    "document_add_version",
    "document_add_version_prepare",
    "document_issue_copy",
    "document_reader_copy",
    "document_set_recipients",
    "document_upload",
    "document_upload_prepare",
    "document_view",
    "floor_end",
    "floor_give",
    "meeting_adjourn",
    "meeting_close",
    "meeting_create",
    "meeting_publish",
    "meeting_set_offline",
    "meeting_start",
    "meeting_view",
    "meetings_list_viewed",
    "meetings_offline_listed",
    "participant_add",
    "participant_remove",
    "position_set",
    "presence_apply",
    "presence_connect",
    "presence_disconnect",
    "presence_touch",
    "presence_touch_many",
    "speak_request",
    "speak_withdraw",
    "substitute_approve",
]

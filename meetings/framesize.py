"""How large a room frame can get, and what is done about one that would still be too large.

The limit (docs/protocol.md §2): Daphne hands autobahn ``websocket_max_message_size`` = 1 MiB
(Daphne's default; ``make run``, the cluster and the systemd units do not change it), and autobahn
applies it to what the server *sends* as well: a larger message raises inside Daphne, which closes
the socket with 1011 — the tablet reconnects, gets the same snapshot, and loops (issue 14). The
clients have limits of their own: browsers take messages of any practical size, Python's
``websockets`` stops at 1 MiB by default and aiohttp at 4 MiB.

Everything the room sends is kept under ``settings.ROOM_FRAME_MAX_BYTES`` (512 KiB by default, half
of Daphne's limit):

* What a frame can hold follows from the limits of docs/limits.md — the newest
  ``ROOM_SNAPSHOT_COMMENTS_PER_ITEM`` comments of each item, each at most ``COMMENT_MAX_CHARS``
  characters; at most ``MEETING_MAX_AGENDA_ITEMS`` items, ``AGENDA_ITEM_MAX_DOCUMENTS`` documents
  on each, ``MEETING_MAX_PARTICIPANTS`` participants; and the field lengths. ``worst_case_*`` below
  compute the largest event frame the limits allow, character by character at the most bytes each
  can cost in our JSON (``ensure_ascii=False``: 4 bytes for a character outside the BMP, 2 for ``"``
  and ``\\``; control characters — 6 bytes as ``\\u0001`` — are refused in comments), and
  ``tests/room/test_frame_limits.py`` checks them against real frames built at those limits.
* The snapshot is the one message that grows with the whole session (positions of every member on
  every item, for the chair; every participant; the comment windows of every item). At the limits
  above it can exceed any one frame, so when its text is over the frame budget it is sent in parts
  (``split``): ``{"type": "snapshot.part", "seq", "part", "parts", "text"}``, whose ``text`` joined in
  order is the snapshot message. A real session (27 members, a dozen items) is sent whole, as before;
  a huge one still connects instead of closing with 1011.
"""

from __future__ import annotations

import json
import math

from django.conf import settings

__all__ = ["BYTES_PER_CHAR", "COMMENT_BYTES_PER_CHAR", "frame_budget", "split", "worst_case_annotation_bytes",
           "worst_case_comment_bytes", "worst_case_event_bytes"]

# The most bytes one character of user text costs in the JSON we send: a control character escaped
# as \u0001; in comments, which refuse control characters (meetings.services.room), a character
# outside the BMP in UTF-8.
BYTES_PER_CHAR = 6
COMMENT_BYTES_PER_CHAR = 4
# Field lengths (the models' and serializers' max_length) that appear in room frames.
USERNAME, FULL_NAME, MINISTRY, ITEM_TITLE, DOC_TITLE, MEETING_TITLE, LOCATION, REASON, NOTE = (
    150, 150, 200, 500, 500, 300, 300, 300, 500)
# Ids, timestamps, keys and punctuation of one object, generously (measured well under these).
OVERHEAD = 400


def frame_budget() -> int:
    return settings.ROOM_FRAME_MAX_BYTES


def _text(chars: int) -> int:
    return chars * BYTES_PER_CHAR


def _account(chars: int) -> int:
    """Account fields (username, full name) are set by administrators; usernames take letters, digits
    and ``.@+-_`` only (Django's validator): at most 4 bytes a character."""
    return chars * COMMENT_BYTES_PER_CHAR


def worst_case_comment_bytes() -> int:
    """One comment as ``snapshot.comment_dict`` serialises it, at the limits."""
    return settings.COMMENT_MAX_CHARS * COMMENT_BYTES_PER_CHAR + _account(USERNAME) + _account(FULL_NAME) + OVERHEAD


# A coordinate as the annotations keep it (six decimals, meetings.services.annotations): "0.123456".
COORDINATE = 8


def worst_case_annotation_bytes() -> int:
    """One annotation as ``services.annotations.annotation_dict`` serialises it, at the limits: the
    larger of its shapes (a drawing's points, a highlight's rectangles), its note, its quote (control
    characters in either are refused or replaced: 4 bytes a character) and its author's name."""
    point = 2 * COORDINATE + 3 + 1  # [x,y] and the comma after it
    drawing = settings.ANNOTATION_MAX_POINTS * point + settings.ANNOTATION_MAX_STROKES * 3
    highlight = settings.ANNOTATION_MAX_RECTS * (4 * COORDINATE + 5 + 1)
    words = (settings.COMMENT_MAX_CHARS + settings.ANNOTATION_MAX_QUOTE_CHARS) * COMMENT_BYTES_PER_CHAR
    return max(drawing, highlight) + words + _account(FULL_NAME) + OVERHEAD


def worst_case_participant_bytes() -> int:
    return _account(USERNAME) * 2 + _account(FULL_NAME) + _text(MINISTRY) + _text(REASON) + OVERHEAD


def worst_case_event_bytes() -> dict[str, int]:
    """The largest frame of each kind whose size grows with what people write, at the limits."""
    window = settings.ROOM_SNAPSHOT_COMMENTS_PER_ITEM * (worst_case_comment_bytes() + 1)
    document = _text(DOC_TITLE) + OVERHEAD
    speaker = _account(USERNAME) + _account(FULL_NAME) + 300  # id, status, three times
    voter = _account(USERNAME) + _account(FULL_NAME) + OVERHEAD
    participants = settings.MEETING_MAX_PARTICIPANTS
    return {
        "comment.posted": worst_case_comment_bytes() + OVERHEAD,
        "annotation.created": worst_case_annotation_bytes() + OVERHEAD,  # .updated alike; .deleted: ids only
        # A reader given or refused a document gets the item's comment window with it.
        "document.published": window + document + OVERHEAD,
        "document.withdrawn": window + OVERHEAD,
        # The queue of one item: one waiting or speaking turn per participant at most, and the latest
        # SPEAK_QUEUE_DONE_SHOWN finished turns (meetings.snapshot.shown_turns).
        "speaker.queue": (participants + settings.SPEAK_QUEUE_DONE_SHOWN) * speaker + OVERHEAD,
        "vote.tally": participants * voter + OVERHEAD,
        "position.changed": _account(USERNAME) + _text(NOTE) + OVERHEAD,
        "attendance.changed": worst_case_participant_bytes() + OVERHEAD,
        "agenda_item.added": _text(ITEM_TITLE) + _text(MINISTRY) + OVERHEAD,
    }


def split(text: str, seq: int, budget: int | None = None) -> list[str]:
    """``text`` (a snapshot message) as it goes on the socket: itself when it fits ``budget`` bytes,
    otherwise ``snapshot.part`` messages each within it. Parts cut the text by characters; each part's
    JSON escapes its share, so the share is sized for the worst case (6 bytes a character)."""
    budget = budget or frame_budget()
    if len(text.encode()) <= budget:
        return [text]
    share = max(1, (budget - 200) // 6)
    parts = math.ceil(len(text) / share)
    return [json.dumps({"type": "snapshot.part", "seq": seq, "part": index + 1, "parts": parts,
                        "text": text[index * share:(index + 1) * share]}, ensure_ascii=False, separators=(",", ":"))
            for index in range(parts)]

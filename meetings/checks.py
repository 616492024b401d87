"""System checks of the room's limits (docs/limits.md): settings that let a frame outgrow the budget."""

from django.core.checks import Warning, register

from . import framesize


@register()
def check_frame_budget(app_configs, **kwargs):
    """Each event frame must fit ``ROOM_FRAME_MAX_BYTES`` at the worst case the limits allow
    (``framesize.worst_case_event_bytes``); a frame over it would close tablets' sockets. Raised
    limits (more participants, longer comments, a wider comment window) can break that: say so at
    start-up rather than in the middle of a session."""
    budget = framesize.frame_budget()
    over = {kind: size for kind, size in framesize.worst_case_event_bytes().items() if size > budget}
    if not over:
        return []
    listed = ", ".join(f"{kind} up to {size // 1024} KiB" for kind, size in sorted(over.items()))
    return [Warning(
        f"With these limits some room events could exceed ROOM_FRAME_MAX_BYTES ({budget // 1024} KiB): {listed}.",
        hint="Such sizes need names and texts near their maximum lengths; lower MEETING_MAX_PARTICIPANTS, "
             "COMMENT_MAX_CHARS or ROOM_SNAPSHOT_COMMENTS_PER_ITEM, or raise ROOM_FRAME_MAX_BYTES together "
             "with Daphne's --websocket_max_message_size (docs/limits.md).",
        id="meetings.W001",
    )]

"""The agenda: adding and ordering items."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Conflict, ValidationFailed
from ecabinet.models import Ministry
from ecabinet.textlimits import bounded_description

from .. import events, permissions
from ..models import AgendaItem, Meeting
from ..snapshot import item_dict
from .guards import PREPARABLE, lock_meeting, require_state


@transaction.atomic
def agenda_item_add(*, actor, meeting: Meeting, title: str, description: str = "",
                    presenter_ministry: Ministry | None = None, planned_minutes: int | None = None) -> AgendaItem:
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    if not title.strip():
        raise ValidationFailed(_("The agenda item needs a title."), code="title_required")
    if planned_minutes is not None and not 0 < planned_minutes <= 600:
        raise ValidationFailed(_("Planned time must be between 1 and 600 minutes."), code="invalid_minutes")
    description = bounded_description(description)
    lock_meeting(meeting.pk)
    limit = settings.MEETING_MAX_AGENDA_ITEMS
    if meeting.agenda_items.count() >= limit:  # counted under the session's lock: no two take the last slot
        raise Conflict(_("A session has at most %(n)s agenda items.") % {"n": limit}, code="too_many_agenda_items")
    last = meeting.agenda_items.aggregate(m=Max("position"))["m"] or 0
    item = AgendaItem.objects.create(meeting=meeting, position=last + 1, title=title.strip(),
                                     description=description, presenter_ministry=presenter_ministry,
                                     planned_minutes=planned_minutes)
    audit.record(actor, "agenda_item.added", item, meeting_id=meeting.pk,
                 data={"title": item.title, "position": item.position})
    events.emit(meeting, "agenda_item.added", {"item": item_dict(item)})
    return item


@transaction.atomic
def agenda_item_move(*, actor, item: AgendaItem, position: int) -> AgendaItem:
    """Move an item to ``position`` (1-based), shifting the others; positions stay 1..n."""
    meeting = item.meeting
    access = permissions.meeting_access(actor, meeting.pk)
    access.require(access.can_manage)
    require_state(meeting, PREPARABLE)
    lock_meeting(meeting.pk)
    items = list(meeting.agenda_items.order_by("position"))
    if not 1 <= position <= len(items):
        raise ValidationFailed(_("Position must be between 1 and %(n)s.") % {"n": len(items)},
                               code="invalid_position")
    old = item.position
    ordered = [i for i in items if i.pk != item.pk]
    ordered.insert(position - 1, next(i for i in items if i.pk == item.pk))
    # Two passes keep the (meeting, position) unique constraint true at every statement.
    AgendaItem.objects.filter(meeting=meeting).update(position=F("position") + 100000)
    for index, agenda_item in enumerate(ordered, start=1):
        AgendaItem.objects.filter(pk=agenda_item.pk).update(position=index)
    item.refresh_from_db()
    audit.record(actor, "agenda_item.moved", item, meeting_id=meeting.pk, data={"from": old, "to": position})
    events.emit(meeting, "agenda.reordered", {"order": [i.pk for i in ordered]})
    return item

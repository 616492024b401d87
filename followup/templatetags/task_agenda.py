"""``{% load task_agenda %}{% tasks_proposed_item meeting %}``: the follow-up panel of a session's
preparation screen (``followup.proposed``). It lives here because ``meetings`` may not import
``followup``; a template loads tags of any app by name. Shown to the secretariat only
(``followup.permissions.may_see_proposed_item``), and renders nothing for anyone else."""

from __future__ import annotations

from django import template

from meetings.services import PREPARABLE

from .. import services
from ..permissions import may_see_proposed_item
from ..proposed import PROPOSED_ITEM_TITLE, proposed_item

register = template.Library()


@register.inclusion_tag("followup/_proposed_item.html", takes_context=True)
def tasks_proposed_item(context, meeting) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not may_see_proposed_item(user):
        return {"show": False}
    return {"show": True, "meeting": meeting, "request": request, "csrf_token": context.get("csrf_token"),
            "proposal": proposed_item(user, meeting, services.today()), "title": PROPOSED_ITEM_TITLE,
            "editable": meeting.status in PREPARABLE}

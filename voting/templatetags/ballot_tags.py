"""Template tags joining written ballots and sessions (issue 18) without an import between the
apps' views: the session page (``meetings``, below ``voting``) lists a session's ballots by loading
this library by name, as it links to the minutes by URL name. Who sees what is asked of
``voting.permissions`` (``ballots_of_meeting``, ``linked_meeting_visible``)."""

from __future__ import annotations

from django import template

from ..ballot_summary import legal_basis_statement, policy_for
from ..permissions import ballots_of_meeting, is_closed, linked_meeting_visible
from ..services import ballots as ballot_services

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def ballot_session(context, ballot):
    """The session ``ballot`` is linked to, if the reader may see it; else None.
    ``{% ballot_session ballot as linked %}``."""
    user = _user(context)
    if user is None or not linked_meeting_visible(user, ballot):
        return None
    return ballot.meeting


@register.simple_tag
def ballot_legal_basis(ballot) -> dict:
    """The written-ballot policy in force on the day ``ballot`` was issued (today for a draft), for its
    page: ``{% ballot_legal_basis ballot as basis %}`` → ``{"policy", "statement"}``."""
    policy = policy_for(ballot, ballot_services.current_time())
    return {"policy": policy, "statement": legal_basis_statement(policy)}


@register.simple_tag(takes_context=True)
def session_ballots(context, meeting) -> list[dict]:
    """The written ballots linked to ``meeting`` that the reader may open, latest deadline first:
    rows shaped for ``ballots/_row.html``. ``{% session_ballots meeting as written_ballots %}``; the
    page itself is shown only to who may see the session."""
    user = _user(context)
    if user is None:
        return []
    now = ballot_services.current_time()
    return [{"ballot": b, "status": b.status, "is_closed": is_closed(b, now), "my_progress": None}
            for b in ballots_of_meeting(user, meeting, now).order_by("-deadline", "-id")]

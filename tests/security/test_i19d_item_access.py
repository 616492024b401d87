"""Issue 19d attack: ``item_access`` reads the item, the caller's and the chair's rows and the grants in one
query (``meetings.access.item_caller_and_chair``). Every awkward caller — a removed participant, a pending
substitute, a deactivated account, a participant of *another* session, an observer, an archivist, the
administrator — and every awkward item — of another session, deleted, of a chairless draft, of a session
whose chair changed — must get exactly what the ORM rule answered before (the same access, or the same
``NotFound``), never more."""

from __future__ import annotations

import pytest

from ecabinet.errors import NotFound
from meetings import access as access_reads
from meetings import permissions, services
from meetings.models import AgendaItem, Participant

from ..factories import UserFactory
from ..meetings.test_item_access import answer, cast_users, orm_item_access

pytestmark = pytest.mark.django_db


def _same_for_everyone(users, item_ids, label: str) -> None:
    for user in users:
        for item_id in item_ids:
            fast, ref = answer(permissions.item_access, user, item_id), answer(orm_item_access, user, item_id)
            assert fast == ref, (label, user.username, item_id)


def test_removed_pending_and_cross_session_callers_get_what_the_orm_rule_gives(cast):
    users = cast_users(cast)
    pending = UserFactory(username="pending01")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="pending01",
                             role=Participant.Role.SUBSTITUTE, substitute_for=cast.member2.username)
    # A second session: the member is a participant there, its item is not the cast's.
    other = services.meeting_create(actor=cast.secretary, title="Phiên khác", kind="regular",
                                    starts_at=cast.meeting.starts_at, location="Phòng 3")
    services.participant_add(actor=cast.secretary, meeting=other, username=cast.member2.username, role="chair")
    other_item = services.agenda_item_add(actor=cast.secretary, meeting=other, title="Mục của phiên khác")
    services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    services.meeting_publish(actor=cast.secretary, meeting=other)
    services.participant_remove(actor=cast.secretary, meeting=cast.meeting, username=cast.member.username)
    everyone = [*users, pending]
    ids = (cast.item.pk, other_item.pk)
    _same_for_everyone(everyone, ids, "published")
    # The removed member: no row left, no grant: nothing, as before.
    with pytest.raises(NotFound):
        permissions.item_access(cast.member, cast.item.pk)
    # The member of the other session does not reach the cast's item through their other row.
    access, item = permissions.item_access(cast.member2, other_item.pk)
    assert access.meeting.pk == other.pk and item.meeting_id == other.pk and access.role == "chair"
    access, item = permissions.item_access(cast.member2, cast.item.pk)
    assert access.meeting.pk == cast.meeting.pk and access.role == "member"
    # A pending substitute: whatever the rule gives them, the one query gives the same role.
    assert answer(permissions.item_access, pending, cast.item.pk) == answer(orm_item_access, pending, cast.item.pk)


def test_a_deleted_item_and_a_changed_chair_answer_as_the_orm_rule(cast):
    users = cast_users(cast)
    # A chairless draft: the chair removed; then a new chair — the old one no longer chairs.
    services.participant_remove(actor=cast.secretary, meeting=cast.meeting, username=cast.pm.username)
    _same_for_everyone(users, (cast.item.pk,), "chairless draft")
    newchair = UserFactory(username="newchair")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="newchair", role="chair")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username=cast.pm.username, role="member")
    services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    users.append(newchair)
    _same_for_everyone(users, (cast.item.pk,), "new chair")
    access, _ = permissions.item_access(cast.pm, cast.item.pk)
    assert access.role == "member" and not access.can_chair and access.chair.user_id == newchair.pk
    gone = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục sẽ xóa")
    gone_id = gone.pk
    AgendaItem.objects.filter(pk=gone_id).delete()
    for user in users:
        with pytest.raises(NotFound):
            permissions.item_access(user, gone_id)
        assert access_reads.item_caller_and_chair(user.pk, gone_id, permissions.RULE_CODENAMES) == (
            None, [], frozenset())


def test_an_id_out_of_range_or_a_sentinel_is_a_plain_not_found(cast):
    """The query is compiled with sentinel ids; an attacker sending a sentinel as the item id gets nothing."""
    for item_id in (access_reads._PROBE_ITEM, access_reads._PROBE_USER, access_reads._PROBE_MEETING, 0, -1):
        with pytest.raises(NotFound):
            permissions.item_access(cast.secretary, item_id)

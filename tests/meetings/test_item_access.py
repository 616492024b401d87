"""``meetings.permissions.item_access`` (every comment, hand raised and position on an agenda item goes
through it) reads the item and the caller's access by queries compiled once per process (issue 19:
building its ``ORDER BY`` query cost a third of the fan-out POST), and answers exactly what the ORM
read answered: the same access, the same item, and the same ``NotFound`` for a missing item and for
an item of a session the caller may not see."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.models.sql.compiler import SQLCompiler

from ecabinet.errors import NotFound
from meetings import access as access_reads
from meetings import permissions, services
from meetings.models import AgendaItem

from ..factories import UserFactory

WHO = ["pm", "secretary", "member", "member2", "observer", "archivist", "outsider", "admin"]


def orm_item_access(user, item_id: int):
    """``item_access`` as it read before issue 19, the reference."""
    item = AgendaItem.objects.select_related("meeting").filter(pk=item_id).first()
    if item is None:
        raise NotFound()
    return permissions.meeting_access(user, item.meeting), item


def answer(read, user, item_id: int):
    try:
        access, item = read(user, item_id)
    except NotFound:
        return "NotFound"
    return {"perms": access.perms, "role": access.role, "can_view": access.can_view, "can_manage": access.can_manage,
            "meeting": fields(access.meeting), "participant": fields(access.participant), "item": fields(item),
            "item.meeting": fields(item.meeting), "same meeting": item.meeting.pk == access.meeting.pk}


def fields(instance) -> dict | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def cast_users(cast) -> list:
    deactivated = UserFactory(username="gone")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="gone", role="member")
    type(deactivated).objects.filter(pk=deactivated.pk).update(is_active=False)
    deactivated.is_active = False
    return [getattr(cast, name) for name in WHO] + [deactivated]


def test_it_answers_what_the_orm_read_answered_for_every_role_and_state(cast):
    users = cast_users(cast)
    other = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục 2")
    for step in ("draft", "published", "in_progress", "closed"):
        if step == "published":
            services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
        elif step == "in_progress":
            services.meeting_start(actor=cast.pm, meeting=cast.meeting)
        elif step == "closed":  # the archivist reads it
            services.meeting_adjourn(actor=cast.pm, meeting=cast.meeting)
            services.meeting_close(actor=cast.pm, meeting=cast.meeting)
        for user in users:
            for item_id in (cast.item.pk, other.pk, other.pk + 1000):
                assert answer(permissions.item_access, user, item_id) == answer(orm_item_access, user, item_id), (
                    step, user.username, item_id)


def test_a_missing_item_and_an_item_the_caller_may_not_see_answer_the_same(cast):
    with pytest.raises(NotFound):
        permissions.item_access(cast.member, cast.item.pk)  # a draft: the members do not see it yet
    with pytest.raises(NotFound):
        permissions.item_access(cast.outsider, cast.item.pk)
    with pytest.raises(NotFound):
        permissions.item_access(cast.member, cast.item.pk + 1000)
    access, item = permissions.item_access(cast.secretary, cast.item.pk)
    assert item == cast.item and access.meeting == cast.meeting and item.meeting is access.meeting


def test_the_prepared_item_row_is_the_orms(cast):
    services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục có mô tả", description="Tờ trình",
                             planned_minutes=15)
    for item in AgendaItem.objects.all():
        fast = access_reads.agenda_item(item.pk)
        assert fields(fast) == fields(item) and fast._state.db == item._state.db and not fast._state.adding
    assert access_reads.agenda_item(10**9) is None


def test_it_costs_one_query_and_builds_none_after_the_first(cast, django_assert_num_queries):
    services.meeting_publish(actor=cast.secretary, meeting=cast.meeting)
    permissions.item_access(cast.member, cast.item.pk)
    built = mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("a query built per request"))
    with built, django_assert_num_queries(1):  # the item with the caller's and the chair's rows and the grants
        access, item = permissions.item_access(cast.member, cast.item.pk)
    assert access.role == "member" and item.pk == cast.item.pk


def test_a_session_without_a_chair_answers_what_the_orm_read_answered(cast, django_assert_num_queries):
    """Where the session has neither the caller's row nor the chair's, the one query finds nothing and
    the item and the access are read one after the other — with the same answers."""
    chairless = services.meeting_create(actor=cast.secretary, title="Phiên không chủ tọa", kind="regular",
                                        starts_at=cast.meeting.starts_at, location="Phòng 2")
    item = services.agenda_item_add(actor=cast.secretary, meeting=chairless, title="Mục 1")
    services.participant_add(actor=cast.secretary, meeting=chairless, username=cast.member.username, role="member")
    for user in cast_users(cast):  # a draft (it cannot be published without a chair): the secretariat sees it
        assert answer(permissions.item_access, user, item.pk) == answer(orm_item_access, user, item.pk), user.username
    for user in (cast.outsider, cast.admin):  # no row of theirs, no chair's: the reads one after the other
        found = access_reads.item_caller_and_chair(user.pk, item.pk, permissions.RULE_CODENAMES)
        assert found == (None, [], frozenset())
    assert permissions.item_access(cast.secretary, item.pk)[1] == item  # the secretary's own row
    with django_assert_num_queries(1), pytest.raises(NotFound):  # the member's row is there: still a draft
        permissions.item_access(cast.member, item.pk)

"""The queries compiled once per "shape" of reader (``ecabinet.prepared``; issue 19 second round),
attacked with generated accounts and data: for every account — secretariat, archivist, staff,
superuser, both, without a ministry, deactivated, chair, attendee, absentee, observer, secretary,
approved and unapproved deputies, of the lead, of a co-operating or of no concerned ministry — the
prepared answers must be exactly the ORM rule's (``followup.permissions.tasks_visible_to``,
``meetings.permissions.documents_visible_to`` through ``meetings.selectors.agenda``), in whatever
order the accounts come (the first of a shape compiles the SQL that the others of it reuse, so a
shape key that missed an attribute would hand one reader another's query), and a sentinel never
meets a real id."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from ecabinet import prepared
from ecabinet.errors import NotFound
from followup import permissions as task_rules
from followup import services as tasks
from followup.selectors import session_tasks
from meetings import selectors
from meetings import services as meeting_services
from meetings.models import DocumentVersion, Meeting, Participant, ReadReceipt
from meetings.permissions import meeting_access

from ..conftest import upload
from ..factories import MinistryFactory, UserFactory

SEEDS = range(6)
ROLES = [Participant.Role.MEMBER, Participant.Role.SUBSTITUTE, Participant.Role.OBSERVER, Participant.Role.SECRETARY]
ATTENDANCE = [a for a, _ in Participant.Attendance.choices]


def _accounts(rng: random.Random, ministries, n: int = 28) -> list:
    users = []
    for i in range(n):
        admin = rng.random() < 0.25
        staff = admin and rng.random() < 0.7
        # An administrator holds no content duty (the user_admin_holds_no_content_duty constraint).
        flags = {"is_staff": staff, "is_superuser": admin and (not staff or rng.random() < 0.5),
                 "is_secretariat": not admin and rng.random() < 0.1, "is_archivist": not admin and rng.random() < 0.3,
                 "is_member": not admin and rng.random() < 0.5, "is_active": rng.random() < 0.85}
        users.append(UserFactory(username=f"gen{i:02d}", ministry=rng.choice([None, *ministries]), **flags))
    return users


def _attend(rng: random.Random, meeting, users) -> None:
    """Random rows of the session (written directly: the task rule reads only these rows)."""
    members = []
    for user in users:
        if rng.random() < 0.3:
            continue
        role = rng.choice(ROLES)
        row = {"meeting": meeting, "user": user, "role": role, "attendance": rng.choice(ATTENDANCE)}
        if role == Participant.Role.SUBSTITUTE:
            if not members:
                continue
            row["substitute_for"] = rng.choice(members)
            if rng.random() < 0.6:
                row["substitute_approved_at"] = timezone.now()
        Participant.objects.create(**row)
        if role == Participant.Role.MEMBER:
            members.append(user)


def _expected_session_rows(user, meeting_id: int) -> list:
    if not (user.is_authenticated and user.is_active):
        return []
    return list(task_rules.tasks_visible_to(user).filter(meeting_id=meeting_id)
                .order_by("regular", "deadline", "id").values_list("pk", "title", "state", "lead_ministry_id"))


@pytest.mark.parametrize("seed", SEEDS)
def test_prepared_task_queries_answer_what_the_rule_answers_for_generated_accounts(cast, seed):
    rng = random.Random(seed)
    ministries = [MinistryFactory(code=f"bo-gen-{k}", name=f"Bộ sinh {k}") for k in range(3)]
    people = _accounts(rng, ministries)
    cast.set_status(Meeting.Status.IN_PROGRESS)
    _attend(rng, cast.meeting, people)
    for k in range(5):
        lead = rng.choice(ministries)
        co = [m.code for m in rng.sample(ministries, rng.randint(0, 2)) if m != lead]
        tasks.task_create(actor=cast.secretary, source_kind="agenda_item", source_id=cast.item.pk,
                          title=f"Nhiệm vụ {seed}-{k}", lead_ministry=lead.code, co_ministries=co,
                          deadline=tasks.today() + dt.timedelta(days=rng.randint(1, 60)),
                          regular=False)
    if seed % 2:
        cast.set_status(Meeting.Status.CLOSED)  # the archivists' branch
    everyone = [*people, cast.pm, cast.secretary, cast.member, cast.member2, cast.observer, cast.archivist,
                cast.outsider, cast.admin]
    for order in range(2):  # two orders: whichever account of a shape comes first compiles it
        prepared._compiled.clear()
        rng.shuffle(everyone)
        for user in everyone:
            user.refresh_from_db()
            want = _expected_session_rows(user, cast.meeting.pk)
            got = [(t.pk, t.title, t.state, t.lead_ministry.pk) for t in session_tasks(user, cast.meeting.pk, 50)]
            assert got == want, (user.username, order)
            sees_any = user.is_active and task_rules.tasks_visible_to(user).exists()
            assert task_rules.may_open_register(user) is bool(sees_any), (user.username, order)
            assert session_tasks(user, cast.meeting.pk + 10_000, 50) == []


def _read(user, document, number: int) -> None:
    version = DocumentVersion.objects.get(document=document, number=number)
    now = timezone.now()
    ReadReceipt.objects.get_or_create(version=version, user=user,
                                      defaults={"first_opened_at": now, "last_opened_at": now})


def _shown(rows) -> list:
    """What a reader is shown of the agenda: items, their documents with read marks, motions."""
    return [(item.pk, item.title, [(d.pk, d.title, d.classification, d.current_version and d.current_version.number,
                                    d.read_state.read_current, d.read_state.read_any, d.read_state.last_read_number)
                                   for d in item.visible_documents],
             [(m.pk, m.title, m.status) for m in item.motion_list]) for item in rows]


@pytest.mark.parametrize("seed", SEEDS)
def test_prepared_agenda_queries_answer_what_the_rule_answers_for_generated_readers(cast, seed):
    rng = random.Random(100 + seed)
    readers = [UserFactory(username=f"reader{i:02d}", is_archivist=rng.random() < 0.2) for i in range(10)]
    members, invited = [], [cast.member2]
    for user in readers:
        role = rng.choice([Participant.Role.MEMBER, Participant.Role.OBSERVER, Participant.Role.SUBSTITUTE,
                           Participant.Role.SECRETARY, None])
        if role is None:
            continue
        extra = {}
        if role == Participant.Role.SUBSTITUTE:
            if not members:
                continue
            extra["substitute_for"] = members.pop(rng.randrange(len(members))).username  # one substitute each
        meeting_services.participant_add(actor=cast.secretary, meeting=cast.meeting, username=user.username,
                                         role=role, **extra)
        invited.append(user)
        if role == Participant.Role.MEMBER:
            members.append(user)
        elif role == Participant.Role.SUBSTITUTE and rng.random() < 0.6:
            meeting_services.substitute_approve(actor=cast.pm, meeting=cast.meeting, username=user.username)
    second = meeting_services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Mục hai")
    everyone = [cast.pm, cast.secretary, cast.member, cast.member2, cast.observer, cast.archivist, *readers]
    documents = [cast.public_doc, cast.internal_doc, cast.restricted_doc]
    for k in range(4):
        classification = rng.choice(["public", "internal", "restricted", "restricted"])
        recipients = [u.username for u in rng.sample(invited, min(3, len(invited)))] if classification == "restricted" \
            else []
        documents.append(meeting_services.document_upload(
            actor=cast.secretary, item=rng.choice([cast.item, second]), title=f"Tài liệu {seed}-{k}",
            classification=classification, upload=upload(), recipients=recipients))
    for user in everyone:
        for document in rng.sample(documents, 3):
            _read(user, document, 1)
    cast.set_status(rng.choice([Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS, Meeting.Status.CLOSED]))
    checked = 0
    for _order in range(2):
        prepared._compiled.clear()
        rng.shuffle(everyone)
        for user in everyone:
            try:
                access = meeting_access(user, cast.meeting.pk)
            except NotFound:  # not a reader of this session: nothing to compare
                continue
            assert _shown(selectors.agenda_rows(access)) == _shown(selectors.agenda(access)), user.username
            checked += 1
    assert checked >= 8


def test_sentinels_are_not_ids_and_only_exact_ints_are_replaced():
    sentinels = [task_rules._PROBE_USER, task_rules._PROBE_MINISTRY, task_rules.PROBE_MEETING,
                 selectors._MEETING, selectors._USER]
    assert len(set(sentinels)) == len(sentinels)
    assert all(s < -2**39 for s in sentinels)  # no primary key (a positive integer) is one
    values = {task_rules._PROBE_USER: 7}
    filled = prepared.fill((task_rules._PROBE_USER, str(task_rules._PROBE_USER), float(task_rules._PROBE_USER),
                            True, 5, None), values)
    assert filled == [7, str(task_rules._PROBE_USER), float(task_rules._PROBE_USER), True, 5, None]


def test_the_prepared_task_query_is_refused_to_accounts_whose_shape_it_does_not_name(cast):
    """The probe behind ``visible_tasks_sql`` is active and outside the secretariat: a deactivated
    account (its ministry's tasks) or the secretariat (every task, not its ministry's) given that
    query would be given someone else's rule. Its callers ask first; it refuses them itself."""
    from django.contrib.auth.models import AnonymousUser

    lead = MinistryFactory(code="bo-gen-lead")
    gone = UserFactory(username="gone01", ministry=lead, is_active=False)
    for user in (gone, cast.secretary, AnonymousUser()):
        with pytest.raises(ValueError, match="active accounts outside the secretariat"):
            task_rules.visible_tasks_sql(user, "any", lambda t: t.values("pk")[:1])
    assert task_rules.register_query(gone) is False and task_rules.register_query(cast.secretary) is True

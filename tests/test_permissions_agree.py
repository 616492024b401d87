"""The document rule exists twice — as a query filter (``documents_visible_to``, for pages and the
API) and as a predicate over grants (``document_readers``, for the read-receipt table). They must
never disagree."""

import contextlib

import pytest

from ecabinet.errors import NotFound
from meetings import permissions, selectors
from meetings.models import Document, Meeting


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.CLOSED])
def test_it_answers_who_reads_what_the_same_way_in_both_forms(cast, status):
    cast.set_status(status)
    people = selectors.participants(cast.meeting)
    readers = permissions.document_readers(cast.meeting, people)
    for person in people:
        try:
            access = permissions.meeting_access(person.user, cast.meeting.pk)
        except NotFound:  # a draft hides the session from members
            expected = set()
        else:
            expected = set(Document.objects.filter(permissions.documents_visible_to(access),
                                                   agenda_item__meeting=cast.meeting).values_list("pk", flat=True))
        assert {doc for doc, user in readers if user == person.user_id} == expected, person.user.username


def test_it_reads_the_recipients_of_every_document_in_one_query(cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        recipients = permissions.recipients_by_document(cast.meeting)
    assert recipients == {cast.restricted_doc.pk: {cast.member.pk}}


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.CLOSED])
def test_the_access_of_many_people_at_once_is_the_access_of_each(cast, status, django_assert_num_queries):
    cast.set_status(status)
    everyone = [cast.pm, cast.secretary, cast.member, cast.member2, cast.observer, cast.archivist, cast.outsider,
                cast.admin]
    with django_assert_num_queries(2):
        many = permissions.meeting_accesses(everyone, cast.meeting)
    for user in everyone:
        try:
            one = permissions.meeting_access(user, cast.meeting.pk)
        except NotFound:
            assert user.pk not in many, user.username
            continue
        got = many[user.pk]
        assert (got.perms, got.role, got.can_view, got.can_run, got.is_archivist_reader) == \
            (one.perms, one.role, one.can_view, one.can_run, one.is_archivist_reader), user.username


@pytest.mark.parametrize("status", [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.CLOSED])
def test_the_access_by_id_is_the_access_in_two_queries(cast, status, django_assert_max_num_queries):
    """``meeting_access_by_id`` (each room-socket connect, issue 19) answers as ``meeting_access``."""
    cast.set_status(status)
    everyone = [cast.pm, cast.secretary, cast.member, cast.member2, cast.observer, cast.archivist, cast.outsider,
                cast.admin]
    for user in everyone:
        for meeting_id in (cast.meeting.pk, cast.meeting.pk + 1000):
            try:
                one = permissions.meeting_access(user, meeting_id)
            except NotFound:
                one = None
            with django_assert_max_num_queries(2):
                try:
                    got = permissions.meeting_access_by_id(user, meeting_id)
                except NotFound:
                    got = None
            assert (got is None) == (one is None), (user.username, meeting_id)
            if got is not None:
                assert (got.meeting.pk, got.meeting.status, got.meeting.event_seq, got.perms, got.participant,
                        got.can_view, got.can_run, got.is_archivist_reader) == \
                    (one.meeting.pk, one.meeting.status, one.meeting.event_seq, one.perms, one.participant,
                     one.can_view, one.can_run, one.is_archivist_reader), user.username


@pytest.mark.parametrize("who", ["member", "secretary", "archivist"])
def test_the_access_by_id_rereads_the_account_when_asked(cast, who):
    """The room socket's connect: an account deactivated (or no longer an archivist) since it was
    read has no access, whether or not it holds permissions on the session."""
    cast.set_status(Meeting.Status.CLOSED)
    user = getattr(cast, who)
    assert permissions.meeting_access_by_id(user, cast.meeting.pk, reread_user=True).can_view
    type(user).objects.filter(pk=user.pk).update(is_active=False, is_archivist=False)
    with pytest.raises(NotFound):
        permissions.meeting_access_by_id(user, cast.meeting.pk, reread_user=True)
    assert (user.is_active, user.is_archivist) == (False, False)


def test_an_inactive_account_has_no_access_in_the_many_form_either(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    cast.member.is_active = False
    assert permissions.meeting_accesses([cast.member], cast.meeting) == {}


# --- who hears: the audiences of live events agree with who may read (issue 16) ---------------------

# What each persona reads of the cast's papers in a published session, written out by hand (the rule
# of docs/security.md): internal papers go to the chair, members, substitutes and the secretariat —
# not to observers; the restricted one to its recipient (member01) and the secretariat.
READS = {
    "pm": {"public", "internal"},
    "secretary": {"public", "internal", "restricted"},
    "member": {"public", "internal", "restricted"},
    "member2": {"public", "internal"},
    "deputy": {"public", "internal"},
    "observer": {"public"},
}
PERSONAS = (*READS, "archivist")


def _accesses(cast) -> dict[str, permissions.MeetingAccess]:
    out = {}
    for name in PERSONAS:
        with contextlib.suppress(NotFound):
            out[name] = permissions.meeting_access(getattr(cast, name), cast.meeting.pk)
    return out


def test_each_role_reads_what_the_rule_says_substitutes_included(substitute):
    cast = substitute
    cast.set_status(Meeting.Status.PUBLISHED)
    docs = {cast.public_doc.pk: "public", cast.internal_doc.pk: "internal", cast.restricted_doc.pk: "restricted"}
    accesses = _accesses(cast)
    assert set(accesses) == set(READS)  # the archivist reads only closed sessions
    for name, access in accesses.items():
        visible = Document.objects.filter(permissions.documents_visible_to(access), agenda_item__meeting=cast.meeting)
        assert {docs[pk] for pk in visible.values_list("pk", flat=True)} == READS[name], name
        tokens = permissions.audience_tokens(access)
        assert {docs[d.pk] for d in visible if tokens & set(permissions.document_audience(
            d, permissions.document_recipient_ids(d)))} == READS[name], name


@pytest.mark.parametrize("status", [Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS, Meeting.Status.CLOSED])
def test_who_hears_of_a_document_comment_or_position_is_who_may_read_it(substitute, status):
    """For every role (substitutes and archivists included), every document of the session: its
    events reach exactly its readers; a shared comment on it reaches exactly its readers; a shared
    comment on the item reaches everyone; a comment to the secretariat reaches its author and the
    secretariat (and, in a closed session, the archivist, who reads everything); a private note only its
    author; a position its author, the chair and the secretariat."""
    cast = substitute
    cast.set_status(status)
    documents = list(Document.objects.filter(agenda_item__meeting=cast.meeting))
    recipients = permissions.recipients_by_document(cast.meeting)
    other = cast.member2
    accesses = _accesses(cast)
    assert "deputy" in accesses and ("archivist" in accesses) == (status == Meeting.Status.CLOSED)
    for name, access in accesses.items():
        me = access.user
        for doc in documents:
            readers = recipients.get(doc.pk, set())
            reads = permissions.may_read(access, doc.classification, me.pk in readers)
            assert reads == Document.objects.filter(permissions.documents_visible_to(access), pk=doc.pk).exists()
            assert permissions.hears(access, permissions.document_audience(doc, readers)) == reads, (name, doc.title)
            shared = permissions.comment_audience_of("shared", other.pk, doc.pk, doc.classification, readers)
            assert permissions.hears(access, shared) == reads, (name, doc.title)
        for author in (me, other):
            mine = author == me
            assert permissions.hears(access, permissions.comment_audience_of("shared", author.pk, None, None))
            assert permissions.hears(access, permissions.comment_audience_of("private", author.pk, None, None)) == mine
            assert permissions.hears(access, permissions.comment_audience_of("secretariat", author.pk, None, None)) \
                == (mine or access.role == "secretary" or access.is_archivist_reader), name
            assert permissions.hears(access, permissions.position_audience(author.pk)) \
                == (mine or access.role in ("chair", "secretary") or access.is_archivist_reader), name
            assert permissions.sees_all_positions(access) == (access.role in ("chair", "secretary")
                                                              or access.is_archivist_reader), name


def test_the_events_a_service_writes_reach_exactly_the_readers(substitute):
    """Through the services: a new internal paper and a shared comment on it are heard by the
    chair, members, the substitute and the secretariat, and not by the observer."""
    from meetings import services
    from meetings.models import Event

    from .conftest import upload

    cast = substitute
    cast.set_status(Meeting.Status.PUBLISHED)
    before = Meeting.objects.get(pk=cast.meeting.pk).event_seq
    doc = services.document_upload(actor=cast.secretary, item=cast.item, title="Phụ lục nội bộ",
                                   classification="internal", upload=upload())
    services.comment_post(actor=cast.deputy, item_id=cast.item.pk, text="Ý kiến của người dự thay",
                          document_id=doc.pk)
    written = list(Event.objects.filter(meeting=cast.meeting, seq__gt=before).order_by("seq"))
    assert [e.kind for e in written] == ["document.published", "comment.posted"]
    for name, access in _accesses(cast).items():
        heard = [e.kind for e in written if permissions.hears(access, e.audience)]
        assert heard == ([] if name == "observer" else ["document.published", "comment.posted"]), name


# --- what the tablet is told it may do (the snapshot's ``me.can``) -----------------------------------

ALL_VISIBILITIES = ["shared", "secretariat", "private"]
_NOBODY = {"run": False, "speak": False, "position": False, "see_positions": False, "comment": False,
           "comment_visibilities": [], "vote": False, "stands_in": False}
_MEMBER = {**_NOBODY, "speak": True, "position": True, "comment": True, "comment_visibilities": ALL_VISIBILITIES,
           "vote": True}
CAN = {
    "pm": {**_MEMBER, "run": True, "see_positions": True},
    "secretary": {**_NOBODY, "run": True, "see_positions": True, "comment": True,
                  "comment_visibilities": ALL_VISIBILITIES},
    "member": _MEMBER,
    "member2": _MEMBER,
    "deputy": {**_MEMBER, "stands_in": True},
    "observer": {**_NOBODY, "speak": True, "comment": True, "comment_visibilities": ["private"]},
    "archivist": {**_NOBODY, "see_positions": True},
}


@pytest.mark.parametrize("status", [Meeting.Status.PUBLISHED, Meeting.Status.CLOSED])
def test_the_snapshot_tells_each_role_what_the_policy_lets_it_do(substitute, status):
    from meetings.snapshot import snapshot

    cast = substitute
    cast.set_status(status)
    accesses = _accesses(cast)
    assert set(accesses) == set(CAN) - ({"archivist"} if status == Meeting.Status.PUBLISHED else set())
    for name, access in accesses.items():
        can = snapshot(access)["meeting"]["me"]["can"]
        assert can == permissions.capabilities(access) == CAN[name], name


def test_the_tablet_counts_present_members_by_the_roles_the_tally_counts(cast):
    """The snapshot's ``voting_rules.counted_roles`` is the server's rule, not a list the tablet keeps."""
    from voting.motion_state import voting_rules
    from voting.permissions import COUNTED_ROLES

    assert voting_rules(cast.meeting)["counted_roles"] == sorted(COUNTED_ROLES) == ["chair", "member"]


# Who sees who is online, written out by hand: the secretariat runs the roll call; the archivist reads a
# closed session as the secretariat does (replay must match, nothing live happens).
SEES_PRESENCE = {"secretary", "archivist"}


@pytest.mark.parametrize("status", [Meeting.Status.IN_PROGRESS, Meeting.Status.CLOSED])
def test_who_is_online_reaches_the_same_people_in_the_snapshot_and_in_the_events(substitute, status):
    from meetings.snapshot import snapshot

    cast = substitute
    cast.set_status(status)
    for name, access in _accesses(cast).items():
        in_snapshot = "presence" in snapshot(access)["meeting"]
        hears_changes = permissions.hears(access, permissions.PRESENCE_AUDIENCE)
        assert in_snapshot == hears_changes == (name in SEES_PRESENCE), name


@pytest.mark.parametrize("status", [Meeting.Status.IN_PROGRESS, Meeting.Status.CLOSED])
def test_the_positions_table_opens_to_whoever_the_snapshot_shows_every_position(substitute, status):
    """One rule (``sees_all_positions``) for the snapshot, the positions screen and its API: the
    secretariat and the chair, and the archivist once the session is closed."""
    from django.test import Client

    cast = substitute
    cast.set_status(status)
    for name, access in _accesses(cast).items():
        user = getattr(cast, name)
        sees = permissions.sees_all_positions(access)
        assert sees == (name in {"pm", "secretary", "archivist"}), name
        api = cast.client(user).get(f"/api/v1/meetings/{cast.meeting.pk}/positions/")
        screen = Client()
        screen.force_login(user)
        page = screen.get(f"/meetings/{cast.meeting.pk}/positions/")
        assert (api.status_code == 200, page.status_code == 200) == (sees, sees), name


def test_whoever_the_page_offers_to_answer_their_invitation_the_service_lets_answer(substitute):
    """The session page's "your attendance" buttons (``may_answer_invitation``) and the service that
    records the answer (``attendance_set``) agree for every persona of a published session."""
    from ecabinet.errors import DomainError
    from meetings import services

    cast = substitute
    cast.set_status(Meeting.Status.PUBLISHED)
    offered = {name for name, access in _accesses(cast).items() if permissions.may_answer_invitation(access)}
    assert offered == {"pm", "member", "member2", "deputy", "observer"}
    for name in offered:
        user = getattr(cast, name)
        services.attendance_set(actor=user, meeting=cast.meeting, username=user.username, status="confirmed")
    cast.set_status(Meeting.Status.IN_PROGRESS)
    assert not any(permissions.may_answer_invitation(a) for a in _accesses(cast).values())
    with pytest.raises(DomainError):
        services.attendance_set(actor=cast.member, meeting=cast.meeting, username="member01", status="confirmed")

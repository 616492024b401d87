"""The document rule exists twice — as a query filter (``documents_visible_to``, for pages and the
API) and as a predicate over grants (``document_readers``, for the read-receipt table). They must
never disagree."""

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


def test_an_inactive_account_has_no_access_in_the_many_form_either(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    cast.member.is_active = False
    assert permissions.meeting_accesses([cast.member], cast.meeting) == {}

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

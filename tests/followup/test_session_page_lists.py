"""The session page's header reads the session's tasks and written ballots in its own statement
(``followup_tags.header_counts`` with ``session_lists``; issue 19): for every reader, exactly the
rows, fields and order the tags' own reads give (``selectors.session_tasks``,
``ballot_tags.session_ballot_rows``, both the rules' queries), and the same header counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from followup import selectors
from followup.templatetags.followup_tags import SESSION_TASKS_SHOWN, header_counts
from meetings import services as meeting_services
from voting.models import Ballot, BallotRecipient
from voting.services import ballots as ballot_services
from voting.templatetags.ballot_tags import session_ballot_rows

from .conftest import later, new_task


def _task(t):
    return (t.pk, t.title, t.state, t.regular, t.deadline, t.lead_ministry.pk, t.lead_ministry.code,
            t.lead_ministry.name, t.lead_ministry.name_en, t.lead_ministry.short_name)


def _ballot(b):
    return (b.pk, b.title, b.deadline, b.status, b.silence_is_consent)


def test_the_header_reads_the_session_lists_the_tags_would_read_for_every_reader(ft, db):
    cast = ft.cast
    new_task(ft, title="Nhiệm vụ thường xuyên", deadline=None, regular=True)
    new_task(ft, title="Nhiệm vụ sớm", deadline=later(3))
    new_task(ft, title="Nhiệm vụ cùng hạn", deadline=later(3), lead_ministry="bo-y-te")
    now = ballot_services.current_time()
    for title, status, days, silence in (("Phiếu mở", "open", 3, False), ("Phiếu đã đóng", "closed", -2, True),
                                         ("Phiếu hết hạn", "open", -1, False), ("Phiếu nháp", "draft", 5, False)):
        ballot = Ballot.objects.create(title=title, status=status, deadline=now + dt.timedelta(days=days),
                                       silence_is_consent=silence, created_by=cast.secretary, meeting=cast.meeting)
        BallotRecipient.objects.create(ballot=ballot, user=cast.member)
    readers = [cast.pm, cast.member, cast.member2, cast.observer, cast.secretary, cast.archivist, cast.outsider,
               ft.lead_user, ft.co_user]
    seen = set()
    for closed in (False, True):
        if closed:
            for step in (meeting_services.meeting_adjourn, meeting_services.meeting_close):
                step(actor=cast.secretary, meeting=cast.meeting)
                cast.meeting.refresh_from_db()
        for user in readers:
            context = {"request": SimpleNamespace(user=user), "session_lists": cast.meeting.pk}
            with CaptureQueriesContext(connection) as captured:
                header = header_counts(context)
            assert len(captured.captured_queries) == 1, user.username
            lists = header.pop("session")
            assert header == header_counts({"request": SimpleNamespace(user=user)}), user.username
            assert (lists["meeting"], lists["user"]) == (cast.meeting.pk, user.pk)
            tasks = [_task(t) for t in selectors.session_tasks(user, cast.meeting.pk, SESSION_TASKS_SHOWN)]
            assert [_task(t) for t in lists["tasks"]] == tasks, user.username
            ballots = [_ballot(b) for b in session_ballot_rows(user, cast.meeting.pk, lists["now"])]
            assert [_ballot(b) for b in lists["ballots"]] == ballots, user.username
            assert all(type(b.deadline) is dt.datetime and timezone.is_aware(b.deadline) for b in lists["ballots"])
            seen.add((len(tasks), len(ballots)))
    assert len(seen) >= 3  # the readers really see different lists

"""The agenda screen (``/meetings/{id}/``) and the session API (``GET /api/v1/meetings/{id}/``) cost a
constant number of SQL queries whatever the size of the session (issue 19), answer exactly what they
answered before (the session API is a fixed contract, DESIGN.md §5.2), and the agenda list the screen
keeps in the cache never shows anyone what was drawn for someone else."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from ecabinet.models import Ministry
from followup.templatetags.followup_tags import header_counts
from meetings import access as access_reads
from meetings import permissions, selectors, services
from meetings.models import Meeting, Participant
from meetings.serializers import MeetingDetailSerializer, meeting_detail_data
from meetings.templatetags.screens import agenda_list, ministry_name
from voting.services import motions

from ..conftest import upload
from ..factories import UserFactory, in_days
from ..pdfs import make_pdf

CLASSES = ["public", "internal", "restricted"]
# Every statement Django sends, BEGIN and COMMIT of the audit entry included (what bench/pages.py counts; the
# test runs with transaction=True so that they are real): the screen: session, user, access (1), audit (BEGIN,
# UPDATE of the head, INSERT, COMMIT: ecabinet.audit), header with the agenda (items, documents and motions:
# meetings.selectors.agenda_statement), the session's tasks and written ballots, all in one statement
# (followup_tags.header_counts, tests/followup/test_session_page_lists.py); the API: token (1), access (1), audit (4),
# agenda (1: meetings.selectors.agenda_rows), participants (1).
# The access is one query: the caller's and the chair's rows with the caller's grants (meetings.permissions).
SCREEN_MAX, API_MAX = 8, 8


def build_session(tag: str, *, items: int, documents: int, people: int, comments: int = 0) -> dict:
    """A session in progress: a chair, ``people`` members (the first of them named on every restricted
    document), an observer and an approved substitute, ``items`` items of ``documents`` documents each
    (public, internal, restricted in turn; the items present by a ministry), comments, a closed motion
    on the first item and an open one on the last, and the first member having read some documents —
    one of them since updated."""
    secretary = UserFactory(username="secretary", is_secretariat=True)
    meeting = services.meeting_create(actor=secretary, title=f"Phiên họp {tag}", kind="regular", starts_at=in_days(2))
    cast = {"secretary": secretary, "meeting": meeting}
    roles = [("chair", f"{tag}-chair"), ("observer", f"{tag}-guest")] + \
        [("member", f"{tag}-member{i:02d}") for i in range(people)]
    for role, username in roles:
        cast[username] = UserFactory(username=username)
        services.participant_add(actor=secretary, meeting=meeting, username=username, role=role)
    cast[f"{tag}-deputy"] = UserFactory(username=f"{tag}-deputy", ministry=None)
    services.participant_add(actor=secretary, meeting=meeting, username=f"{tag}-deputy", role="substitute",
                             substitute_for=f"{tag}-member01")
    reader = cast[f"{tag}-member00"]
    ministry = Ministry.objects.create(code=f"{tag}-bo", name=f"Bộ Tư pháp {tag}", name_en=f"Ministry of Justice {tag}")
    pdf = make_pdf(["Dự thảo"])
    item_ids, uploaded = [], []
    for i in range(items):
        item = services.agenda_item_add(actor=secretary, meeting=meeting, title=f"Mục {i + 1}",
                                        description="Tờ trình\nvà dự thảo", planned_minutes=15 if i % 2 else None,
                                        presenter_ministry=ministry if i % 2 == 0 else None)
        item_ids.append(item.pk)
        for j in range(documents):
            classification = CLASSES[(i + j) % len(CLASSES)]
            uploaded.append(services.document_upload(
                actor=secretary, item=item, title=f"Tài liệu {i + 1}.{j + 1}", classification=classification,
                upload=upload(data=pdf), recipients=[reader.username] if classification == "restricted" else ()))
    services.meeting_publish(actor=secretary, meeting=meeting)
    services.substitute_approve(actor=cast[f"{tag}-chair"], meeting=meeting, username=f"{tag}-deputy")
    services.meeting_start(actor=cast[f"{tag}-chair"], meeting=meeting)
    services.attendance_set(actor=secretary, meeting=meeting, username=reader.username, status="present")
    for item_id in item_ids:
        for c in range(comments):
            services.comment_post(actor=cast[roles[2 + c % people][1]], item_id=item_id, text=f"Ý kiến {c + 1}")
    closed = motions.motion_create(actor=secretary, item_id=item_ids[0], title="Nghị quyết về mục 1")
    motions.motion_open(actor=cast[f"{tag}-chair"], motion_id=closed.pk)
    motions.motion_close(actor=cast[f"{tag}-chair"], motion_id=closed.pk)
    motions.motion_create(actor=secretary, item_id=item_ids[-1], title="Nghị quyết về mục cuối")
    for document in uploaded[::2]:
        services.document_issue_copy(actor=reader, document_id=document.pk)
    services.document_add_version(actor=secretary, document=uploaded[0], upload=upload(data=make_pdf(["Bản 2"])))
    cast["reader"], cast["documents"] = reader, uploaded
    return cast


def count(client: Client, path: str) -> tuple[int, bytes, list[str]]:
    client.get(path)  # the first request of a client may do one-off work (a login session's rotation…)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return len(captured.captured_queries), response.content, [q["sql"] for q in captured.captured_queries]


def screen_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("who", ["reader", "chair", "secretary", "guest", "deputy"])
def test_the_agenda_screen_and_the_session_api_cost_the_same_queries_whatever_the_size(who):
    small = build_session("s", items=2, documents=1, people=3)
    large = build_session("l", items=12, documents=2, people=30, comments=3)
    names = {"reader": "{}-member00", "chair": "{}-chair", "secretary": "secretary", "guest": "{}-guest",
             "deputy": "{}-deputy"}
    counts = {}
    for tag, session in (("s", small), ("l", large)):
        user = session[names[who].format(tag)]
        user.refresh_from_db()  # the secretary is shared: the second session's factory set its password again
        meeting_id = session["meeting"].pk
        screen, html, screen_sql = count(screen_client(user), f"/meetings/{meeting_id}/")
        api, _body, api_sql = count(api_client(user), f"/api/v1/meetings/{meeting_id}/")
        counts[tag] = (screen, api, html, screen_sql, api_sql)
    (s_screen, s_api, s_html, *_), (l_screen, l_api, l_html, l_screen_sql, l_api_sql) = counts["s"], counts["l"]
    assert l_html.count(b'class="docrow"') > s_html.count(b'class="docrow"')  # the large one really shows more
    assert l_screen == s_screen, "\n".join(l_screen_sql)
    assert l_api == s_api, "\n".join(l_api_sql)
    assert l_screen <= SCREEN_MAX, "\n".join(l_screen_sql)
    assert l_api <= API_MAX, "\n".join(l_api_sql)


def _serializer_answer(user, meeting: Meeting) -> dict:
    """The session API's answer as ``MeetingDetailSerializer`` gives it from model instances (what the
    API answered before issue 19)."""
    access = permissions.meeting_access(user, meeting.pk)
    access.meeting.agenda = selectors.agenda(access)
    access.meeting.participants_list = selectors.participants(access.meeting)
    return MeetingDetailSerializer(access.meeting).data


@pytest.mark.parametrize("who", ["reader", "secretary", "guest", "deputy", "l-member02"])
def test_the_session_api_answers_what_its_serializer_describes(db, who):
    cast = build_session("l", items=4, documents=3, people=3, comments=1)
    user = {"reader": cast["reader"], "secretary": cast["secretary"], "guest": cast["l-guest"],
            "deputy": cast["l-deputy"]}.get(who) or cast[who]
    access = permissions.meeting_access(user, cast["meeting"].pk)
    fast = meeting_detail_data(access.meeting, selectors.agenda_rows(access),
                               selectors.participant_dicts(access.meeting))
    assert fast == _serializer_answer(user, cast["meeting"])
    assert list(fast) == list(MeetingDetailSerializer.Meta.fields)  # same keys, same order
    # The read marks really differ across the documents, and the restricted ones are the reader's only.
    marks = {(d["is_new"], d["is_updated"]) for item in fast["agenda"] for d in item["documents"]}
    restricted = [d for item in fast["agenda"] for d in item["documents"] if d["classification"] == "restricted"]
    if who == "reader":
        assert marks == {(True, False), (False, False), (False, True)}
        assert restricted
    elif who != "secretary":
        assert not restricted
    answer = api_client(user).get(f"/api/v1/meetings/{cast['meeting'].pk}/").json()
    assert answer == {**fast, "my_role": access.role}
    approved = {p["username"]: p["approved"] for p in answer["participants"]}
    assert approved["l-deputy"] is True and {p["ministry"] for p in answer["participants"]} >= {None}


def test_the_cached_agenda_list_is_never_shown_to_someone_it_was_not_drawn_for(db):
    cast = build_session("c", items=3, documents=3, people=3)
    meeting_id, reader, other = cast["meeting"].pk, cast["reader"], cast["c-member01"]
    restricted = [d for d in cast["documents"] if d.classification == "restricted"]
    url = f"/meetings/{meeting_id}/"
    first = screen_client(reader).get(url).content.decode()
    assert all(d.title in first for d in restricted)
    # Another member, after the reader's list was cached: no restricted paper, no read mark of the reader's.
    seen = screen_client(other).get(url).content.decode()
    assert not any(d.title in seen for d in restricted)
    assert 'data-mark="updated"' in first and 'data-mark="updated"' not in seen
    assert seen.count('data-mark="new"') == seen.count('class="docrow"')
    # The reader reads a new paper: their list changes at once, the other member's does not.
    unread = next(d for d in cast["documents"] if d.classification == "public"
                  and f'data-document-id="{d.pk}"' in first
                  and 'data-mark="new"' in first.split(f'data-document-id="{d.pk}"')[1].split("</div>")[0])
    services.document_issue_copy(actor=reader, document_id=unread.pk)
    again = screen_client(reader).get(url).content.decode()
    assert again.count('data-mark="new"') == first.count('data-mark="new"') - 1
    assert screen_client(other).get(url).content.decode().count('data-mark="new"') == seen.count('data-mark="new"')
    # A change no session event announces (the ministry renamed by an administrator) shows at once too.
    Ministry.objects.filter(code="c-bo").update(name="Bộ Tư pháp (tên mới)", name_en="Ministry of Justice (renamed)")
    assert "Ministry of Justice (renamed)" in screen_client(reader).get(url).content.decode()
    # The language is part of what is drawn: the same rows give each language its own list.
    access = permissions.meeting_access(reader, meeting_id)
    rows = selectors.agenda_rows(access)
    with translation.override("en"):
        english = agenda_list(rows, False)
    with translation.override("vi"):
        vietnamese = agenda_list(rows, False)
    with translation.override("en"):
        assert agenda_list(rows, False) == english
    assert "Pending" in english and "Pending" not in vietnamese and "Bộ Tư pháp (tên mới)" in vietnamese


def test_the_secretariat_sees_the_assign_links_and_members_do_not(db):
    cast = build_session("a", items=2, documents=1, people=2)
    url = f"/meetings/{cast['meeting'].pk}/"
    member = screen_client(cast["reader"]).get(url).content.decode()
    secretary = screen_client(cast["secretary"]).get(url).content.decode()
    assert 'data-assign="agenda_item"' in secretary and 'data-assign="motion"' in secretary
    assert 'data-assign="agenda_item"' not in member and "data-assign" not in member


def test_the_chair_and_the_ministry_read_with_the_access_are_the_right_ones(db):
    """``meeting_access`` reads the chair's row with the caller's, and the caller's ministry with it
    (issue 19): the page names the chair for a member, for the chair and for the secretariat (not a
    participant), the header names the caller's own ministry, and a session without a chair says so."""
    cast = build_session("h", items=1, documents=1, people=2)
    chair, url = cast["h-chair"], f"/meetings/{cast['meeting'].pk}/"
    for who in ("reader", "h-chair", "secretary", "h-guest"):
        user = cast[who]
        html = screen_client(user).get(url).content.decode()
        assert f"<dd>{chair.get_full_name()}</dd>" in html, who
        if user.ministry_id:
            with translation.override("en"):
                shown = ministry_name(user.ministry)
            assert f'class="userbox__ministry" title="{shown}"' in html, who
    # Without a chair.
    Participant.objects.filter(meeting=cast["meeting"], role="chair").update(role="member")
    html = screen_client(cast["reader"]).get(url).content.decode()
    assert chair.get_full_name() not in html


def test_the_prepared_grants_query_answers_what_the_orm_answers(db):
    cast = build_session("g", items=1, documents=1, people=2)
    meeting = cast["meeting"]
    other = services.meeting_create(actor=cast["secretary"], title="Phiên khác", kind="regular", starts_at=in_days(3))
    outsider = UserFactory(username="g-outsider")
    people = [cast["secretary"], cast["g-chair"], cast["g-guest"], cast["g-deputy"], cast["g-member00"], outsider]
    seen = set()
    for user in people:
        for session in (meeting, other):
            orm = frozenset(permissions.MeetingUserObjectPermission.objects.filter(user=user, content_object=session)
                            .values_list("permission__codename", flat=True)) & set(permissions.RULE_CODENAMES)
            fast = access_reads.grants(user.pk, session.pk, permissions.RULE_CODENAMES)
            assert fast == orm, (user.username, session.pk)
            seen.add(orm)
    assert len(seen) >= 4  # the secretary, the chair, a member and the outsider hold different grants


def _fields(instance) -> dict | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _types(instance) -> dict:
    return {name: type(value) for name, value in _fields(instance).items()}


def test_the_prepared_caller_and_chair_rows_are_the_orms(db):
    from django.db.models import Q

    cast = build_session("c", items=1, documents=1, people=2)
    meeting = cast["meeting"]
    nobody = UserFactory(username="c-nobody", ministry=None)
    for user in [cast["secretary"], cast["c-chair"], cast["c-guest"], cast["c-deputy"], cast["c-member00"], nobody]:
        orm = list(Participant.objects.select_related("meeting", "user__ministry")
                   .filter(Q(user=user) | Q(role=Participant.Role.CHAIR), meeting_id=meeting.pk).order_by("pk"))
        fast, grants = access_reads.caller_and_chair(user.pk, meeting.pk, permissions.RULE_CODENAMES)
        assert len(fast) == len(orm) >= 1
        # the grants read with the rows are the grants read alone
        assert grants == access_reads.grants(user.pk, meeting.pk, permissions.RULE_CODENAMES)
        for a, b in zip(fast, orm, strict=True):
            assert _fields(a) == _fields(b)
            assert _fields(a.meeting) == _fields(b.meeting)
            assert _fields(a.user) == _fields(b.user)
            assert _fields(a.user.ministry) == _fields(b.user.ministry)
            # types too (SQLite gives text for datetimes, integers for booleans: the converters must have run)
            assert _types(a.meeting) == _types(b.meeting) and _types(a.user) == _types(b.user)
            assert not a._state.adding and a._state.db == b._state.db
    assert access_reads.caller_and_chair(nobody.pk, meeting.pk + 1000, permissions.RULE_CODENAMES) == ([], frozenset())


def _plain_agenda(items) -> list:
    """What a reader is shown of an agenda, from ``selectors.agenda``'s instances or ``agenda_rows``' rows."""
    def ministry(m):
        return None if m is None else (m.name, m.name_en or "")

    def version(v):
        return None if v is None else (v.number, v.sha256, v.pages)

    return [(i.pk, i.position, i.title, i.description, i.status, i.get_status_display(), i.planned_minutes,
             ministry(i.presenter_ministry),
             [(d.pk, d.title, d.classification, d.get_classification_display(), version(d.current_version),
               d.read_state) for d in i.visible_documents],
             [(m.pk, m.title, m.status) for m in i.motion_list]) for i in items]


def test_the_agenda_in_one_statement_is_the_orms_agenda_for_every_role(db):
    """``agenda_rows`` (one prepared statement per shape of reader) shows each reader exactly what
    ``agenda`` (the ORM's read, the rule as written in meetings.permissions) shows them: the chair, a
    restricted paper's recipient, another member, an observer, an approved substitute, the secretariat,
    and an archivist once the session is closed."""
    cast = build_session("e", items=4, documents=3, people=3, comments=1)
    meeting = cast["meeting"]
    archivist = UserFactory(username="e-archivist", is_archivist=True)
    readers = [cast["e-chair"], cast["reader"], cast["e-member02"], cast["e-guest"], cast["e-deputy"],
               cast["secretary"]]
    shown = set()
    for status in ("in_progress", "closed"):
        if status == "closed":
            services.meeting_adjourn(actor=cast["e-chair"], meeting=meeting)
            services.meeting_close(actor=cast["e-chair"], meeting=Meeting.objects.get(pk=meeting.pk))
            readers.append(archivist)
        for user in readers:
            access = permissions.meeting_access(user, meeting.pk)
            fast = _plain_agenda(selectors.agenda_rows(access))
            assert fast == _plain_agenda(selectors.agenda(access)), (status, user.username)
            shown.add(repr(fast))
            # The agenda screen reads the same rows within its header's statement (one statement for all).
            page = selectors.PageAgenda(access)
            context = {"request": SimpleNamespace(user=user), "session_lists": meeting.pk, "session_agenda": page}
            with CaptureQueriesContext(connection) as captured:
                header = header_counts(context)
                folded = page.rows()
            assert len(captured.captured_queries) == 1, (status, user.username)
            assert folded == selectors.agenda_rows(access), (status, user.username)
            alone = header_counts({"request": SimpleNamespace(user=user), "session_lists": meeting.pk})
            assert header.pop("session")["tasks"] == alone.pop("session")["tasks"] and header == alone
    assert len(shown) >= 4  # the readers really see different agendas (papers, read marks)
    access = permissions.meeting_access(cast["reader"], meeting.pk)
    with CaptureQueriesContext(connection) as captured:
        selectors.agenda_rows(access)
    assert len(captured.captured_queries) == 1

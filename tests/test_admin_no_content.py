"""The administrator reaches no session content through any route (issue 15, "Done means").

The walk is built from the URL configuration itself (``get_resolver()``), so a route added later is
walked without anyone editing this file: every screen and every ``/api/v1/`` path, with every
method, as the cast's ``admin`` (superuser and staff, invited to nothing) and as a staff account
without superuser. Their ids name real things of a session that has run its whole course — papers
of every classification, comments of every visibility, a named and a secret vote, sealed minutes,
an archive, and an open written ballot with a member's answer — and the secretary opens the same
pages, which proves the ids are real. Then the Django admin (every registered model, every page),
the room socket, and the code itself (nothing asks Django's or guardian's "superuser may do
anything" shortcut).

The rule: a route that names an object refuses them (404, 403, 405 or a redirect to sign in); a
route that names none may answer, but no answer contains any of the session's content or anyone
else's token; and the walk leaves every row of the sessions and the ballots as it was.

Over 400 lines ("400 lines"): the world the walk needs (a whole session, a ballot, a follow-up task)
and the walk itself belong together; split, each half would have to build the world again.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.contrib import admin as admin_site_module
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from ecabinet import accounts, devices
from ecabinet.asgi import application
from followup import reports as followup_reports
from followup import services as followup_services
from meetings import services
from meetings.models import Annotation, Meeting
from voting.services import ballot_answers, ballots

from .conftest import upload
from .factories import UserFactory
from .minutes.conftest import PIN, drafted, finalized  # noqa: F401 — the session with sealed minutes
from .minutes.conftest import sealed as sealed_minutes  # noqa: F401
from .pdfs import make_pdf
from .record.test_session_record import ANNOTATIONS, session  # noqa: F401
from .room.wsclient import ORIGIN, cookie_headers
from .signing.conftest import dev_pki, local_tsa, pki_dir, trust_roots  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-for-tests"  # tests/factories.py
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REFUSED = {401, 403, 404, 405}
# Bodies for every write, with a plausible value for each field the writes read, so that a request
# passes input validation and meets the permission check (unknown fields are ignored). A write that
# answers 400 to one is tried with the next; one of them must reach a refusal.
BODY = {"username": "admin", "role": "member", "title": "Tiêu đề", "text": "Nội dung", "visibility": "shared",
        "choice": "yes", "status": "present", "reason": "Lý do", "pin": "ecabinet-demo", "revision": 1,
        "rule": "vn-government", "method": "named", "position": 1, "value": "no_objection", "kind": "regular",
        "starts_at": "2030-01-01T08:00:00Z", "location": "Hà Nội", "changes": {}, "note": "Ghi chú",
        "usernames": ["admin"], "recipients": ["admin"], "substitutes_may_vote": False, "votes_may_change": False,
        "deadline": "2030-01-01T08:00:00Z", "description": "Mô tả"}
BODY_AGENDA = {**BODY, "status": "decided", "choice": "agree", "opinion": "Ý kiến"}
CONTENT_APPS = {"meetings", "voting", "followup", "authtoken", "guardian"}

# The object a route's id names, by the path segment in front of it. A route with a new kind of
# object fails the walk with "teach the walk": add the kind here, the walk does the rest.
KINDS = {
    "meetings": "meeting", "agenda-items": "item", "documents": "document", "comments": "comment",
    "motions": "motion", "ballots": "ballot", "questions": "question", "corrections": "correction",
    "devices": "device", "annotations": "annotation", "tasks": "task", "attachments": "attachment",
    "proposed-item": "meeting",
}


class World:
    """Everything of a whole session the administrator must not reach, and the markers that would
    show it in a page."""

    def __init__(self, session):  # noqa: F811
        self.cast = session
        cast = session
        self.meeting = cast.meeting
        self.markers = [cast.meeting.title, cast.item.title, cast.public_doc.title, cast.internal_doc.title,
                        cast.restricted_doc.title, "GHI CHÚ RIÊNG", "GỬI VĂN PHÒNG", "Ý kiến chung",
                        "Thông qua Nghị định", "Nhân sự"]
        self.comment = cast.meeting.agenda_items.first().comments.filter(text="GHI CHÚ RIÊNG").get()
        self.markers += list(ANNOTATIONS.values())  # issue 17: a private annotation is the id the walk tries
        self.annotation = Annotation.objects.filter(meeting=cast.meeting, text=ANNOTATIONS["private"]).get()
        self.device, _ = devices.issue_device(user=cast.member, name="Máy tính bảng của bộ trưởng")
        cast.set_status(Meeting.Status.CLOSED)
        # A written ballot, open, with a member's answer.
        for person in (cast.pm, cast.member):
            accounts.account_set_duties(actor=cast.admin, user=person, is_member=True)
            person.refresh_from_db()
        ballot = ballots.ballot_create(actor=cast.secretary, title="PHIẾU LẤY Ý KIẾN VỀ THUẾ",
                                       deadline=timezone.now() + dt.timedelta(days=3))
        self.question = ballots.ballot_question_add(actor=cast.secretary, ballot=ballot, text="CÂU HỎI BÍ MẬT?")
        self.ballot_document = ballots.ballot_document_add(actor=cast.secretary, ballot=ballot, title="DỰ THẢO PHIẾU",
                                                           upload=upload(data=make_pdf(["Dự thảo phiếu"])))
        ballots.ballot_recipients_set(actor=cast.secretary, ballot=ballot, usernames=["pm", "member01"])
        self.ballot = ballots.ballot_issue(actor=cast.secretary, ballot=ballot)
        ballot_answers.ballot_answer(actor=cast.member, ballot=self.ballot, answers=[
            {"question": self.question.pk, "choice": "other", "opinion": "Ý KIẾN RIÊNG CỦA BỘ TRƯỞNG"}])
        self.markers += ["PHIẾU LẤY Ý KIẾN VỀ THUẾ", "CÂU HỎI BÍ MẬT", "DỰ THẢO PHIẾU", "Ý KIẾN RIÊNG CỦA BỘ TRƯỞNG"]
        self.motion = cast.named
        self.correction = 1  # none is made; the route is still walked with an id
        # Issue 18: a task the session's resolution assigns (the administrator's ministry leads it,
        # which gives an administrator nothing).
        self.task = followup_services.task_create(
            actor=cast.secretary, source_kind="resolution", source_id=cast.meeting.pk,
            title="NHIỆM VỤ GIAO BỘ", lead_ministry=cast.admin.ministry.code,
            deadline=followup_services.today() + dt.timedelta(days=30))
        self.markers.append("NHIỆM VỤ GIAO BỘ")
        # ... and its progress report with a PDF, by someone of that ministry (issue 18 §2)
        reporter = UserFactory(username="reporter01", ministry=cast.admin.ministry)
        report = followup_reports.task_report_progress(
            actor=reporter, task=self.task, text="BÁO CÁO TIẾN ĐỘ RIÊNG",
            files=[upload(name="bao-cao.pdf", data=make_pdf(["Báo cáo tiến độ"]))])
        self.attachment = report.attachments.get()
        self.markers.append("BÁO CÁO TIẾN ĐỘ RIÊNG")

    def value(self, route: str, kind: str) -> str:
        """The id of the thing of ``kind`` (``documents`` under ``ballots/`` are the ballot's)."""
        in_ballot = route.startswith(("ballots/", "api/v1/ballots/"))
        ids = {"meeting": self.meeting.pk, "item": self.cast.item.pk, "comment": self.comment.pk,
               "document": self.ballot_document.pk if in_ballot else self.cast.restricted_doc.pk,
               "motion": self.motion.pk, "ballot": self.ballot.pk, "question": self.question.pk,
               "correction": self.correction, "device": self.device.pk, "annotation": self.annotation.pk,
               "task": self.task.pk, "attachment": self.attachment.pk}
        return str(ids[kind])


def routes(resolver=None, prefix: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def fill(route: str, world: World) -> str | None:
    """The route with its parameters filled in, or None for a pattern that is not a path (the API's
    catch-all ``^.*$``)."""
    if route.startswith("^") or "(?P" in route:
        return None

    def one(match: re.Match) -> str:
        converter, name = match["converter"], match["name"]
        if name == "username":
            return "admin"  # the administrator acting on themselves: approve, remove
        if name == "action":
            return "start"
        if name == "number":
            return "1"  # a version number (the reader's copy, documents/<id>/read/<number>/)
        if converter != "id":
            raise AssertionError(f"teach the walk the parameter <{converter}:{name}> of {route}")
        before = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        if name in ("doc",):
            before = "documents"
        if name in ("question",):
            before = "questions"
        if name in ("cid",):
            before = "corrections"
        kind = KINDS.get(before)
        if kind is None:
            raise AssertionError(f"teach the walk what the id after '{before}/' names (KINDS), for {route}")
        return world.value(route, kind)

    return "/" + re.sub(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>", one, route)


def content_rows() -> dict[str, int]:
    """How many rows each model of the sessions and the ballots has, and their audit entries."""
    counts = {m._meta.label: m.objects.count() for m in [*apps.get_app_config("meetings").get_models(),
                                                         *apps.get_app_config("voting").get_models(),
                                                         *apps.get_app_config("followup").get_models()]}
    return counts


def identity_holds(client: Client, token: str | None) -> bool:
    if token:
        return client.get("/api/v1/meetings/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    return client.get("/").status_code == 200


def api_token(username: str) -> str:
    answer = Client().post("/api/v1/auth/token", {"username": username, "password": PASSWORD},
                           content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def answers(client: Client, method: str, path: str, world: World, extra: dict):
    """The answers to one request, one body after another (a GET has one)."""
    if method == "GET":
        yield client.get(path, {"after_seq": 0}, **extra)
        return
    item = world.cast.item.pk
    send = getattr(client, method.lower())
    for body in (BODY, BODY_AGENDA):
        yield send(path, json.dumps({**body, "item": item, "items": [item], "question": world.question.pk}),
                   content_type="application/json", **extra)
    if method == "POST":  # an upload
        fields = {k: v for k, v in BODY.items() if isinstance(v, str)}
        yield client.post(path, {**fields, "file": upload(data=make_pdf(["Bản nháp"]))}, **extra)


def walk(world: World, user, *, others_tokens: list[str]) -> tuple[list[str], set[str]]:
    """Every route × every method as ``user``: the problems found, and the routes that ended the
    caller's session (after which the walk signs in again)."""
    problems, ended = [], set()
    client = Client()
    client.force_login(user)
    token = api_token(user.username)
    for route, entry in routes():
        if route.startswith("admin/"):
            continue  # the Django admin is the administrator's own place: walked page by page below
        path = fill(route, world)
        if path is None:
            continue
        is_api = path.startswith("/api/v1/")
        names_an_object = "<id:" in route
        for method in METHODS:
            extra = {"HTTP_AUTHORIZATION": f"Token {token}"} if is_api else {}
            where = f"{user.username} {method} {path}"
            for response in answers(client, method, path, world, extra):
                text = (b"".join(response) if response.streaming else response.content).decode(errors="replace")
                shown = [m for m in world.markers + others_tokens if m in text or json.dumps(m)[1:-1] in text]
                if shown:
                    problems.append(f"{where}: {response.status_code} shows {shown}")
                if response.status_code != 400:
                    break
            status, location = response.status_code, response.get("Location", "")
            if status == 429:
                problems.append(f"{where}: 429, the walk did not reach the route")
            elif status in (401, 302) and not identity_holds(client, token if is_api else None):
                ended.add(entry.name or route)
                client.force_login(user)
                token = api_token(user.username)
            elif names_an_object and status not in REFUSED and not (
                    status == 302 and location.startswith(("/login/", "/admin/login/"))):
                problems.append(f"{where}: {status}, expected a refusal")
    return problems, ended


@pytest.fixture
def world(sealed_minutes, settings):  # noqa: F811
    return World(sealed_minutes)


def test_the_administrator_and_staff_reach_no_session_content_through_any_screen_or_api_path(world):
    cast = world.cast
    helpdesk = UserFactory(username="helpdesk", is_staff=True)
    secretary_token = api_token("secretary")
    before = content_rows()
    problems = []
    for user in (cast.admin, helpdesk):
        found, ended = walk(world, user, others_tokens=[secretary_token])
        problems += found
        assert ended <= {"logout", "api_logout"}, ended  # only signing out may end the walk's session
    assert not problems, "\n".join(problems)
    assert content_rows() == before
    assert cast.admin.pk not in set(cast.meeting.participants.values_list("user_id", flat=True))


def test_the_walk_names_real_things_the_secretary_and_the_archivist_can_open(world):
    """The control: the ids the walk fills in are those of real, readable things."""
    secretary, archivist = Client(), Client()
    secretary.force_login(world.cast.secretary)
    archivist.force_login(world.cast.archivist)
    opened = []
    for route, _entry in routes():
        if route.startswith("admin/") or "<id:" not in route:
            continue
        path = fill(route, world)
        if path and any(c.get(path, {"after_seq": 0}).status_code == 200 for c in (secretary, archivist)):
            opened.append(path)
    for must in (f"/api/v1/meetings/{world.meeting.pk}/minutes/pdf/", f"/api/v1/meetings/{world.meeting.pk}/archive/",
                 f"/api/v1/documents/{world.cast.restricted_doc.pk}/download/",
                 f"/api/v1/meetings/{world.meeting.pk}/events/", f"/api/v1/agenda-items/{world.cast.item.pk}/comments/",
                 f"/api/v1/ballots/{world.ballot.pk}/summary/", f"/meetings/{world.meeting.pk}/minutes/",
                 f"/ballots/{world.ballot.pk}/"):
        assert must in opened, must
    assert len(opened) > 30


def test_the_administrator_cannot_add_themselves_to_a_session(world):
    cast = world.cast
    m = cast.meeting.pk
    for meeting_status in ("closed", "draft"):
        if meeting_status == "draft":
            m = services.meeting_create(actor=cast.secretary, title="Phiên họp mới", kind="regular",
                                        starts_at=timezone.now() + dt.timedelta(days=2)).pk
        client = Client()
        client.force_login(cast.admin)
        token = api_token("admin")
        api = client.post(f"/api/v1/meetings/{m}/participants/", {"username": "admin", "role": "member"},
                          content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
        screen = client.post(f"/meetings/{m}/participants/add/", {"username": "admin", "role": "member"})
        assert (api.status_code, screen.status_code) == (404, 404)
        assert not Meeting.objects.get(pk=m).participants.filter(user=cast.admin).exists()


# --- the Django admin ---------------------------------------------------------------------------

def test_no_session_ballot_token_or_audit_model_is_in_the_admin():
    from ecabinet.models import AuditEntry, AuditHead, IdempotencyRecord, Notification

    registered = set(admin_site_module.site._registry)
    assert not {m for m in registered if m._meta.app_label in CONTENT_APPS}
    assert not registered & {AuditEntry, AuditHead, IdempotencyRecord, Notification}
    assert {m._meta.label for m in registered} == {"ecabinet.User", "ecabinet.Ministry"}


def test_no_admin_page_shows_session_content_or_another_users_token(world):
    cast = world.cast
    member_token = api_token("member01")
    client = Client()
    client.force_login(cast.admin)
    pages = ["/admin/", "/admin/ecabinet/", "/admin/password_change/"]
    for model, model_admin in admin_site_module.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pages += [base, f"{base}?q=a", f"{base}add/"]
        for pk in model.objects.values_list("pk", flat=True):
            pages += [f"{base}{pk}/change/", f"{base}{pk}/history/"]
            if model_admin.__class__.__name__ == "UserAdmin":
                pages.append(f"{base}{pk}/password/")
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        shown = [m for m in [*world.markers, member_token] if m in text]
        assert not shown, (page, shown)
    # The admin's "view on site" shortcut takes any content type and id: it leads nowhere for content.
    from django.contrib.contenttypes.models import ContentType

    for model in (Meeting, type(cast.restricted_doc), type(world.ballot)):
        ct = ContentType.objects.get_for_model(model)
        pk = {Meeting: world.meeting.pk, type(world.ballot): world.ballot.pk}.get(model, cast.restricted_doc.pk)
        assert client.get(f"/admin/r/{ct.pk}/{pk}/").status_code == 404
    for page in ("/admin/authtoken/tokenproxy/", "/admin/authtoken/token/", "/admin/authtoken/tokenproxy/add/",
                 "/admin/meetings/", "/admin/voting/", "/admin/auth/group/", "/admin/guardian/"):
        assert client.get(page).status_code == 404, page


# --- the room socket ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_room_socket_refuses_the_administrator(world, monkeypatch):
    from channels.layers import channel_layers

    monkeypatch.setattr(channel_layers, "backends", {})  # a channel layer of this test's own
    cast = world.cast
    token = api_token("admin")

    async def attempt(headers) -> bool:
        # A browser always sends Host; the Origin must be exactly that site's (ecabinet.ws_origin).
        headers = [*headers, (b"host", b"127.0.0.1:8000")]
        comm = WebsocketCommunicator(application, f"/ws/meetings/{cast.meeting.pk}/", headers=headers)
        connected, _ = await comm.connect(timeout=3)
        if connected:
            await comm.disconnect()
        return connected

    token_headers = [(b"authorization", f"Token {token}".encode()), (b"origin", ORIGIN.encode())]
    assert async_to_sync(attempt)(cookie_headers(cast.admin)) is False
    assert async_to_sync(attempt)(token_headers) is False
    # The control: the archivist of the closed session is let in by the same door.
    assert async_to_sync(attempt)(cookie_headers(cast.archivist)) is True


# --- the code: nobody asks "may a superuser?" ---------------------------------------------------

SHORTCUTS = {"has_perm", "has_perms", "get_objects_for_user", "ObjectPermissionChecker", "is_superuser", "is_staff",
             "get_all_permissions", "user_permissions"}
# Where the administrator powers are the subject: the accounts, the admin, and the demo's cast.
ALLOWED = {"ecabinet/permissions.py", "ecabinet/accounts.py", "ecabinet/admin.py", "demo/cast.py", "demo/seed.py"}


def test_no_content_rule_asks_for_superuser_or_for_djangos_and_guardians_all_permissions_shortcut():
    """Django's ``User.has_perm`` answers True to everything for an active superuser, and guardian's
    ``ObjectPermissionChecker`` and ``get_objects_for_user`` do too (unless ``with_superuser=False``):
    one of them in a content rule would be the back door. Guardian grants are read as rows
    (``meetings.permissions``)."""
    found = []
    for app in ("ecabinet", "meetings", "voting", "followup", "records", "demo"):
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or rel in ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text(), rel)):
                name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
                if name in SHORTCUTS:
                    found.append(f"{rel}:{node.lineno} {name}")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for word in ("perms.", "is_superuser", "is_staff"):
            if word in text:
                found.append(f"{path.relative_to(ROOT)} {word}")
    assert not found, found


def test_the_shortcut_would_say_yes_and_the_permissions_module_says_no(world):
    """Why the previous test matters: for the administrator, Django and guardian grant every object
    permission of a session they were never invited to; the one module that answers says 404."""
    from guardian.core import ObjectPermissionChecker

    from ecabinet.errors import NotFound
    from meetings import permissions

    admin, meeting = world.cast.admin, world.meeting
    assert admin.has_perm("meetings.view_meeting", meeting)
    assert ObjectPermissionChecker(admin).has_perm("view_meeting", meeting)
    with pytest.raises(NotFound):
        permissions.meeting_access(admin, meeting.pk)
    assert not permissions.meetings_visible_to(admin).exists()

"""The persona matrix of API v1 (issue #2, "Done means"): every role × every endpoint × every session
state, against a table of expectations derived from the rules in ``meetings/permissions.py``:

* a draft session is seen only by its secretary and its chair; members and observers from publication
  on; the archivist only once it is closed; the outsider and the administrator (superuser) never —
  and what they may not see answers 404 with exactly the body of a nonexistent id;
* documents: ``public`` for everyone who sees the session, ``internal`` for the chair, members and
  the secretariat (not observers), ``restricted`` for its named recipients and the secretariat (and
  the archivist of a closed session);
* writes by someone who sees the session but may not do this answer 403 ``forbidden``; writes the
  state of the session does not allow answer 409 ``invalid_state``; anonymous callers get 401/403
  ``not_authenticated``;
* a refused request leaves the database exactly as it was; a granted one writes an audit entry.

Speed: the cast is built once per state and test function; every request runs inside a savepoint
that is rolled back afterwards, so one request's success (a publish, a removal) never changes what
the next one sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction

from ecabinet.models import AuditEntry, IdempotencyRecord, Notification
from meetings import services
from meetings.models import (
    AgendaItem,
    Document,
    DocumentCopy,
    DocumentUserObjectPermission,
    DocumentVersion,
    Meeting,
    MeetingUserObjectPermission,
    Participant,
    ReadReceipt,
)

from .conftest import upload
from .factories import UserFactory
from .pdfs import make_pdf

STATES = ["draft", "published", "in_progress", "adjourned", "closed"]
ROLES = ["pm", "secretary", "member", "member2", "observer", "archivist", "outsider", "admin", "anonymous"]
USERNAMES = {"pm": "pm", "secretary": "secretary", "member": "member01", "member2": "member02",
             "observer": "guest", "archivist": "archivist", "outsider": "outsider", "admin": "admin",
             "anonymous": "nobody"}
PREPARABLE = {"draft", "published", "in_progress"}
MISSING = 987654

# The documents of the matrix session: classification and the roles named as recipients.
DOCUMENTS = {
    "public": ("public", set()),
    "internal": ("internal", set()),
    "restricted": ("restricted", {"member"}),
    "restricted_for_guest": ("restricted", {"observer"}),
}

NOT_FOUND = (404, "not_found")
FORBIDDEN = (403, "forbidden")
INVALID_STATE = (409, "invalid_state")
ANONYMOUS = (403, "not_authenticated")  # status 401 is accepted as well: see check()


# --- the rules, as a table ------------------------------------------------------------------------

def sees_session(role: str, state: str) -> bool:
    if role in ("secretary", "pm"):
        return True
    if role in ("member", "member2", "observer"):
        return state != "draft"
    if role == "archivist":
        return state == "closed"
    return False  # outsider, admin, anonymous


def sees_document(role: str, state: str, key: str) -> bool:
    if not sees_session(role, state):
        return False
    classification, recipients = DOCUMENTS[key]
    if role in ("secretary", "archivist"):
        return True
    if classification == "public":
        return True
    if classification == "internal":
        return role in ("pm", "member", "member2")
    return role in recipients


def read(visible: bool, allowed: bool = True) -> tuple[int, str | None]:
    if not visible:
        return NOT_FOUND
    return (200, None) if allowed else FORBIDDEN


def write(visible: bool, allowed: bool, state_ok: bool, success: int = 200) -> tuple[int, str | None]:
    """Visibility first (404), then the role (403), then the state (409)."""
    if not visible:
        return NOT_FOUND
    if not allowed:
        return FORBIDDEN
    if not state_ok:
        return INVALID_STATE
    return (success, None)


def self_attendance(role: str, state: str) -> tuple[int, str | None]:
    """A participant may confirm or send apologies for themselves while the session is published;
    the secretariat and the chair record attendance while it is published or in progress; someone who
    is not a participant (the archivist of a closed session) has no attendance to record."""
    if role in ("pm", "secretary"):
        return write(True, True, state in ("published", "in_progress"))
    if role == "archivist":
        return write(sees_session(role, state), False, False)
    return write(sees_session(role, state), True, state == "published")


# --- the endpoints ----------------------------------------------------------------------------------

@dataclass
class Endpoint:
    name: str
    method: str
    path: str  # with {meeting}, {item}, {doc} placeholders
    expect: Callable[[str, str], tuple[int, str | None]]
    payload: Callable[[object, str], dict] | None = None
    multipart: bool = False
    audited: bool = True  # a granted request writes an audit entry
    doc: str | None = None

    def url(self, matrix: Matrix | None) -> str:
        if matrix is None:
            return self.path.format(meeting=MISSING, item=MISSING, doc=MISSING)
        doc_id = matrix.documents[self.doc].pk if self.doc else MISSING
        return self.path.format(meeting=matrix.meeting.pk, item=matrix.item.pk, doc=doc_id)


def _document_reads() -> list[Endpoint]:
    endpoints = []
    for key in DOCUMENTS:
        def expect(role, state, key=key):
            return read(sees_document(role, state, key))
        endpoints += [
            Endpoint(f"GET document {key}", "get", "/api/v1/documents/{doc}/", expect, doc=key),
            Endpoint(f"GET download {key}", "get", "/api/v1/documents/{doc}/download/", expect, doc=key),
            Endpoint(f"GET compare {key}", "get", "/api/v1/documents/{doc}/compare/", expect, doc=key),
        ]
    return endpoints


READS = [
    Endpoint("GET meetings", "get", "/api/v1/meetings/", lambda role, state: (200, None), audited=False),
    Endpoint("GET meeting", "get", "/api/v1/meetings/{meeting}/", lambda role, state: read(sees_session(role, state))),
    Endpoint("GET read-receipts", "get", "/api/v1/meetings/{meeting}/read-receipts/",
             lambda role, state: read(sees_session(role, state), role == "secretary")),
    *_document_reads(),
]


def _manager_write(states=PREPARABLE, success=200):
    return lambda role, state: write(sees_session(role, state), role == "secretary", state in states, success)


def _runner_write(source: str):
    return lambda role, state: write(sees_session(role, state), role in ("pm", "secretary"), state == source)


def _version_writes() -> list[Endpoint]:
    endpoints = []
    for key in DOCUMENTS:
        def expect(role, state, key=key):
            return write(sees_document(role, state, key), role == "secretary", state in PREPARABLE, 201)
        endpoints.append(Endpoint(
            f"POST versions {key}", "post", "/api/v1/documents/{doc}/versions/", expect, doc=key, multipart=True,
            payload=lambda m, role, key=key: {"file": upload(data=make_pdf([f"Bản sửa đổi {key}", "Điều 2"])),
                                              "note": "Sửa Điều 2"}))
    return endpoints


WRITES = [
    Endpoint("POST meetings/participants", "post", "/api/v1/meetings/{meeting}/participants/",
             _manager_write(success=201), payload=lambda m, role: {"username": "newcomer", "role": "observer"}),
    Endpoint("POST agenda-items", "post", "/api/v1/meetings/{meeting}/agenda-items/",
             _manager_write(success=201), payload=lambda m, role: {"title": "Báo cáo tình hình kinh tế - xã hội"}),
    Endpoint("POST agenda-items move", "post", "/api/v1/agenda-items/{item}/move/",
             _manager_write(), payload=lambda m, role: {"position": 1}),
    Endpoint("POST publish", "post", "/api/v1/meetings/{meeting}/publish/", _runner_write("draft")),
    Endpoint("POST start", "post", "/api/v1/meetings/{meeting}/start/", _runner_write("published")),
    Endpoint("POST adjourn", "post", "/api/v1/meetings/{meeting}/adjourn/", _runner_write("in_progress")),
    Endpoint("POST close", "post", "/api/v1/meetings/{meeting}/close/", _runner_write("adjourned")),
    Endpoint("POST attendance (someone else)", "post", "/api/v1/meetings/{meeting}/attendance/",
             lambda role, state: write(sees_session(role, state), role in ("pm", "secretary"),
                                       state in ("published", "in_progress")),
             payload=lambda m, role: {"username": "member02", "status": "present"}),
    Endpoint("POST attendance (self)", "post", "/api/v1/meetings/{meeting}/attendance/", self_attendance,
             payload=lambda m, role: {"username": USERNAMES[role], "status": "confirmed"}),
    Endpoint("POST documents", "post", "/api/v1/agenda-items/{item}/documents/", _manager_write(success=201),
             multipart=True,
             payload=lambda m, role: {"file": upload(data=make_pdf(["Phụ lục số liệu"])), "title": "Phụ lục",
                                      "classification": "internal"}),
    *_version_writes(),
    Endpoint("POST recipients", "post", "/api/v1/documents/{doc}/recipients/",
             lambda role, state: write(sees_document(role, state, "restricted"), role == "secretary",
                                       state in PREPARABLE),
             doc="restricted", payload=lambda m, role: {"recipients": ["member01", "member02"]}),
    Endpoint("POST approve substitute", "post", "/api/v1/meetings/{meeting}/participants/deputy02/approve/",
             lambda role, state: write(sees_session(role, state), role == "pm", state in PREPARABLE)),
    Endpoint("POST remove participant", "post", "/api/v1/meetings/{meeting}/participants/guest/remove/",
             _manager_write()),
]


# --- the session under test -------------------------------------------------------------------------

@dataclass
class Matrix:
    cast: object
    meeting: Meeting
    item: AgendaItem
    documents: dict[str, Document]

    def user(self, role: str):
        return None if role == "anonymous" else getattr(self.cast, role)


def build(cast, state: str) -> Matrix:
    """The cast, plus a restricted document for the observer, a substitute awaiting the chair's
    approval and an account to invite; then walked forward to ``state``."""
    UserFactory(username="newcomer", full_name="Đỗ Minh Mới")
    UserFactory(username="deputy02", full_name="Bùi Văn Thay")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy02", role="substitute",
                             substitute_for="member02")
    for_guest = services.document_upload(actor=cast.secretary, item=cast.item, title="Thư mời khách",
                                         classification="restricted", recipients=["guest"],
                                         upload=upload(data=make_pdf(["Thư mời riêng"])))
    cast.set_status(state)
    documents = {"public": cast.public_doc, "internal": cast.internal_doc, "restricted": cast.restricted_doc,
                 "restricted_for_guest": for_guest}
    return Matrix(cast=cast, meeting=cast.meeting, item=cast.item, documents=documents)


def snapshot() -> dict:
    """Everything a request could change."""
    return {
        "audit": AuditEntry.objects.count(),
        "meetings": list(Meeting.objects.values_list("id", "status").order_by("id")),
        "participants": list(Participant.objects.values_list(
            "user__username", "role", "attendance", "substitute_approved_at").order_by("id")),
        "agenda": list(AgendaItem.objects.values_list("id", "position", "title").order_by("id")),
        "documents": Document.objects.count(),
        "versions": list(DocumentVersion.objects.values_list("document_id", "number", "sha256").order_by("id")),
        "meeting_grants": MeetingUserObjectPermission.objects.count(),
        "document_grants": DocumentUserObjectPermission.objects.count(),
        "receipts": ReadReceipt.objects.count(),
        "copies": DocumentCopy.objects.count(),
        "notifications": Notification.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
    }


def request(matrix: Matrix | None, client, endpoint: Endpoint, role: str, cast):
    url = endpoint.url(matrix)
    call = getattr(client, endpoint.method)
    if endpoint.payload is None:
        return call(url) if endpoint.method == "get" else call(url, format="json")
    payload = endpoint.payload(cast, role)
    return call(url, payload, format="multipart" if endpoint.multipart else "json")


def check(matrix: Matrix, state: str, endpoints: list[Endpoint]) -> list[str]:
    """Run every role against every endpoint; return the cells that disagree with the table."""
    problems = []
    cast = matrix.cast
    for role in ROLES:
        client = cast.client(matrix.user(role))
        for endpoint in endpoints:
            expected = ANONYMOUS if role == "anonymous" else endpoint.expect(role, state)
            with transaction.atomic():
                before = snapshot()
                response = request(matrix, client, endpoint, role, cast)
                after = snapshot()
                missing = request(None, client, endpoint, role, cast) if expected == NOT_FOUND else None
                transaction.set_rollback(True)
            cell = f"{state:<11} {role:<9} {endpoint.name}"
            body = response.json() if response["Content-Type"].startswith("application/json") else None
            status_ok = response.status_code == expected[0] or (
                expected == ANONYMOUS and response.status_code == 401)
            code = body.get("code") if isinstance(body, dict) else None
            if not status_ok or code != expected[1]:
                problems.append(f"{cell}: expected {expected}, got {response.status_code} {body}")
                continue
            if expected[0] >= 400:
                if after != before:
                    problems.append(f"{cell}: refused, but the database changed: "
                                    f"{ {k: (before[k], after[k]) for k in before if before[k] != after[k]} }")
                if set(body) != {"code", "detail"} or not body["detail"]:
                    problems.append(f"{cell}: error body is not {{code, detail}}: {body}")
            elif endpoint.audited and after["audit"] <= before["audit"]:
                problems.append(f"{cell}: granted, but no audit entry was written")
            if missing is not None and (missing.status_code, missing.json()) != (404, body):
                problems.append(f"{cell}: 404 body {body} differs from a missing id's {missing.json()}")
            if endpoint.name == "GET meetings" and role != "anonymous":
                listed = matrix.meeting.pk in {m["id"] for m in body["results"]}
                if listed != sees_session(role, state):
                    problems.append(f"{cell}: session listed={listed}")
            if endpoint.name == "GET meeting" and response.status_code == 200:
                shown = {d["id"] for item in body["agenda"] for d in item["documents"]}
                wanted = {doc.pk for key, doc in matrix.documents.items() if sees_document(role, state, key)}
                if shown != wanted:
                    problems.append(f"{cell}: sees documents {sorted(shown)}, expected {sorted(wanted)}")
            downloaded = endpoint.name.startswith("GET download") and response.status_code == 200
            if downloaded and (response["Content-Type"] != "application/pdf"
                               or "no-store" not in response["Cache-Control"]):
                problems.append(f"{cell}: download is not an uncached PDF")
    return problems


@pytest.mark.parametrize("state", STATES)
def test_it_answers_every_read_by_every_role_as_the_rules_say(cast, state):
    matrix = build(cast, state)
    problems = check(matrix, state, READS)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("state", STATES)
def test_it_answers_every_write_by_every_role_as_the_rules_say(cast, state):
    matrix = build(cast, state)
    problems = check(matrix, state, WRITES)
    assert not problems, "\n".join(problems)


def test_it_shows_the_administrator_nothing_of_a_session_in_any_state(cast):
    client = cast.client(cast.admin)
    for state in STATES:
        cast.set_status(state)
        assert client.get("/api/v1/meetings/").json() == {"results": []}
        for url in (f"/api/v1/meetings/{cast.meeting.pk}/", f"/api/v1/documents/{cast.public_doc.pk}/download/"):
            response = client.get(url)
            assert (response.status_code, response.json()) == (404, {"code": "not_found", "detail": "Not found."})


def test_it_tells_the_outsider_the_same_as_for_a_session_that_does_not_exist(cast):
    cast.set_status("published")
    client = cast.client(cast.outsider)
    hidden = client.get(f"/api/v1/meetings/{cast.meeting.pk}/")
    missing = client.get(f"/api/v1/meetings/{MISSING}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content
    assert hidden["Content-Type"] == missing["Content-Type"]


def test_it_covers_every_issue_2_endpoint_of_the_api():
    """A route of issue #2 missing from the matrix fails here."""
    from django.urls import resolve

    issue2_views = {"api_meetings", "api_meeting", "api_participants", "api_participant_approve",
                    "api_participant_remove", "api_agenda_items", "api_publish", "api_start", "api_adjourn",
                    "api_close", "api_attendance", "api_read_receipts", "api_agenda_move", "api_documents",
                    "api_document", "api_document_versions", "api_document_recipients", "api_document_download",
                    "api_document_compare"}
    covered = {resolve(endpoint.url(None)).url_name for endpoint in READS + WRITES}
    assert issue2_views <= covered, issue2_views - covered

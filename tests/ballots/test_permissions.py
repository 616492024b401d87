"""The persona matrix of the ballot API: every role × every endpoint × every state of a ballot,
against a table derived from the rules in ``voting/permissions.py``:

* the secretariat sees every ballot and alone prepares, issues and closes it;
* a recipient sees a ballot from its issue on (never the draft), answers it until the deadline and
  reads the summary once it is closed;
* "closed" is the deadline passing (``due``), whether or not the scheduler has recorded it (``closed``);
* the archivist reads closed ballots; the non-recipient member, the outsider and the IT administrator
  (superuser) see nothing — answered with exactly the body of a ballot that does not exist;
* writes by someone who sees the ballot but may not do this answer 403; writes the state does not
  allow answer 409; anonymous callers 401/403 ``not_authenticated``;
* a refused request leaves the ballot, its questions, drafts, recipients, answers and the audit log
  exactly as they were.

Every request runs inside a savepoint rolled back afterwards, so one request's success (an issue, a
close) never changes what the next one sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import transaction

from ecabinet.models import AuditEntry

from .conftest import pdf_upload, snapshot

STATES = ["draft", "open", "due", "closed"]
ROLES = ["secretary", "recipient", "nonrecipient", "archivist", "outsider", "admin", "anonymous"]
MISSING = 987654
CLOSED = ("due", "closed")


def sees(role: str, state: str) -> bool:
    if role == "secretary":
        return True
    if role == "recipient":
        return state != "draft"
    if role == "archivist":
        return state in CLOSED
    return False


def reads_summary(role: str, state: str) -> bool:
    return role == "secretary" or (role in ("recipient", "archivist") and state in CLOSED)


def prepare(role: str, state: str, success: int) -> tuple[int, str | None]:
    if not sees(role, state):
        return 404, "not_found"
    if role != "secretary":
        return 403, "forbidden"
    return (success, None) if state == "draft" else (409, "ballot_not_draft")


def answer(role: str, state: str) -> tuple[int, str | None]:
    if not sees(role, state):
        return 404, "not_found"
    if role != "recipient":
        return 403, "not_recipient"
    return (200, None) if state == "open" else (409, "ballot_closed")


def close(role: str, state: str) -> tuple[int, str | None]:
    if not sees(role, state):
        return 404, "not_found"
    if role != "secretary":
        return 403, "forbidden"
    return {"draft": (409, "ballot_not_open"), "open": (409, "answers_pending"), "due": (200, None),
            "closed": (409, "ballot_not_open")}[state]


def readable(allowed: Callable[[str, str], bool]):
    return lambda role, state: (200, None) if allowed(role, state) else (404, "not_found")


def endpoints(bcast, pk: int):
    q1 = bcast.questions[0].pk
    doc = bcast.document.pk
    return {
        "detail": ("get", f"/api/v1/ballots/{pk}/", None, readable(sees)),
        "questions": ("post", f"/api/v1/ballots/{pk}/questions/", lambda: {"text": "Câu hỏi thêm?"},
                      lambda r, s: prepare(r, s, 201)),
        "documents": ("multipart", f"/api/v1/ballots/{pk}/documents/",
                      lambda: {"title": "Phụ lục", "file": pdf_upload(lines=["Phụ lục"])},
                      lambda r, s: prepare(r, s, 201)),
        "recipients": ("post", f"/api/v1/ballots/{pk}/recipients/", lambda: {"recipients": ["pm"]},
                       lambda r, s: prepare(r, s, 200)),
        "issue": ("post", f"/api/v1/ballots/{pk}/issue/", lambda: {}, lambda r, s: prepare(r, s, 200)),
        "answers": ("post", f"/api/v1/ballots/{pk}/answers/", lambda: {"question": q1, "choice": "agree"}, answer),
        "close": ("post", f"/api/v1/ballots/{pk}/close/", lambda: {}, close),
        "summary": ("get", f"/api/v1/ballots/{pk}/summary/", None, readable(reads_summary)),
        "summary_pdf": ("get", f"/api/v1/ballots/{pk}/summary.pdf", None, readable(reads_summary)),
        "download": ("get", f"/api/v1/ballots/{pk}/documents/{doc}/download/", None, readable(sees)),
    }


def walk_to(bcast, state: str) -> None:
    if state == "draft":
        return
    bcast.issue()
    bcast.answer(bcast.pm, (0, "agree", ""), (1, "agree", ""))
    if state in CLOSED:
        bcast.clock.to(bcast.ballot.deadline + dt.timedelta(minutes=1))
    if state == "closed":
        call_command("ballot_reminders")
    bcast.refresh()


def user_for(bcast, role: str):
    return {"secretary": bcast.secretary, "recipient": bcast.member, "nonrecipient": bcast.nonrecipient,
            "archivist": bcast.archivist, "outsider": bcast.outsider, "admin": bcast.admin,
            "anonymous": None}[role]


def request(client, method: str, url: str, data):
    if method == "get":
        return client.get(url)
    if method == "multipart":
        return client.post(url, data(), format="multipart")
    return client.post(url, data(), format="json")


@pytest.mark.parametrize("state", STATES)
def test_it_answers_every_persona_on_every_endpoint_by_the_rules(bcast, state):
    walk_to(bcast, state)
    pk = bcast.ballot.pk
    missing = {name: (method, url.replace(f"/{pk}/", f"/{MISSING}/"), data, rule)
               for name, (method, url, data, rule) in endpoints(bcast, pk).items()}
    failures = []
    for role in ROLES:
        client = bcast.api(user_for(bcast, role))
        for name, (method, url, data, rule) in endpoints(bcast, pk).items():
            with transaction.atomic():
                before, audit_before = snapshot(bcast.ballot), AuditEntry.objects.count()
                response = request(client, method, url, data)
                after, audit_after = snapshot(bcast.ballot), AuditEntry.objects.count()
                body = response.content if response["Content-Type"].startswith("application/json") else b""
                transaction.set_rollback(True)
            expected = (403, "not_authenticated") if role == "anonymous" else rule(role, state)
            code = response.json().get("code") if body else None
            got = (response.status_code, code if response.status_code >= 400 else None)
            if role == "anonymous" and got == (401, "not_authenticated"):
                got = expected
            if got != expected:
                failures.append(f"{role} {name} in {state}: expected {expected}, got {got} {body[:200]!r}")
                continue
            if response.status_code >= 400:
                if after != before or (method != "get" and audit_after != audit_before):
                    failures.append(f"{role} {name} in {state}: a refused request changed the data")
                if response.status_code == 404:
                    # Exactly the answer for a ballot that does not exist.
                    m_method, m_url, m_data, _rule = missing[name]
                    with transaction.atomic():
                        other = request(client, m_method, m_url, m_data)
                        transaction.set_rollback(True)
                    if (other.status_code, other.content) != (404, response.content):
                        failures.append(f"{role} {name} in {state}: 404 differs from a missing ballot's")
            elif name in ("download", "summary_pdf"):
                assert response["Content-Type"] == "application/pdf"
                assert "no-store" in response["Cache-Control"]
    assert failures == []


@pytest.mark.parametrize("state", STATES)
def test_it_lists_only_the_ballots_each_persona_may_open(bcast, state):
    walk_to(bcast, state)
    for role in ROLES[:-1]:
        response = bcast.api(user_for(bcast, role)).get("/api/v1/ballots/")
        assert response.status_code == 200
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == ([bcast.ballot.pk] if sees(role, state) else []), role
    assert bcast.api(None).get("/api/v1/ballots/").status_code in (401, 403)


def test_the_administrator_is_never_a_recipient_and_the_superuser_flag_opens_no_ballot(bcast):
    """Issue 15: an account with administrator powers cannot be a Government member (separation of
    duties, ``ecabinet.permissions``; the database refuses it too), so the secretariat cannot address
    a ballot to the administrator, who then sees it nowhere."""
    from django.db import IntegrityError

    from ecabinet.errors import ValidationFailed
    from ecabinet.models import User
    from voting.services import ballots as services

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=bcast.admin.pk).update(is_member=True)
    with pytest.raises(ValidationFailed) as refused:
        services.ballot_recipients_set(actor=bcast.secretary, ballot=bcast.ballot,
                                       usernames=["pm", "member01", "member02", "admin"])
    assert refused.value.code == "recipient_not_member"
    bcast.issue()
    client = bcast.api(bcast.admin)
    for path in ("", "summary/", "answers/", f"documents/{bcast.document.pk}/download/"):
        assert client.get(f"/api/v1/ballots/{bcast.ballot.pk}/{path}").status_code in (404, 405), path
    assert client.post(f"/api/v1/ballots/{bcast.ballot.pk}/close/").status_code == 404


def test_it_refuses_to_create_ballots_for_anyone_but_the_secretariat(bcast):
    data = {"title": "Phiếu", "deadline": (bcast.clock.now + dt.timedelta(days=2)).isoformat()}
    for user in (bcast.pm, bcast.member, bcast.archivist, bcast.outsider, bcast.admin):
        response = bcast.api(user).post("/api/v1/ballots/", data, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), user.username
    assert bcast.api(bcast.secretary).post("/api/v1/ballots/", data, format="json").status_code == 201

"""/api/v1/tasks/: filters, paging, a bounded number of queries whatever the number of tasks,
creation and transitions through the API, Idempotency-Key replay, 404/403/409 codes, the schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecabinet.models import AuditEntry
from followup import services
from followup.models import Task, TaskChange

from .conftest import later, new_task, walk

URL = "/api/v1/tasks/"


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def register(ft):
    """Four more tasks: overdue, regular, another ministry's, and one accepted."""
    ft.overdue = new_task(ft, title="Quá hạn", deadline=later(3))
    Task.objects.filter(pk=ft.overdue.pk).update(deadline=services.today() - dt.timedelta(days=2))
    ft.regular = new_task(ft, title="Thường xuyên", regular=True, deadline=None)
    ft.health = new_task(ft, title="Y tế", lead_ministry="bo-y-te", deadline=later(60))
    ft.done = walk(ft, new_task(ft, title="Xong", deadline=later(5)), "accepted")
    return ft


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["overdue", "done", "task", "health", "regular"]),
    ("?ministry=bo-y-te", ["health"]),
    ("?ministry=bo-tu-phap", ["task"]),
    ("?state=accepted", ["done"]),
    ("?overdue=true", ["overdue"]),
    ("?overdue=false", ["done", "task", "health", "regular"]),
    ("?deadline_before={d10}", ["overdue", "done"]),
    ("?deadline_after={d10}", ["task", "health"]),
    ("?deadline_after={d10}&deadline_before={d40}", ["task"]),
    ("?meeting={meeting}&state=assigned", ["overdue", "task", "health", "regular"]),
    ("?meeting=999999", []),
])
def test_the_list_filters(register, query, expected):
    ft = register
    query = query.format(d10=later(10).isoformat(), d40=later(40).isoformat(), meeting=ft.meeting.pk)
    got = ids(ft.cast.client(ft.secretary).get(URL + query))
    assert got == [getattr(ft, name).pk for name in expected]


@pytest.mark.parametrize("query", ["?state=done", "?overdue=yes", "?deadline_before=tomorrow",
                                   "?deadline_after=2026-13-01", "?meeting=abc", "?meeting=1" + "0" * 30,
                                   "?page=0", "?page=x", "?page_size=201", "?page_size=0", "?ministry=<script>"])
def test_a_bad_filter_is_400_invalid_filter(ft, query):
    response = ft.cast.client(ft.secretary).get(URL + query)
    assert response.status_code == 400 and response.json()["code"] == "invalid_filter"


def test_the_list_pages(register):
    client = register.cast.client(register.secretary)
    first = client.get(URL + "?page_size=2").json()
    assert (first["count"], first["page"], first["pages"], len(first["results"])) == (5, 1, 3, 2)
    last = client.get(URL + "?page_size=2&page=3").json()
    assert len(last["results"]) == 1
    assert client.get(URL + "?page_size=2&page=9").json()["results"] == []
    everything = [r["id"] for p in (1, 2, 3) for r in client.get(URL + f"?page_size=2&page={p}").json()["results"]]
    assert len(set(everything)) == 5


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["secretary", "member", "lead_user"])
def test_the_list_takes_the_same_few_queries_for_3_tasks_as_for_40(ft, who, django_assert_max_num_queries):
    user = getattr(ft, who, None) or getattr(ft.cast, who)
    client = ft.cast.client(user)
    for n in range(2):
        new_task(ft, title=f"Nhiệm vụ {n}", co_ministries=["bo-tu-phap", "bo-y-te"])
    few = _queries(client, URL + "?page_size=200")
    for n in range(37):
        new_task(ft, title=f"Nhiệm vụ thêm {n}", co_ministries=["bo-tu-phap", "bo-y-te"])
    with django_assert_max_num_queries(few):
        response = client.get(URL + "?page_size=200")
    assert response.json()["count"] == 40 and few <= 6


def test_creating_through_the_api(ft):
    client = ft.cast.client(ft.secretary)
    body = {"source_kind": "agenda_item", "source_id": ft.cast.item.pk, "title": "Sơ kết 6 tháng",
            "lead_ministry": "bo-y-te", "co_ministries": ["bo-tai-chinh"], "deadline": later(20).isoformat(),
            "priority": "urgent"}
    response = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["title"], data["state"], data["priority"], data["lead_ministry"]["code"]) == (
        "Sơ kết 6 tháng", "assigned", "urgent", "bo-y-te")
    assert [c["code"] for c in data["co_ministries"]] == ["bo-tai-chinh"]
    assert data["source"] == {"kind": "agenda_item", "kind_text": "Agenda item", "id": ft.cast.item.pk,
                              "title": ft.cast.item.title}
    assert [h["kind"] for h in data["history"]] == ["created"]
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert again.status_code == 201 and again.json() == data
    assert Task.objects.filter(title="Sơ kết 6 tháng").count() == 1
    reused = client.post(URL, {**body, "title": "Khác"}, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert reused.status_code == 422


@pytest.mark.parametrize(("who", "status", "code"), [("lead_user", 403, "forbidden"), ("outsider", 403, "forbidden")])
def test_creating_is_the_secretariats(ft, who, status, code):
    user = getattr(ft, who, None) or getattr(ft.cast, who)
    response = ft.cast.client(user).post(URL, {"title": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize(("body", "code"), [
    ({"title": "x" * 501}, "text_too_long"),
    ({"title": 5}, "invalid"),
    ({"title": "   "}, "title_required"),
    ({"title": ""}, "title_required"),
    ({"deadline": "2000-01-01"}, "deadline_past"),
    ({"co_ministries": ["bo-tai-chinh"]}, "ministry_twice"),
    ({"co_ministries": [f"bo-{n}" for n in range(31)]}, "too_many_ministries"),
])
def test_creating_refuses_bad_bodies(ft, body, code):
    base = {"source_kind": "agenda_item", "source_id": ft.cast.item.pk, "title": "Một nhiệm vụ",
            "lead_ministry": "bo-tai-chinh", "deadline": later(20).isoformat()}
    before = Task.objects.count(), AuditEntry.objects.count()
    response = ft.cast.client(ft.secretary).post(URL, {**base, **body}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert (Task.objects.count(), AuditEntry.objects.count()) == before


def test_the_transitions_through_the_api_with_replay(ft):
    lead, secretariat = ft.cast.client(ft.lead_user), ft.cast.client(ft.secretary)
    base = f"{URL}{ft.task.pk}/"
    started = lead.post(base + "start/", {}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert started.status_code == 200 and started.json()["state"] == "in_progress"
    replay = lead.post(base + "start/", {}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert replay.status_code == 200 and replay.json() == started.json()
    assert TaskChange.objects.filter(task=ft.task, kind="started").count() == 1
    again = lead.post(base + "start/", {}, format="json", HTTP_IDEMPOTENCY_KEY="s-2")
    assert (again.status_code, again.json()["code"]) == (409, "transition_not_allowed")
    assert lead.post(base + "report/", {"note": "Đã xong"}, format="json").json()["state"] == "reported_done"
    no_reason = secretariat.post(base + "return/", {"reason": ""}, format="json")
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, "reason_required")
    returned = secretariat.post(base + "return/", {"reason": "Bổ sung số liệu"}, format="json").json()
    assert returned["state"] == "returned" and returned["history"][-1]["reason"] == "Bổ sung số liệu"
    extended = secretariat.post(base + "extend/", {"deadline": later(45).isoformat(), "reason": "Chờ số liệu"},
                                format="json").json()
    assert (extended["state"], extended["deadline"]) == ("returned", later(45).isoformat())
    assert lead.post(base + "report/", {}, format="json").json()["state"] == "reported_done"
    forbidden = lead.post(base + "accept/", {}, format="json")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    assert secretariat.post(base + "accept/", {}, format="json").json()["state"] == "accepted"
    cancel = secretariat.post(base + "cancel/", {"reason": "Muộn"}, format="json")
    assert (cancel.status_code, cancel.json()["code"]) == (409, "transition_not_allowed")


def test_an_outsider_acting_gets_404_before_the_body_is_read(ft):
    response = ft.cast.client(ft.cast.outsider).post(f"{URL}{ft.task.pk}/cancel/", {"reason": 5}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = ft.cast.client(ft.lead_user).post(f"{URL}{ft.task.pk}/cancel/", {"reason": 5}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert ft.cast.client(ft.secretary).get(f"{URL}99999/").status_code == 404


def test_the_schema_documents_the_endpoints(ft):
    schema = ft.cast.client(ft.secretary).get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/tasks/"])
    assert "get" in paths["/api/v1/tasks/{id}/"]
    for action in ("start", "report", "accept", "return", "extend", "cancel"):
        assert "post" in paths[f"/api/v1/tasks/{{id}}/{action}/"]
    names = {p["name"] for p in paths["/api/v1/tasks/"]["get"]["parameters"]}
    assert {"ministry", "meeting", "state", "deadline_before", "deadline_after", "overdue", "page",
            "page_size"} <= names

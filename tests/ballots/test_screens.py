"""The ballot screens: my ballots (open first, with my progress), the ballot page where a member
answers (JS-free; the opinion required server-side, with the page re-rendered and nothing saved on
error), the secretariat's preparation pages, and the summary with its PDF link. Who may not see a
ballot gets the site's 404 page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command

from voting.models import Ballot, BallotAnswer
from voting.services import ballots as services

from .conftest import pdf_upload, snapshot


@pytest.fixture
def issued(bcast):
    bcast.issue()
    return bcast


def page(response) -> str:
    return response.content.decode()


def test_it_lists_open_ballots_first_with_my_progress(issued, clock):
    bcast = issued
    older = services.ballot_create(actor=bcast.secretary, title="Phiếu đã kết thúc",
                                   deadline=clock.now + dt.timedelta(hours=2))
    services.ballot_question_add(actor=bcast.secretary, ballot=older, text="Câu hỏi?")
    services.ballot_document_add(actor=bcast.secretary, ballot=older, title="Tài liệu",
                                 upload=pdf_upload(lines=["Khác"]))
    services.ballot_recipients_set(actor=bcast.secretary, ballot=older, usernames=["member01"])
    services.ballot_issue(actor=bcast.secretary, ballot=older)
    bcast.answer(bcast.member, (0, "agree", ""))
    clock.move(hours=3)  # the older ballot is now past its deadline
    html = page(bcast.browser(bcast.member).get("/ballots/"))
    assert html.index(bcast.ballot.title) < html.index("Phiếu đã kết thúc")
    assert "You answered 1 of 2 questions" in html
    assert "Drafts (not issued yet)" not in html
    secretariat = page(bcast.browser(bcast.secretary).get("/ballots/"))
    assert "New ballot" in secretariat
    outsider = page(bcast.browser(bcast.outsider).get("/ballots/"))
    assert bcast.ballot.title not in outsider and "No ballot is waiting for answers." in outsider


def test_it_lets_a_member_answer_on_the_ballot_page(issued):
    bcast = issued
    client = bcast.browser(bcast.member)
    url = f"/ballots/{bcast.ballot.pk}/"
    html = page(client.get(url))
    assert 'type="radio"' in html and "Changeable until" in html
    assert f"/ballots/{bcast.ballot.pk}/documents/{bcast.document.pk}/file/?inline=1" in html  # the viewer
    q1, q2 = (f"q{q.pk}" for q in bcast.questions)
    response = client.post(url + "answers/", {q1: "agree", q2: "other", f"{q2}_opinion": "Đề nghị lùi hiệu lực."})
    assert response.status_code == 302 and response["Location"] == url
    html = page(client.get(url))
    assert "Your answers were saved" in html
    assert "Đề nghị lùi hiệu lực." in html  # my answer, shown back in the form
    assert BallotAnswer.objects.filter(member=bcast.member).count() == 2


def test_it_requires_the_opinion_server_side_and_keeps_what_was_typed(issued):
    bcast = issued
    bcast.answer(bcast.member, (0, "agree", ""))
    client = bcast.browser(bcast.member)
    q1, q2 = (f"q{q.pk}" for q in bcast.questions)
    before = snapshot(bcast.ballot)
    response = client.post(f"/ballots/{bcast.ballot.pk}/answers/",
                           {q1: "disagree", f"{q1}_opinion": "", q2: "other", f"{q2}_opinion": "Giữ nguyên chữ này"})
    assert response.status_code == 400
    html = page(response)
    assert "Your answers were not saved" in html
    assert "Write your opinion: it is required when you disagree or give another opinion." in html
    assert "Giữ nguyên chữ này" in html
    assert re.search(rf'value="disagree"[^>]*name="{q1}"|name="{q1}"[^>]*value="disagree"[^>]*checked', html)
    assert snapshot(bcast.ballot) == before  # all or nothing: question 2 was not saved either


def test_it_shows_a_closed_ballot_read_only_with_my_answers_and_the_summary_link(issued, clock):
    bcast = issued
    bcast.answer(bcast.member, (0, "other", "Ý kiến cũ"))
    bcast.answer(bcast.member, (0, "disagree", "Ý kiến mới"))
    clock.to(bcast.ballot.deadline)
    client = bcast.browser(bcast.member)
    html = page(client.get(f"/ballots/{bcast.ballot.pk}/"))
    assert 'type="radio"' not in html
    assert "Ý kiến mới" in html and "Ý kiến cũ" in html and "1 earlier answer" in html
    assert f"/ballots/{bcast.ballot.pk}/summary/" in html
    q1 = f"q{bcast.questions[0].pk}"
    response = client.post(f"/ballots/{bcast.ballot.pk}/answers/", {q1: "agree"}, follow=True)
    assert "The ballot is closed" in page(response)
    assert BallotAnswer.objects.get(member=bcast.member, question=bcast.questions[0]).choice == "disagree"


def test_it_shows_the_summary_with_the_rule_on_silence_and_a_pdf_link(issued, clock):
    bcast = issued
    bcast.answer(bcast.pm, (0, "agree", ""), (1, "disagree", "Chưa hợp lý."))
    clock.to(bcast.ballot.deadline)
    call_command("ballot_reminders")
    html = page(bcast.browser(bcast.member2).get(f"/ballots/{bcast.ballot.pk}/summary/"))
    assert "Rule on silence:" in html and "is counted as agreeing with it" in html
    assert "agree, counting silence as agreement" in html
    assert "Chưa hợp lý." in html and "counted as agreeing" in html
    assert f"/ballots/{bcast.ballot.pk}/summary.pdf" in html
    response = bcast.browser(bcast.member2).get(f"/ballots/{bcast.ballot.pk}/summary.pdf")
    assert response["Content-Type"] == "application/pdf" and "no-store" in response["Cache-Control"]


def test_it_walks_the_secretariat_through_preparing_and_issuing_a_ballot(bcast, clock):
    client = bcast.browser(bcast.secretary)
    deadline = (clock.now + dt.timedelta(days=2)).astimezone(dt.UTC)
    from django.utils import timezone

    local = timezone.localtime(deadline).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/ballots/new/", {"title": "Phiếu mới", "deadline": local})
    ballot = Ballot.objects.get(title="Phiếu mới")
    assert response["Location"] == f"/ballots/{ballot.pk}/edit/"
    assert ballot.recipients.count() == 4  # every active member, the non-recipient of the cast included
    html = page(client.get(f"/ballots/{ballot.pk}/", follow=True))  # the draft opens on its edit page
    assert "Issue the ballot" in html and "Add at least one question." in html
    client.post(f"/ballots/{ballot.pk}/edit/questions/", {"text": "Câu hỏi 1?"})
    client.post(f"/ballots/{ballot.pk}/edit/questions/", {"text": "Câu hỏi 2?"})
    first = ballot.questions.get(position=1)
    client.post(f"/ballots/{ballot.pk}/edit/questions/{first.pk}/remove/")
    assert list(ballot.questions.values_list("position", "text")) == [(1, "Câu hỏi 2?")]
    client.post(f"/ballots/{ballot.pk}/edit/documents/", {"title": "Dự thảo", "file": pdf_upload(lines=["Mới"])})
    client.post(f"/ballots/{ballot.pk}/edit/recipients/", {"recipients": ["pm", "member02"]})
    assert sorted(ballot.recipients.values_list("user__username", flat=True)) == ["member02", "pm"]
    response = client.post(f"/ballots/{ballot.pk}/issue/", follow=True)
    assert "The ballot was issued; 2 members were notified" in page(response)
    ballot.refresh_from_db()
    assert ballot.status == "open"
    html = page(client.get(f"/ballots/{ballot.pk}/"))
    assert "Who has answered" in html and "(0/2)" in html
    response = client.post(f"/ballots/{ballot.pk}/edit/questions/", {"text": "Muộn?"}, follow=True)
    assert "can no longer change" in page(response)


def test_it_reports_a_refused_issue_on_the_edit_page(bcast, clock):
    client = bcast.browser(bcast.secretary)
    clock.to(bcast.ballot.deadline + dt.timedelta(hours=1))
    response = client.post(f"/ballots/{bcast.ballot.pk}/issue/", follow=True)
    assert 'data-code="deadline_passed"' in page(response)
    assert bcast.refresh().status == "draft"


@pytest.mark.parametrize("who", ["nonrecipient", "outsider", "admin", "archivist"])
def test_it_answers_404_to_those_who_may_not_see_the_ballot(issued, who):
    bcast = issued
    client = bcast.browser(getattr(bcast, who))
    pk, doc = bcast.ballot.pk, bcast.document.pk
    for url in (f"/ballots/{pk}/", f"/ballots/{pk}/summary/", f"/ballots/{pk}/summary.pdf",
                f"/ballots/{pk}/documents/{doc}/file/", f"/ballots/{pk}/edit/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/ballots/{pk}/answers/", {}).status_code == 404


def test_it_keeps_the_secretariat_pages_from_members(issued):
    bcast = issued
    client = bcast.browser(bcast.member)
    pk = bcast.ballot.pk
    assert client.get("/ballots/new/").status_code == 404
    assert client.get(f"/ballots/{pk}/edit/").status_code == 404
    assert client.post(f"/ballots/{pk}/close/").status_code == 404
    assert client.get(f"/ballots/{pk}/summary/").status_code == 404  # not before the close


def test_it_renders_the_ballot_pages_in_vietnamese(issued, settings):
    settings.LANGUAGE_CODE = "vi"
    bcast = issued
    client = bcast.browser(bcast.member)
    client.cookies["django_language"] = "vi"
    html = page(client.get(f"/ballots/{bcast.ballot.pk}/", HTTP_ACCEPT_LANGUAGE="vi"))
    for words in ("Phiếu lấy ý kiến", "Tán thành", "Không tán thành", "Ý kiến khác", "Gửi ý kiến",
                  "Có thể thay đổi đến"):
        assert words in html, words

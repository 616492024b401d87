"""A written ballot end to end, through the API (issue #4, "Done means"): issue → answers (with
opinions for disagree and other) → a change, its history kept → the 24-hour reminder to those who
have not answered, once → the deadline: answers refused, the scheduler closes the ballot and sends
the overdue notices, once → the summary, as JSON and as a PDF whose text is checked."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from ecabinet.models import AuditEntry, Notification
from voting.models import Ballot

from ..factories import UserFactory
from .conftest import pdf_upload

OPINION_Q1_FIRST = "Đề nghị làm rõ thẩm quyền ký văn bản điện tử."
OPINION_Q1 = "Không tán thành Điều 8: thời hạn lưu trữ 05 năm là quá ngắn."
OPINION_Q2 = "Đề nghị lùi hiệu lực đến ngày 01 tháng 7 để các bộ kịp chuẩn bị."


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def notices(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


# A transactional test: e-mail leaves only after commit (ecabinet.notify), so the outbox is checked
# after each request's real commit rather than inside one wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_written_ballot_from_issue_to_summary_pdf(clock):
    secretary = UserFactory(username="secretary", full_name="Nguyễn Thu Hà", is_secretariat=True)
    members = {
        "pm": UserFactory(username="pm", full_name="Trần Quốc Vinh", position="Thủ tướng Chính phủ", is_member=True),
        "member01": UserFactory(username="member01", full_name="Lê Minh Hoàng", is_member=True),
        "member02": UserFactory(username="member02", full_name="Nguyễn Thị Thanh Hương", is_member=True),
        "member14": UserFactory(username="member14", full_name="Hà Minh Châu", is_member=True),
    }
    UserFactory(username="retired", full_name="Cựu Thành Viên", is_member=True, is_active=False)
    UserFactory(username="member99", full_name="Ngô Thanh Bình", is_member=True)  # removed from the list below

    def api(user):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(user)
        return client

    sec = api(secretary)
    deadline = (clock.now + dt.timedelta(days=3)).replace(second=0)

    # --- the secretariat prepares and issues the ballot --------------------------------------------
    response = sec.post("/api/v1/ballots/", {"title": "Dự thảo Nghị định về công tác văn thư",
                                             "description": "Xin ý kiến thành viên Chính phủ.",
                                             "deadline": deadline.isoformat(), "silence_is_consent": True},
                        format="json")
    assert response.status_code == 201, response.json()
    ballot_id = response.json()["id"]
    assert response.json()["status"] == "draft"
    # Addressed to every active member to begin with.
    assert {r["username"] for r in response.json()["recipients"]} == {*members, "member99"}
    url = f"/api/v1/ballots/{ballot_id}/"
    q1 = sec.post(url + "questions/", {"text": "Đồng ý với dự thảo Nghị định?"}, format="json").json()["id"]
    q2 = sec.post(url + "questions/", {"text": "Đồng ý với thời điểm có hiệu lực?"}, format="json").json()["id"]
    response = sec.post(url + "documents/", {"title": "Dự thảo Nghị định", "file": pdf_upload()}, format="multipart")
    assert response.status_code == 201, response.json()
    response = sec.post(url + "recipients/", {"recipients": list(members)}, format="json")
    assert response.json() == {"recipients": ["pm", "member01", "member02", "member14"]}
    mail.outbox.clear()
    response = sec.post(url + "issue/", format="json", HTTP_IDEMPOTENCY_KEY="issue-1")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "open"
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"{u}@example.gov.vn" for u in members)
    assert notices("ballot.issued") == sorted(members)
    # A retried issue changes nothing and notifies nobody again.
    assert sec.post(url + "issue/", format="json", HTTP_IDEMPOTENCY_KEY="issue-1").status_code == 200
    assert len(mail.outbox) == 4

    # --- members answer -----------------------------------------------------------------------------
    pm, m1, m2 = api(members["pm"]), api(members["member01"]), api(members["member02"])
    response = pm.post(url + "answers/", {"answers": [{"question": q1, "choice": "agree"},
                                                       {"question": q2, "choice": "agree"}]}, format="json")
    assert response.status_code == 200, response.json()
    clock.move(hours=2)
    response = m1.post(url + "answers/", {"answers": [
        {"question": q1, "choice": "other", "opinion": OPINION_Q1_FIRST},
        {"question": q2, "choice": "other", "opinion": OPINION_Q2}]}, format="json")
    assert response.status_code == 200, response.json()
    # A disagreement without its opinion is refused, and nothing changes.
    response = m2.post(url + "answers/", {"question": q1, "choice": "disagree", "opinion": "  "}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "opinion_required")
    assert m2.get(url).json()["my_answers"] == []
    response = m2.post(url + "answers/", {"question": q1, "choice": "agree"}, format="json")
    assert response.status_code == 200

    # member01 changes their mind on question 1 before the deadline: the earlier answer is kept.
    clock.move(hours=1)
    response = m1.post(url + "answers/", {"question": q1, "choice": "disagree", "opinion": OPINION_Q1}, format="json")
    assert response.status_code == 200, response.json()
    mine = {a["question"]: a for a in m1.get(url).json()["my_answers"]}
    assert (mine[q1]["choice"], mine[q1]["opinion"]) == ("disagree", OPINION_Q1)
    assert [(h["choice"], h["opinion"]) for h in mine[q1]["history"]] == [("other", OPINION_Q1_FIRST)]
    assert mine[q1]["changed_at"] is not None and mine[q2]["history"] == []

    # --- 20 hours before the deadline: one reminder to those who have not answered everything --------
    clock.to(deadline - dt.timedelta(hours=20))
    mail.outbox.clear()
    call_command("ballot_reminders")
    assert sorted(m.to[0] for m in mail.outbox) == ["member02@example.gov.vn", "member14@example.gov.vn"]
    assert notices("ballot.reminder") == ["member02", "member14"]
    clock.move(minutes=10)
    call_command("ballot_reminders")
    assert len(mail.outbox) == 2 and len(notices("ballot.reminder")) == 2

    # --- the deadline: answers refused at once, even before the scheduler runs ----------------------
    clock.to(deadline)
    response = m2.post(url + "answers/", {"question": q2, "choice": "agree"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "ballot_closed")
    assert m2.get(url).json()["is_closed"] is True
    clock.move(minutes=7)
    mail.outbox.clear()
    call_command("ballot_reminders")
    ballot = Ballot.objects.get(pk=ballot_id)
    assert ballot.status == "closed" and ballot.closed_at == deadline
    assert AuditEntry.objects.filter(action="ballot.closed", object_id=str(ballot_id), actor=None).count() == 1
    assert notices("ballot.overdue") == ["member02", "member14"]
    assert notices("ballot.summary_ready") == ["secretary"]
    assert sorted(m.to[0] for m in mail.outbox) == ["member02@example.gov.vn", "member14@example.gov.vn",
                                                    "secretary@example.gov.vn"]
    call_command("ballot_reminders")
    assert len(mail.outbox) == 3 and len(notices("ballot.overdue")) == 2
    response = m1.post(url + "answers/", {"question": q1, "choice": "agree"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "ballot_closed")

    # --- the summary --------------------------------------------------------------------------------
    summary = api(members["member14"]).get(url + "summary/").json()  # recipients read it once closed
    assert summary["final"] is True and summary["silence_is_consent"] is True
    assert "counted as agreeing" in summary["silence_statement"]
    first, second = summary["questions"]
    assert first["counts"] == {"agree": 2, "disagree": 1, "other": 0, "not_answered": 1}
    assert first["agree_with_silence"] == 3
    assert second["counts"] == {"agree": 1, "disagree": 0, "other": 1, "not_answered": 2}
    assert second["agree_with_silence"] == 3
    rows = {r["username"]: r for r in first["answers"]}
    assert (rows["member01"]["choice"], rows["member01"]["opinion"], rows["member01"]["changes"]) == \
        ("disagree", OPINION_Q1, 1)
    assert rows["member14"]["choice"] is None and rows["member14"]["counted_as_agree"] is True
    assert [(n["username"], n["questions"]) for n in summary["not_answered"]] == [("member02", [2]),
                                                                                  ("member14", [1, 2])]

    response = sec.get(url + "summary.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    text = text_of(response.content)
    for expected in ("VĂN PHÒNG CHÍNH PHỦ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "TỔNG HỢP Ý KIẾN THÀNH VIÊN CHÍNH PHỦ", "Dự thảo Nghị định về công tác văn thư",
                     "Trần Quốc Vinh", "Lê Minh Hoàng", "Nguyễn Thị Thanh Hương", "Hà Minh Châu",
                     OPINION_Q1, OPINION_Q2,
                     # The rule on silence, stated, and what it does to the count.
                     "Im lặng là đồng ý: theo quy định của phiếu, thành viên Chính phủ không trả lời câu hỏi "
                     "trong thời hạn được tính là tán thành.",
                     "1 thành viên không trả lời được tính là tán thành, nâng số tán thành lên 3/4",
                     "2 thành viên không trả lời được tính là tán thành, nâng số tán thành lên 3/4",
                     "Đến hết thời hạn, 2/4 thành viên Chính phủ đã trả lời đầy đủ",
                     "Không tán thành", "Ý kiến khác", "Không trả lời (tính là tán thành)"):
        assert expected in text, expected
    assert OPINION_Q1_FIRST not in text  # the summary shows the answers as they stood at the deadline
    assert timezone.localtime(deadline).strftime("%d/%m/%Y") in text

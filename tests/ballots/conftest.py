"""The cast of the ballot tests and the clock they move.

``bcast`` builds, through the services: the secretariat (``secretary``), four members of the
Government of whom three are asked (``pm``, ``member`` = member01, ``member2`` = member02) and one is
not (``nonrecipient`` = member03), the ``archivist``, the ``outsider`` (active, not a member) and the
IT ``admin`` (superuser, not a member). ``bcast.ballot`` is a draft with two questions and one PDF
draft, due in three days; ``bcast.issue()`` issues it.

The clock of the ballots is ``voting.services.ballots.current_time``; the ``clock`` fixture replaces
it with one the test moves (``clock.move(hours=…)``, ``clock.to(datetime)``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from voting.models import Ballot
from voting.services import ballot_answers
from voting.services import ballots as services

from ..factories import UserFactory
from ..pdfs import make_pdf


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def to(self, when: dt.datetime) -> dt.datetime:
        self.now = when
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(services, "current_time", clock)
    return clock


def pdf_upload(name: str = "du-thao.pdf", lines: list[str] | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(lines or ["Dự thảo Nghị định", "Điều 1. Phạm vi điều chỉnh"]),
                              content_type="application/pdf")


@dataclass
class BallotCast:
    secretary: object
    pm: object
    member: object
    member2: object
    nonrecipient: object
    archivist: object
    outsider: object
    admin: object
    ballot: Ballot
    questions: list
    document: object
    clock: Clock

    @property
    def recipients(self) -> list:
        return [self.pm, self.member, self.member2]

    def api(self, user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    def browser(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    def issue(self) -> Ballot:
        self.ballot = services.ballot_issue(actor=self.secretary, ballot=self.ballot)
        return self.ballot

    def answer(self, user, *answers: tuple[int, str, str]) -> None:
        """``answers``: (question index, choice, opinion)."""
        ballot_answers.ballot_answer(actor=user, ballot=self.ballot, answers=[
            {"question": self.questions[i].pk, "choice": choice, "opinion": opinion} for i, choice, opinion in answers])

    def refresh(self) -> Ballot:
        self.ballot.refresh_from_db()
        return self.ballot


@pytest.fixture
def bcast(db, clock) -> BallotCast:
    secretary = UserFactory(username="secretary", full_name="Nguyễn Thu Hà", is_secretariat=True)
    pm = UserFactory(username="pm", full_name="Trần Quốc Vinh", position="Thủ tướng Chính phủ", is_member=True)
    member = UserFactory(username="member01", full_name="Lê Minh Hoàng", is_member=True)
    member2 = UserFactory(username="member02", full_name="Nguyễn Thị Thanh Hương", is_member=True)
    nonrecipient = UserFactory(username="member03", full_name="Phạm Đức Thắng", is_member=True)
    archivist = UserFactory(username="archivist", full_name="Trương Thị Lan Phương", is_archivist=True)
    outsider = UserFactory(username="outsider", full_name="Mai Xuân Trường")
    admin = UserFactory(username="admin", full_name="Đoàn Minh Quân", is_superuser=True, is_staff=True)
    ballot = services.ballot_create(actor=secretary, title="Dự thảo Nghị định về công tác văn thư",
                                    description="Xin ý kiến thành viên Chính phủ.",
                                    deadline=clock.now + dt.timedelta(days=3), silence_is_consent=True)
    questions = [
        services.ballot_question_add(actor=secretary, ballot=ballot, text="Đồng ý với dự thảo Nghị định?"),
        services.ballot_question_add(actor=secretary, ballot=ballot, text="Đồng ý với thời điểm hiệu lực?"),
    ]
    document = services.ballot_document_add(actor=secretary, ballot=ballot, title="Dự thảo Nghị định",
                                            upload=pdf_upload())
    services.ballot_recipients_set(actor=secretary, ballot=ballot, usernames=["pm", "member01", "member02"])
    return BallotCast(secretary=secretary, pm=pm, member=member, member2=member2, nonrecipient=nonrecipient,
                      archivist=archivist, outsider=outsider, admin=admin, ballot=ballot, questions=questions,
                      document=document, clock=clock)


def snapshot(ballot: Ballot) -> dict:
    """Everything a refused request must leave as it was."""
    from voting.models import BallotAnswer, BallotAnswerRevision, BallotDocument, BallotQuestion, BallotRecipient

    row = Ballot.objects.filter(pk=ballot.pk).values().first()
    return {
        "ballot": row,
        "questions": list(BallotQuestion.objects.filter(ballot=ballot).values_list("pk", "position", "text")),
        "documents": list(BallotDocument.objects.filter(ballot=ballot).values_list("pk", "sha256")),
        "recipients": sorted(BallotRecipient.objects.filter(ballot=ballot).values_list("user_id", flat=True)),
        "answers": list(BallotAnswer.objects.filter(question__ballot=ballot).order_by("pk").values_list(
            "pk", "member_id", "choice", "opinion", "changed_at")),
        "revisions": BallotAnswerRevision.objects.filter(answer__question__ballot=ballot).count(),
    }

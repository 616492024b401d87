"""The demo's written opinion ballots: one open, one closed with its answers.

* Open: the Government's written opinions on the draft Law on Natural Disaster Prevention (amended),
  issued yesterday, due in a few days at 17:00; a few members have answered, one changed an answer.
* Closed: the draft resolution of last month's regular session, circulated after the session (as the
  Office of the Government does), with silence counting as agreement; most members answered, some
  with written opinions, a few did not.

Everything goes through ``voting.services``, as the screens and the API do. Ballots are dated in
the past (issued, answered) by running the services under a replaced clock
(``voting.services.ballots.current_time``, the clock tests replace too); the closed ballot is then
closed by one round of the scheduler at the real time, exactly as ``ballot_reminders`` would.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.contrib.auth import get_user_model
from django.utils import timezone

from ecabinet import audit
from voting.services import ballot_answers, ballot_closing
from voting.services import ballots as ballot_services

from .cast import MEMBERS
from .plan import Draft, SessionSpec

__all__ = ["BallotSpec", "build_ballots", "load_ballots"]

User = get_user_model()
AGREE, DISAGREE, OTHER = "agree", "disagree", "other"


@dataclass(frozen=True)
class BallotSpec:
    title: str
    description: str
    issued_at: dt.datetime
    deadline: dt.datetime
    silence_is_consent: bool
    questions: tuple[str, ...]
    documents: tuple[tuple[str, Draft], ...]
    # (username, hours after issue, ((choice, opinion) per question, or None to skip a question))
    answers: tuple[tuple[str, int, tuple[tuple[str, str] | None, ...]], ...]


def _at(day: dt.date, hour: int, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=tz)


def build_ballots(now: dt.datetime, sessions: tuple[SessionSpec, ...]) -> tuple[BallotSpec, ...]:
    """The two demo ballots, dated relative to ``now`` (aware, local) and the demo sessions."""
    tz = now.tzinfo
    published, _draft, closed = sessions
    law_documents = published.items[2].documents  # the Tờ trình and the draft Law
    resolution = closed.items[-1].documents[0]
    fund = "Quỹ phòng, chống thiên tai"
    open_ballot = BallotSpec(
        title="Dự án Luật Phòng, chống thiên tai (sửa đổi)",
        description="Thực hiện chỉ đạo của Thủ tướng Chính phủ, Văn phòng Chính phủ xin ý kiến thành viên Chính phủ "
                    "về dự án Luật Phòng, chống thiên tai (sửa đổi) do Bộ Nông nghiệp và Môi trường chủ trì soạn "
                    "thảo, trước khi trình Quốc hội.",
        issued_at=now - dt.timedelta(days=1),
        deadline=_at(now.date() + dt.timedelta(days=4), 17, tz),
        silence_is_consent=False,
        questions=(
            "Thành viên Chính phủ có đồng ý với nội dung dự án Luật Phòng, chống thiên tai (sửa đổi) và giao Bộ "
            "Nông nghiệp và Môi trường hoàn thiện hồ sơ để trình Quốc hội không?",
            f"Thành viên Chính phủ có đồng ý với quy định về {fund} tại Điều 35 của dự thảo Luật không?",
        ),
        documents=tuple((doc.title, doc.draft) for doc in law_documents),
        answers=(
            ("member17", 2, ((AGREE, ""), (AGREE, ""))),
            ("member01", 3, ((AGREE, ""), (AGREE, ""))),
            ("member15", 4, ((AGREE, ""), (OTHER, f"Đề nghị làm rõ cơ chế quản lý {fund} ở địa phương, bảo đảm "
                                                  "công khai, minh bạch; không quy định thêm khoản thu bắt buộc "
                                                  "mới đối với doanh nghiệp."))),
            ("member14", 5, ((AGREE, ""), (DISAGREE, "Khoản 3 Điều 35 giao Chính phủ quy định chi tiết là chưa đủ "
                                                     "cơ sở; đề nghị Luật quy định rõ nguồn hình thành và mức đóng "
                                                     "góp tối đa."))),
            ("member15", 20, ((OTHER, "Thống nhất về chủ trương; đề nghị bổ sung đánh giá tác động ngân sách "
                                      "của chính sách hỗ trợ sau thiên tai trước khi trình Quốc hội."), None)),
        ),
    )

    issued = _at(closed.starts_at.date() + dt.timedelta(days=2), 9, tz)
    answered = [f"member{n:02d}" for n in range(1, 27) if n not in (12, 20, 23, 25)]
    replies: list = [("pm", 1, ((AGREE, ""), (AGREE, "")))]
    for hours, username in enumerate(answered, start=2):
        replies.append((username, hours, ((AGREE, ""), (AGREE, ""))))
    replies[3] = (answered[2], 4, ((OTHER, "Đề nghị bổ sung nhiệm vụ đẩy nhanh giải ngân vốn đầu tư công tại "
                                          "mục 2 phần II."), (AGREE, "")))
    replies[9] = (answered[8], 10, ((DISAGREE, "Chỉ tiêu tăng trưởng tín dụng nêu tại mục 4 chưa phù hợp với "
                                              "định hướng điều hành chính sách tiền tệ; đề nghị không đưa vào "
                                              "Nghị quyết."), (AGREE, "")))
    replies[15] = (answered[14], 16, ((AGREE, ""), (OTHER, "Đề nghị Văn phòng Chính phủ gửi lại dự thảo đã tiếp "
                                                            "thu trước khi trình ký.")))
    closed_ballot = BallotSpec(
        title=resolution.title,
        description="Văn phòng Chính phủ xin ý kiến thành viên Chính phủ về dự thảo Nghị quyết phiên họp Chính phủ "
                    "thường kỳ đã được tiếp thu, chỉnh lý theo kết luận của Thủ tướng Chính phủ tại phiên họp.",
        issued_at=issued,
        deadline=_at(issued.date() + dt.timedelta(days=3), 17, tz),
        silence_is_consent=True,
        questions=(
            "Thành viên Chính phủ có đồng ý với dự thảo Nghị quyết phiên họp Chính phủ thường kỳ không?",
            "Thành viên Chính phủ có đồng ý giao Văn phòng Chính phủ tiếp thu ý kiến, hoàn thiện dự thảo và trình "
            "Thủ tướng Chính phủ ký ban hành không?",
        ),
        documents=((resolution.title, resolution.draft),),
        answers=tuple(replies),
    )
    return (open_ballot, closed_ballot)


@contextmanager
def _clock(at: dt.datetime):
    with mock.patch.object(ballot_services, "current_time", lambda: at):
        yield


def _load(spec: BallotSpec, *, users: dict, upload) -> object:
    secretary = users["secretary"]
    with _clock(spec.issued_at - dt.timedelta(hours=1)):
        ballot = ballot_services.ballot_create(actor=secretary, title=spec.title, description=spec.description,
                                               deadline=spec.deadline, silence_is_consent=spec.silence_is_consent)
        questions = [ballot_services.ballot_question_add(actor=secretary, ballot=ballot, text=text).pk
                     for text in spec.questions]
        for title, draft in spec.documents:
            ballot_services.ballot_document_add(actor=secretary, ballot=ballot, title=title, upload=upload(draft))
    with _clock(spec.issued_at):
        ballot = ballot_services.ballot_issue(actor=secretary, ballot=ballot)
    for username, hours, answers in spec.answers:
        given = [{"question": qid, "choice": a[0], "opinion": a[1]} for qid, a in zip(questions, answers, strict=True)
                 if a is not None]
        with _clock(spec.issued_at + dt.timedelta(hours=hours)):
            ballot_answers.ballot_answer(actor=users[username], ballot=ballot, answers=given)
    return ballot


def load_ballots(specs: tuple[BallotSpec, ...], *, users: dict, upload) -> list:
    """Create the demo ballots; ``upload(draft)`` gives the PDF of a draft as an upload. Runs inside
    the seed's transaction."""
    # Written ballots go to the members of the Government (User.is_member); demo accounts created
    # before that flag existed get it here, once, with the ballots (audited like the seed's accounts).
    missing = list(User.objects.filter(username__in=("pm", *MEMBERS), is_member=False))
    User.objects.filter(pk__in=[u.pk for u in missing]).update(is_member=True)
    audit.record_many([audit.Entry(None, "account.duties_changed", u, data={
        "username": u.username, "by": "seed_demo", "before": {"is_member": False}, "after": {"is_member": True},
    }) for u in missing])
    created = [_load(spec, users=users, upload=upload) for spec in specs]
    # One round of the scheduler at the real time: the ballot whose deadline has passed closes.
    with _clock(timezone.now()):
        ballot_closing.ballots_run_schedule()
    for ballot in created:
        ballot.refresh_from_db()
    return created

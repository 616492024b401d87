"""Closed sessions to archive, run through the real services and the real minutes pipeline
(``records.minutes.drafting`` and ``sealing``: render PDF/A-3b, sign with the development PKI).

* ``run_to_sealed(cast)`` — the cast's session with attendance, a second document version, a named
  and a secret vote, interleaved with another session's activity (so the audit chain proof has other
  sessions' links), minutes signed by the secretary and the chair, the session resolution, close, and
  a signed correction.
* ``link_ballots(cast)`` — three written ballots linked to the cast's session (issue 18): one closed
  (every recipient answered, closed early by the secretariat), one open with an answer, one draft.
* ``link_tasks(cast)`` — two follow-up tasks of the cast's session (issue 18): one reported on with
  PDFs (a progress report, a report of completion) and accepted, one cancelled.
* ``bag`` — session-scoped: that session, with its linked ballots and tasks, exported once into a directory
  (the database work is rolled back at once), for the tamper tests, which copy it and need no database.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from ecabinet import pki
from meetings import services
from meetings.models import Meeting
from records.archive.export import build_bag
from records.minutes import drafting, sealing
from voting.services import ballot_answers, ballot_closing, motions
from voting.services import ballots as ballot_services

from ..conftest import Cast, upload
from ..factories import UserFactory, in_days
from ..pdfs import make_pdf

OTHER_SECRET = "NỘI DUNG MẬT CỦA PHIÊN HỌP KHÁC — KHÔNG ĐƯỢC LỘ"
# Annotations (issue 17): only the shared, live one goes into the bag.
SHARED_NOTE = "Ghi chú chia sẻ về Điều 1"
KEPT_OUT_NOTES = ("GHI CHÚ RIÊNG CỦA BỘ TRƯỞNG — KHÔNG VÀO KHO LƯU TRỮ", "GỬI VĂN PHÒNG — KHÔNG VÀO KHO LƯU TRỮ",
                  "GHI CHÚ ĐÃ XOÁ — KHÔNG VÀO KHO LƯU TRỮ")
PIN = pki.DEMO_PIN
# Written ballots linked to the session (issue 18): what an open one or a draft holds stays out.
CLOSED_BALLOT = "Phiếu lấy ý kiến về Nghị định thuế"
KEPT_OUT_BALLOT = ("Ý KIẾN CỦA PHIẾU CHƯA ĐÓNG — KHÔNG VÀO KHO LƯU TRỮ", "PHIẾU NHÁP — KHÔNG VÀO KHO LƯU TRỮ",
                   "CÂU HỎI CỦA PHIẾU CHƯA ĐÓNG — KHÔNG VÀO KHO LƯU TRỮ")


def make_cast() -> Cast:
    """The personas of ``tests.conftest.cast``, for fixtures that cannot use a function-scoped one."""
    people = {name: UserFactory(username=name, full_name=full, is_secretariat=name == "secretary",
                                is_archivist=name == "archivist")
              for name, full in (("pm", "Phạm Quốc An"), ("secretary", "Trần Thị Thư"),
                                 ("member01", "Hồ Văn Bách"), ("member02", "Nguyễn Thị Mai Sương"),
                                 ("guest", "Lê Quang Hiển"), ("archivist", "Đặng Thu Hạnh"),
                                 ("outsider", "Vũ Văn Ngoài"))}
    office = people["secretary"]
    meeting = services.meeting_create(actor=office, title="Phiên họp Chính phủ thường kỳ tháng 11", kind="regular",
                                      starts_at=in_days(3), location="Nhà Quốc hội")
    for name, role in (("pm", "chair"), ("member01", "member"), ("member02", "member"), ("guest", "observer")):
        services.participant_add(actor=office, meeting=meeting, username=name, role=role)
    item = services.agenda_item_add(actor=office, meeting=meeting, title="Dự thảo Nghị định về thuế")
    docs = [services.document_upload(actor=office, item=item, title=title, classification=cls,
                                     upload=upload(data=make_pdf([title])), recipients=recipients)
            for title, cls, recipients in (("Thông cáo báo chí", "public", ()),
                                           ("Tờ trình Chính phủ", "internal", ()),
                                           ("Báo cáo đánh giá tác động", "restricted", ["member01"]))]
    return Cast(pm=people["pm"], secretary=office, member=people["member01"], member2=people["member02"],
                observer=people["guest"], archivist=people["archivist"], outsider=people["outsider"], admin=None,
                meeting=meeting, item=item, public_doc=docs[0], internal_doc=docs[1], restricted_doc=docs[2])


def dev_pki(pki_dir: Path) -> list:
    with override_settings(PKI_DIR=pki_dir, SIGNING_TRUST_ROOTS=[pki_dir / "ca.pem"]):
        call_command("init_dev_pki", verbosity=0)
    return pki.load_pem_certs([pki_dir / "ca.pem"])


@dataclass
class Sealed:
    cast: Cast
    other: Meeting
    named: object
    secret: object


def _other_session_activity(office, other: Meeting, n: int) -> None:
    services.agenda_item_add(actor=office, meeting=other, title=f"{OTHER_SECRET} #{n}")


def run_to_sealed(cast: Cast, *, seal: bool = True) -> Sealed:
    """Run the cast's session to its end (see the module docstring); ``seal=False`` closes it with
    no minutes at all."""
    m, office, pm, member = cast.meeting, cast.secretary, cast.pm, cast.member
    other = services.meeting_create(actor=office, title="Phiên họp khác", kind="thematic", starts_at=in_days(5))
    _other_session_activity(office, other, 1)
    services.document_add_version(actor=office, document=cast.internal_doc,
                                  upload=upload(data=make_pdf(["Tờ trình, bản sửa đổi"])), note="Sửa đổi")
    cast.set_status(Meeting.Status.IN_PROGRESS)
    for user, status, reason in ((pm, "present", ""), (member, "remote", ""),
                                 (cast.member2, "absent", "Công tác nước ngoài")):
        services.attendance_set(actor=office, meeting=m, username=user.username, status=status, reason=reason)
    _other_session_activity(office, other, 2)
    services.comment_post(actor=member, item_id=cast.item.pk, text="Ý kiến chung về dự thảo")
    note = {"document_id": cast.internal_doc.pk, "kind": "note", "page": 1, "point": [0.5, 0.5]}
    services.annotation_create(actor=member, visibility="shared", text=SHARED_NOTE, quote="Tờ trình", **note)
    services.annotation_create(actor=member, visibility="private", text=KEPT_OUT_NOTES[0], **note)
    services.annotation_create(actor=member, visibility="secretariat", text=KEPT_OUT_NOTES[1], **note)
    gone = services.annotation_create(actor=pm, visibility="shared", text=KEPT_OUT_NOTES[2], **note)
    services.annotation_delete(actor=pm, annotation_id=gone.pk)
    named = motions.motion_create(actor=office, item_id=cast.item.pk, title="Thông qua Nghị định", method="named")
    secret = motions.motion_create(actor=office, item_id=cast.item.pk, title="Nhân sự", method="secret")
    for motion, votes in ((named, {pm: "yes", member: "yes"}), (secret, {pm: "yes", member: "no"})):
        motions.motion_open(actor=pm, motion_id=motion.pk)
        for user, choice in votes.items():
            motions.vote_cast(actor=user, motion_id=motion.pk, choice=choice)
            _other_session_activity(office, other, 3 + motion.pk)
        motions.motion_close(actor=office, motion_id=motion.pk)
    services.agenda_item_set_status(actor=office, item_id=cast.item.pk, status="decided")
    cast.set_status(Meeting.Status.ADJOURNED)
    if seal:
        draft, _ = drafting.minutes_generate(actor=office, meeting_id=m.pk)
        _other_session_activity(office, other, 10)
        sealing.minutes_finalize(actor=office, meeting_id=m.pk, revision=draft.revision)
        sealing.minutes_sign(actor=office, meeting_id=m.pk, pin=PIN)
        _other_session_activity(office, other, 11)
        sealing.minutes_sign(actor=pm, meeting_id=m.pk, pin=PIN)
        sealing.resolution_sign(actor=pm, meeting_id=m.pk, pin=PIN)
    cast.set_status(Meeting.Status.CLOSED)
    if seal:
        correction = sealing.correction_create(actor=office, meeting_id=m.pk, text="Sửa lỗi chính tả ở mục 1.")
        correction = sealing.document_sign(actor=office, document=correction, pin=PIN)
        sealing.document_sign(actor=pm, document=correction, pin=PIN)
    _other_session_activity(office, other, 12)
    return Sealed(cast=cast, other=other, named=named, secret=secret)


@dataclass
class LinkedBallots:
    closed: object
    open: object
    draft: object


def link_ballots(cast: Cast) -> LinkedBallots:
    """Three written ballots linked to the cast's session, to pm, member01 and member02 (made members
    of the Government here): closed (pm agrees twice; member01 disagrees then agrees; member02 gives
    another opinion then agrees), open (member01 answered the first question), and a draft."""
    from django.contrib.auth import get_user_model

    people = [cast.pm, cast.member, cast.member2]
    get_user_model().objects.filter(pk__in=[u.pk for u in people]).update(is_member=True)
    office = cast.secretary

    def make(title: str, question: str = "Đồng ý với dự thảo?"):
        ballot = ballot_services.ballot_create(actor=office, title=title, deadline=in_days(7),
                                               meeting=cast.meeting.pk, description="Xin ý kiến.")
        questions = [ballot_services.ballot_question_add(actor=office, ballot=ballot, text=question),
                     ballot_services.ballot_question_add(actor=office, ballot=ballot, text="Đồng ý với hiệu lực?")]
        ballot_services.ballot_document_add(actor=office, ballot=ballot, title=f"Dự thảo — {title}",
                                            upload=upload(data=make_pdf([title, "Điều 1."])))
        ballot_services.ballot_recipients_set(actor=office, ballot=ballot, usernames=[u.username for u in people])
        return ballot, questions

    def answer(user, ballot, questions, *choices):
        pairs = zip(questions, choices, strict=True)
        ballot_answers.ballot_answer(actor=user, ballot=ballot, answers=[
            {"question": q.pk, "choice": choice, "opinion": opinion} for q, (choice, opinion) in pairs])

    closed, questions = make(CLOSED_BALLOT)
    closed = ballot_services.ballot_issue(actor=office, ballot=closed)
    answer(cast.pm, closed, questions, ("agree", ""), ("agree", ""))
    answer(cast.member, closed, questions, ("disagree", "Cần sửa Điều 3."), ("agree", ""))
    answer(cast.member2, closed, questions, ("other", "Đề nghị lùi hiệu lực."), ("agree", ""))
    ballot_closing.ballot_close(actor=office, ballot=closed)
    still_open, questions = make("Phiếu đang mở", question=KEPT_OUT_BALLOT[2])
    still_open = ballot_services.ballot_issue(actor=office, ballot=still_open)
    answer(cast.member, still_open, questions[:1], ("other", KEPT_OUT_BALLOT[0]))
    draft, _ = make(KEPT_OUT_BALLOT[1])
    for ballot in (closed, still_open, draft):
        ballot.refresh_from_db()
    return LinkedBallots(closed=closed, open=still_open, draft=draft)


@dataclass
class LinkedTasks:
    done: object
    cancelled: object
    attachments: dict[str, bytes]  # file name → the bytes the ministry sent


def link_tasks(cast: Cast) -> LinkedTasks:
    """Two tasks of the cast's (held) session, led by the Ministry of Finance, whose ``lead01``
    reports: the first with a progress report (one PDF) and a report of completion (two PDFs),
    then accepted; the second cancelled."""
    import datetime as dt

    from ecabinet.models import Ministry
    from followup import reports
    from followup import services as followup

    lead = Ministry.objects.get_or_create(code="bo-tai-chinh", defaults={"name": "Bộ Tài chính"})[0]
    reporter = UserFactory(username="lead01", full_name="Phan Văn Chủ Trì", ministry=lead)
    office = cast.secretary
    deadline = followup.today() + dt.timedelta(days=30)
    done = followup.task_create(actor=office, source_kind="agenda_item", source_id=cast.item.pk,
                                title="Hoàn thiện Nghị định về thuế", lead_ministry=lead.code, deadline=deadline)
    files = {name: make_pdf([name, "Báo cáo của Bộ Tài chính"])
             for name in ("tien-do.pdf", "nghi-dinh-ban-hanh.pdf", "phu-luc.pdf")}
    reports.task_report_progress(actor=reporter, task=done, text="Đã lấy ý kiến các bộ.",
                                 files=[upload(name="tien-do.pdf", data=files["tien-do.pdf"])])
    reports.task_report_done(actor=reporter, task=done, text="Nghị định đã được ban hành.",
                             files=[upload(name=n, data=files[n]) for n in ("nghi-dinh-ban-hanh.pdf", "phu-luc.pdf")])
    followup.task_accept(actor=office, task=done)
    cancelled = followup.task_create(actor=office, source_kind="resolution", source_id=cast.meeting.pk,
                                     title="Rà soát văn bản", lead_ministry=lead.code, regular=True)
    followup.task_cancel(actor=office, task=cancelled, reason="Đã được giao trong nhiệm vụ khác.")
    done.refresh_from_db()
    cancelled.refresh_from_db()
    return LinkedTasks(done=done, cancelled=cancelled, attachments=files)


@dataclass
class BuiltBag:
    path: Path
    trust_roots: list
    meeting_id: int
    uploads: dict[str, bytes]  # payload path → the bytes as uploaded
    pki_dir: Path


def _require_test_database() -> None:
    """pytest-django sets up the test database only if a collected test is marked for it; a
    session fixture reached without one would be talking to the real database."""
    name = Path(str(connection.settings_dict["NAME"])).name
    if not name.startswith("test"):
        pytest.fail("the archive bag fixture needs the test database: mark the module with "
                    "pytestmark = pytest.mark.django_db")


@pytest.fixture(scope="session")
def bag(django_db_setup, django_db_blocker, tmp_path_factory) -> BuiltBag:
    """The sealed session exported once per test run; the database changes are rolled back at once."""
    base = tmp_path_factory.mktemp("archive")
    with django_db_blocker.unblock(), override_settings(
            MEDIA_ROOT=base / "media", PKI_DIR=base / "pki", SIGNING_TRUST_ROOTS=[base / "pki" / "ca.pem"],
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", LANGUAGE_CODE="en",
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), transaction.atomic():
        _require_test_database()
        cast = make_cast()
        roots = dev_pki(base / "pki")  # after the accounts: certificates carry their full names
        sealed = run_to_sealed(cast)
        link_ballots(cast)
        link_tasks(cast)
        summary = build_bag(sealed.cast.meeting, base / "bag")
        uploads = {}
        from meetings.models import DocumentVersion
        from records.archive import layout

        for v in DocumentVersion.objects.filter(document__agenda_item__meeting=sealed.cast.meeting):
            with v.file.open("rb") as handle:
                uploads["data/" + layout.document_path(v.document.agenda_item.position, v.document_id, v.number,
                                                       v.sha256)] = handle.read()
        meeting_id = sealed.cast.meeting.pk
        transaction.set_rollback(True)
    return BuiltBag(path=summary.path, trust_roots=roots, meeting_id=meeting_id, uploads=uploads,
                    pki_dir=base / "pki")


@pytest.fixture
def bag_copy(bag, tmp_path) -> Path:
    """A private copy of the shared bag, to tamper with."""
    return Path(shutil.copytree(bag.path, tmp_path / "bag"))


@pytest.fixture
def pki_roots(cast, settings, tmp_path) -> list:
    """A development PKI for the cast, configured in the settings."""
    settings.PKI_DIR = tmp_path / "pki"
    settings.SIGNING_TRUST_ROOTS = [settings.PKI_DIR / "ca.pem"]
    return dev_pki(settings.PKI_DIR)


@pytest.fixture
def sealed_session(cast, pki_roots) -> Sealed:
    return run_to_sealed(cast)


@pytest.fixture
def closed_session(cast) -> Cast:
    """The cast's session closed with no minutes (quick: nothing rendered or signed)."""
    cast.set_status(Meeting.Status.CLOSED)
    return cast

"""Load the demo Government, once.

Ministries and accounts are created directly and only when missing: an existing row is never
touched, so a second run changes nothing. The accounts are a bootstrap — there is no administrator
yet to name as the actor of ``ecabinet.accounts`` — so the seed writes them in one insert (one
password hash for all) and records each creation in the audit log itself (``account.created``, no
actor, ``"by": "seed_demo"``); the published cast obeys the separation of duties like any account
(the administrator holds no content duty; the database refuses otherwise). Every write to a
session — participants, agenda, documents, versions, state changes, attendance — goes through
``meetings.services``, exactly as the screens and the API do, so the demo also leaves a true audit
trail. The sessions are loaded in one transaction, and only when the demo secretary has created
none: the demo is loaded entirely or not at all. The written ballots (``ballots``) follow the same
rule on their own, so an installation seeded before ballots existed gets them on the next run; and
so do the decision follow-up tasks of the closed session (``tasks``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.loader import render_to_string
from django.test.utils import override_settings
from django.utils import timezone

from ecabinet import audit, pdf
from ecabinet.models import Ministry
from ecabinet.permissions import FLAGS
from followup.models import Task
from meetings import services
from meetings.models import Meeting, Participant
from voting.models import Ballot, Motion

from .ballots import build_ballots, load_ballots
from .cast import ACCOUNTS, DEMO_PASSWORD, MEMBERS, MINISTRIES, email_for
from .plan import LOCATION, Draft, SessionSpec, build_plan
from .tasks import add_reports, build_tasks, load_tasks

__all__ = ["SeedReport", "seed"]

User = get_user_model()


@dataclass
class SeedReport:
    ministries_created: int = 0
    accounts_created: list[str] = field(default_factory=list)
    sessions_created: list[Meeting] = field(default_factory=list)
    ballots_created: list[Ballot] = field(default_factory=list)
    tasks_created: list[Task] = field(default_factory=list)
    pdfs_rendered: int = 0
    sealed_documents: int = 0


def _ensure_ministries() -> tuple[dict[str, Ministry], int]:
    existing = set(Ministry.objects.filter(code__in=[b.code for b in MINISTRIES]).values_list("code", flat=True))
    missing = [Ministry(code=b.code, name=b.name, name_en=b.name_en, short_name=b.short_name)
               for b in MINISTRIES if b.code not in existing]
    Ministry.objects.bulk_create(missing)
    return {m.code: m for m in Ministry.objects.filter(code__in=[b.code for b in MINISTRIES])}, len(missing)


def _ensure_accounts(ministries: dict[str, Ministry]) -> tuple[dict[str, object], list[str]]:
    existing = set(User.objects.filter(username__in=[a.username for a in ACCOUNTS]).values_list("username", flat=True))
    # One hash for all: hashing is deliberately slow (about 0.3 s each), and every demo account has
    # the same published password anyway.
    password = make_password(DEMO_PASSWORD)
    missing = [
        User(username=a.username, full_name=a.full_name, position=a.position, ministry=ministries[a.ministry],
             email=email_for(a.username), is_member=a.is_member, is_secretariat=a.is_secretariat,
             is_archivist=a.is_archivist,
             is_superuser=a.is_superuser, is_staff=a.is_superuser, password=password)
        for a in ACCOUNTS if a.username not in existing
    ]
    User.objects.bulk_create(missing)
    users = {u.username: u for u in User.objects.filter(username__in=[a.username for a in ACCOUNTS])}
    created = [users[u.username] for u in missing]
    audit.record_many([audit.Entry(None, "account.created", u, data={
        "username": u.username, "by": "seed_demo",
        "after": {f: getattr(u, f) for f in FLAGS},
    }) for u in created])
    return users, [u.username for u in created]


class _Drafts:
    """Rendered PDFs, one per distinct template and context within the run."""

    def __init__(self) -> None:
        self.cache: dict[Draft, bytes] = {}

    def render(self, draft: Draft) -> bytes:
        if draft not in self.cache:
            self.cache[draft] = pdf.layout(render_to_string(draft.template, dict(draft.context))).write_pdf()
        return self.cache[draft]

    def upload(self, draft: Draft) -> SimpleUploadedFile:
        return SimpleUploadedFile(draft.filename, self.render(draft), content_type="application/pdf")


def _all_drafts(specs: tuple[SessionSpec, ...]):
    for spec in specs:
        for item in spec.items:
            for document in item.documents:
                yield document.draft
                if document.new_version:
                    yield document.new_version


def _load_session(spec: SessionSpec, *, users: dict, ministries: dict[str, Ministry], drafts: _Drafts) -> Meeting:
    secretary, chair = users["secretary"], users["pm"]
    meeting = services.meeting_create(actor=secretary, title=spec.title, kind=spec.kind, starts_at=spec.starts_at,
                                      location=LOCATION)
    services.participant_add(actor=secretary, meeting=meeting, username=chair.username, role=Participant.Role.CHAIR)
    for username in MEMBERS:
        services.participant_add(actor=secretary, meeting=meeting, username=username, role=Participant.Role.MEMBER)
    for username in spec.observers:
        services.participant_add(actor=secretary, meeting=meeting, username=username,
                                 role=Participant.Role.OBSERVER)

    revisions = []
    for item_spec in spec.items:
        item = services.agenda_item_add(actor=secretary, meeting=meeting, title=item_spec.title,
                                        description=item_spec.description,
                                        presenter_ministry=ministries[item_spec.presenter],
                                        planned_minutes=item_spec.minutes)
        for doc in item_spec.documents:
            document = services.document_upload(actor=secretary, item=item, title=doc.title,
                                                classification=doc.classification, upload=drafts.upload(doc.draft),
                                                recipients=doc.recipients)
            if doc.new_version:
                revisions.append((document, doc))
    if spec.status == Meeting.Status.DRAFT:
        return meeting

    meeting = services.meeting_publish(actor=secretary, meeting=meeting)
    for username, (status, reason) in spec.replies.items():
        services.attendance_set(actor=users[username], meeting=meeting, username=username, status=status,
                                reason=reason)
    # A few members read the first draft before the revised one arrives, so "new since you last
    # read it" and the comparison of versions have something to show.
    for document, doc in revisions:
        for username in doc.read_first:
            services.document_issue_copy(actor=users[username], document_id=document.pk)
        services.document_add_version(actor=secretary, document=document, upload=drafts.upload(doc.new_version),
                                      note=doc.version_note)
    if spec.status == Meeting.Status.PUBLISHED:
        return meeting

    meeting = services.meeting_start(actor=chair, meeting=meeting)
    for username, (status, reason) in spec.attendance.items():
        services.attendance_set(actor=secretary, meeting=meeting, username=username, status=status, reason=reason)
    _hold_debate_and_vote(meeting, users=users, attendance=spec.attendance)
    meeting = services.meeting_adjourn(actor=chair, meeting=meeting)
    return services.meeting_close(actor=secretary, meeting=meeting)


def _hold_debate_and_vote(meeting: Meeting, *, users: dict, attendance: dict) -> None:
    """The reference scenario's debate and vote on the first item: a speaker, a comment for the
    record, and the resolution adopted by every member attending (25 of 27)."""
    from voting.services import motions

    secretary, chair = users["secretary"], users["pm"]
    item = meeting.agenda_items.order_by("position").first()
    services.comment_post(actor=users["member01"], item_id=item.pk,
                          text="Đề nghị bổ sung đánh giá tác động của chính sách đến ngân sách địa phương.")
    services.speak_request(actor=users["member03"], item_id=item.pk)
    services.floor_give(actor=secretary, item_id=item.pk, username="member03")
    services.floor_end(actor=secretary, item_id=item.pk)
    motion = motions.motion_create(actor=secretary, item_id=item.pk, title="Thông qua Nghị quyết phiên họp",
                                   text="Chính phủ thống nhất thông qua Nghị quyết phiên họp thường kỳ.",
                                   method="named", rule="vn-government")
    motions.motion_open(actor=chair, motion_id=motion.pk)
    for username, (status, _reason) in attendance.items():
        if status in ("present", "remote"):
            motions.vote_cast(actor=users[username], motion_id=motion.pk, choice="yes")
    motions.motion_close(actor=secretary, motion_id=motion.pk)
    services.agenda_item_set_status(actor=secretary, item_id=item.pk, status="decided")


def seed(*, now=None) -> SeedReport:
    """Load whatever part of the demo is missing; see the module docstring."""
    report = SeedReport()
    with transaction.atomic():
        ministries, report.ministries_created = _ensure_ministries()
        users, report.accounts_created = _ensure_accounts(ministries)
    with_sessions = not Meeting.objects.filter(created_by=users["secretary"]).exists()
    with_ballots = not Ballot.objects.filter(created_by=users["secretary"]).exists()
    if not (with_sessions or with_ballots):
        _load_tasks(report, users=users)
        return report

    local_now = timezone.localtime(now or timezone.now())
    specs = build_plan(local_now)
    ballot_specs = build_ballots(local_now, specs) if with_ballots else ()
    drafts = _Drafts()
    wanted = list(_all_drafts(specs)) if with_sessions else []
    wanted += [draft for spec in ballot_specs for _title, draft in spec.documents]
    for draft in wanted:  # before the transaction: rendering takes a few seconds
        drafts.render(draft)
    report.pdfs_rendered = len(drafts.cache)
    # Publishing notifies every invitee in the app and by e-mail. The demo's invitations are not
    # mailed: with the default console backend they would print some sixty e-mails, and with SMTP
    # they would go to addresses that do not exist.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        if with_sessions:
            for spec in specs:
                report.sessions_created.append(_load_session(spec, users=users, ministries=ministries,
                                                             drafts=drafts))
        if with_ballots:
            report.ballots_created = load_ballots(ballot_specs, users=users, upload=drafts.upload)
    if with_sessions:  # after the transaction: rendering and signing take a few seconds
        from .minutes import seal_minutes

        for meeting in report.sessions_created:
            if meeting.status == Meeting.Status.CLOSED:
                # The demo holds last month's session today; its record says it sat on its planned day.
                start = meeting.starts_at
                Meeting.objects.filter(pk=meeting.pk).update(
                    started_at=start, adjourned_at=start + dt.timedelta(hours=3, minutes=10),
                    closed_at=start + dt.timedelta(hours=4))
                with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
                    report.sealed_documents += seal_minutes(meeting, users=users)
    _load_tasks(report, users=users)
    return report


def _load_tasks(report: SeedReport, *, users: dict) -> None:
    """The tasks of last month's closed session (``demo.tasks``), once: only when the demo secretary
    has assigned none, and the closed session is there — so an installation seeded before tasks
    existed gets them on its next run. One transaction; their notices are not mailed (see above)."""
    secretary = users["secretary"]
    if Task.objects.filter(created_by=secretary).exists():
        return
    meeting = (Meeting.objects.filter(created_by=secretary, status=Meeting.Status.CLOSED)
               .order_by("-starts_at").first())
    motion = Motion.objects.filter(agenda_item__meeting=meeting, status=Motion.Status.CLOSED).order_by("pk").first()
    ballot = Ballot.objects.filter(created_by=secretary, status=Ballot.Status.CLOSED).order_by("-deadline").first()
    if meeting is None or motion is None or ballot is None:
        return
    specs = build_tasks(timezone.localtime(timezone.now()), timezone.localtime(meeting.starts_at).date(),
                        timezone.localtime(ballot.deadline))
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        report.tasks_created = load_tasks(specs, users=users, meeting=meeting, motion=motion, ballot=ballot)
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        add_reports(list(report.tasks_created), users=users, now=timezone.now())  # PDFs: outside the transaction

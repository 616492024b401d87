"""The cast every test can use, in the manner of healthchecks' BaseTestCase.

``cast`` builds one session with: ``pm`` (chair), ``secretary`` (secretariat, secretary of the
session), ``member`` and ``member2`` (members), ``observer``, ``archivist`` (records office, not a
participant), ``outsider`` (active, invited to nothing) and ``admin`` (superuser, not invited).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from meetings import services
from meetings.models import Document, Meeting, Participant

from .factories import UserFactory, in_days
from .pdfs import make_pdf


@pytest.fixture(autouse=True)
def _fresh_rate_counters(request):
    """The per-account rate counters (``ecabinet.limits``) and the failed sign-ins and PINs
    (``ecabinet.lockout``) live in the cache, which outlives a test, and account ids and usernames
    come round again: each test starts with none counted. The in-memory cache is cleared; a Redis one
    (``REDIS_URL`` set) is shared and is never flushed here: the test gets a key prefix of its own
    instead (its keys expire by themselves)."""
    import uuid

    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()
    else:
        settings = request.getfixturevalue("settings")
        default = settings.CACHES["default"]
        settings.CACHES = {**settings.CACHES, "default": {
            **default, "KEY_PREFIX": f"{default.get('KEY_PREFIX', '')}-test-{uuid.uuid4().hex[:8]}"}}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LANGUAGE_CODE = "en"  # test assertions read English; Vietnamese is tested explicitly


def upload(name: str = "draft.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf() if data is None else data, content_type="application/pdf")


@dataclass
class Cast:
    pm: object
    secretary: object
    member: object
    member2: object
    observer: object
    archivist: object
    outsider: object
    admin: object
    meeting: Meeting
    item: object
    public_doc: Document
    internal_doc: Document
    restricted_doc: Document

    def client(self, user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    def set_status(self, status: str) -> None:
        """Walk the session forward to ``status`` through the services."""
        order = [Meeting.Status.DRAFT, Meeting.Status.PUBLISHED, Meeting.Status.IN_PROGRESS,
                 Meeting.Status.ADJOURNED, Meeting.Status.CLOSED]
        steps = {Meeting.Status.PUBLISHED: services.meeting_publish, Meeting.Status.IN_PROGRESS: services.meeting_start,
                 Meeting.Status.ADJOURNED: services.meeting_adjourn, Meeting.Status.CLOSED: services.meeting_close}
        self.meeting.refresh_from_db()
        for target in order[order.index(self.meeting.status) + 1: order.index(status) + 1]:
            steps[target](actor=self.secretary, meeting=self.meeting)
        self.meeting.refresh_from_db()


@pytest.fixture
def cast(db) -> Cast:
    pm = UserFactory(username="pm", full_name="Phạm Quốc An")
    secretary = UserFactory(username="secretary", full_name="Trần Thị Thư", is_secretariat=True)
    member = UserFactory(username="member01", full_name="Hồ Văn Bách")
    member2 = UserFactory(username="member02", full_name="Nguyễn Thị Mai Sương")
    observer = UserFactory(username="guest", full_name="Lê Quang Hiển")
    archivist = UserFactory(username="archivist", full_name="Đặng Thu Hạnh", is_archivist=True)
    outsider = UserFactory(username="outsider", full_name="Vũ Văn Ngoài")
    admin = UserFactory(username="admin", full_name="Quản Trị Viên", is_superuser=True, is_staff=True)
    meeting = services.meeting_create(actor=secretary, title="Phiên họp Chính phủ thường kỳ tháng 11",
                                      kind="regular", starts_at=in_days(3), location="Nhà Quốc hội")
    for user, role in ((pm, Participant.Role.CHAIR), (member, Participant.Role.MEMBER),
                       (member2, Participant.Role.MEMBER), (observer, Participant.Role.OBSERVER)):
        services.participant_add(actor=secretary, meeting=meeting, username=user.username, role=role)
    item = services.agenda_item_add(actor=secretary, meeting=meeting, title="Dự thảo Nghị định về thuế")
    public_doc = services.document_upload(actor=secretary, item=item, title="Thông cáo báo chí",
                                          classification="public", upload=upload())
    internal_doc = services.document_upload(actor=secretary, item=item, title="Tờ trình Chính phủ",
                                            classification="internal", upload=upload(data=make_pdf(["Tờ trình"])))
    restricted_doc = services.document_upload(actor=secretary, item=item, title="Báo cáo đánh giá tác động",
                                              classification="restricted",
                                              upload=upload(data=make_pdf(["Báo cáo mật hạn chế"])),
                                              recipients=["member01"])
    return Cast(pm=pm, secretary=secretary, member=member, member2=member2, observer=observer, archivist=archivist,
                outsider=outsider, admin=admin, meeting=meeting, item=item, public_doc=public_doc,
                internal_doc=internal_doc, restricted_doc=restricted_doc)


# --- added for the API, access-matrix and concurrency tests ------------------------------------------

@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The cast creates eight accounts; PBKDF2 with Django's production work factor costs ~0.2 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """Put the SQLite test database in a file, not in memory.

    Django's default SQLite test database is an in-memory, shared-cache one. Shared-cache mode uses
    table-level locks that fail at once with "database table is locked" instead of waiting on the busy
    timeout, so tests where two threads write at the same time (tests/test_idempotency.py) would test
    SQLite's shared cache rather than the code. A file behaves like production (WAL, IMMEDIATE
    transactions, busy timeout). ``SQLITE_TEST_PATH`` still wins when set; PostgreSQL
    (``DATABASE_URL``) is left alone. ``tmp_path_factory`` gives every run (and every xdist worker) its
    own directory, so parallel runs never share a file.
    """
    from django.conf import settings as django_settings

    db = django_settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and not db.get("TEST", {}).get("NAME"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test-ecabinet.sqlite3")


@pytest.fixture
def substitute(cast):
    """The cast, plus ``member3`` (a member) and ``deputy`` — an approved substitute standing in for
    ``member3``; added while the session is a draft. A fixture of its own, so that the counts other
    tests make on the cast stay as they are. Returns the cast."""
    cast.member3 = UserFactory(username="member03", full_name="Lê Văn Ba")
    cast.deputy = UserFactory(username="deputy01", full_name="Đỗ Thị Phó")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="member03",
                             role=Participant.Role.MEMBER)
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy01",
                             role=Participant.Role.SUBSTITUTE, substitute_for="member03")
    services.substitute_approve(actor=cast.pm, meeting=cast.meeting, username="deputy01")
    return cast

"""``seed_demo``: the demo Government of DESIGN.md §5.1, loaded once, through the services."""

from io import StringIO

import pytest
from django.core.management import call_command

from demo.cast import ACCOUNTS, DEMO_PASSWORD, MEMBERS
from demo.plan import RESTRICTED_RECIPIENTS
from ecabinet.models import AuditEntry, Ministry, Notification, User
from ecabinet.pdf import STATIC_DIR, StaticFilesOnly
from meetings import permissions
from meetings.compare import compare_versions
from meetings.models import AgendaItem, Document, DocumentVersion, Meeting, Participant


def seed_demo(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """Everything the seed writes, counted, plus the audit chain head and the password hashes."""
    return {
        "ministries": Ministry.objects.count(),
        "users": sorted(User.objects.values_list("username", "password", "is_superuser", "is_secretariat",
                                                 "is_archivist")),
        "meetings": sorted(Meeting.objects.values_list("title", "status")),
        "participants": Participant.objects.count(),
        "items": AgendaItem.objects.count(),
        "documents": Document.objects.count(),
        "versions": DocumentVersion.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": list(AuditEntry.objects.order_by("-seq").values_list("seq", "hash")[:1]),
    }


@pytest.mark.django_db
def test_it_seeds_the_demo_government_once():
    assert "3 sessions" in seed_demo("--if-empty")  # an empty database is seeded
    first = snapshot()

    assert "nothing changed" in seed_demo()
    assert "nothing to do" in seed_demo("--if-empty")
    assert snapshot() == first

    # Accounts (DESIGN.md §5.1), all with the demo password.
    usernames = {"pm", *MEMBERS, "secretary", "archivist", "guest", "outsider", "admin"}
    assert {a.username for a in ACCOUNTS} == usernames
    assert set(User.objects.values_list("username", flat=True)) == usernames
    assert len(MEMBERS) == 26
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.username
        assert user.full_name and user.position and user.ministry_id, user.username
    assert User.objects.get(username="secretary").is_secretariat
    assert User.objects.get(username="archivist").is_archivist
    assert list(User.objects.filter(is_superuser=True).values_list("username", flat=True)) == ["admin"]
    assert User.objects.get(username="member15").ministry.name == "Bộ Tài chính"
    assert Ministry.objects.get(code="nhnn").name_en == "State Bank of Viet Nam"
    assert Ministry.objects.filter(name__startswith="Bộ ").count() == 14

    # The published regular session: chair, 26 members, the secretary, the guest as observer.
    published = Meeting.objects.get(status=Meeting.Status.PUBLISHED)
    assert published.kind == Meeting.Kind.REGULAR
    assert "Hoàng Hoa Thám" in published.location
    roles = dict(published.participants.values_list("user__username", "role"))
    assert roles["pm"] == Participant.Role.CHAIR
    assert roles["secretary"] == Participant.Role.SECRETARY
    assert roles["guest"] == Participant.Role.OBSERVER
    assert sorted(u for u, r in roles.items() if r == Participant.Role.MEMBER) == list(MEMBERS)
    for username in ("outsider", "admin", "archivist"):
        assert username not in roles
        assert not permissions.meetings_visible_to(User.objects.get(username=username)).filter(
            status__in=[Meeting.Status.PUBLISHED, Meeting.Status.DRAFT]).exists()

    items = list(published.agenda_items.order_by("position"))
    assert len(items) >= 6
    for item in items:
        assert item.presenter_ministry_id and item.planned_minutes
        assert 1 <= item.documents.count() <= 3, item.title
    documents = Document.objects.filter(agenda_item__meeting=published)
    assert {"public", "internal", "restricted"} <= set(documents.values_list("classification", flat=True))
    for version in DocumentVersion.objects.filter(document__in=documents):
        assert 2 <= version.pages <= 5, version
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in version.text
        assert "Độc lập - Tự do - Hạnh phúc" in version.text

    # One restricted document, given to five people only.
    restricted = documents.get(classification="restricted")
    recipients = set(User.objects.filter(pk__in=permissions.document_recipient_ids(restricted))
                     .values_list("username", flat=True))
    assert recipients == set(RESTRICTED_RECIPIENTS) and len(recipients) == 5
    outsider_member = User.objects.get(username="member12")
    access = permissions.meeting_access(outsider_member, published)
    assert not documents.filter(permissions.documents_visible_to(access), pk=restricted.pk).exists()

    # One document in two versions whose texts differ in a few articles, with a note.
    revised = documents.get(versions__number=2)
    assert revised.versions.count() == 2
    assert revised.current_version.number == 2 and "Bộ Tư pháp" in revised.current_version.note
    comparison = compare_versions(revised)
    changed = " ".join(line.text for line in comparison.lines if line.op != "same")
    assert "05 ngày làm việc" in changed and "03 ngày làm việc" in changed
    assert "không được truy cập nội dung" in changed

    # A draft session and a closed one, walked through its states by the services.
    assert Meeting.objects.filter(status=Meeting.Status.DRAFT).count() == 1
    closed = Meeting.objects.get(status=Meeting.Status.CLOSED)
    assert closed.published_at and closed.started_at and closed.adjourned_at and closed.closed_at
    attendance = list(closed.participants.exclude(role__in=["secretary", "observer"])
                      .values_list("attendance", flat=True))
    assert (attendance.count("present"), attendance.count("remote"), attendance.count("absent")) == (21, 4, 2)
    assert permissions.meetings_visible_to(User.objects.get(username="archivist")).get() == closed

    # Written through the services: every change left an audit entry.
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"meeting.created", "participant.added", "agenda_item.added", "document.uploaded",
            "document.version_added", "meeting.status"} <= actions
    # The accounts are a bootstrap, written at once, each creation recorded with no actor.
    created = AuditEntry.objects.filter(action="account.created")
    assert sorted(created.values_list("data__username", flat=True)) == sorted(User.objects.values_list(
        "username", flat=True))
    assert {(e.actor_id, e.data["by"]) for e in created} == {(None, "seed_demo")}
    assert created.get(data__username="admin").data["after"] == {
        "is_secretariat": False, "is_archivist": False, "is_member": False, "is_staff": True, "is_superuser": True}


@pytest.mark.django_db
def test_it_does_nothing_with_if_empty_when_any_user_exists():
    User.objects.create_user(username="someone", full_name="Người Dùng", password="x-long-password")
    assert "nothing to do" in seed_demo("--if-empty")
    assert User.objects.count() == 1
    assert not Ministry.objects.exists() and not Meeting.objects.exists()


def test_it_renders_drafts_from_static_files_only():
    fetcher = StaticFilesOnly()
    font = fetcher.fetch((STATIC_DIR / "fonts" / "DejaVuSerif.ttf").as_uri())
    assert font.read(4) == b"\x00\x01\x00\x00"  # a TrueType font
    for url in ("http://example.com/logo.png", "https://example.com/x.css", "file:///etc/passwd",
                (STATIC_DIR / ".." / "manage.py").as_uri(), "data:text/plain,hello"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)

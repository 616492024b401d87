"""The Django side of the benchmarks, run as ``python -m bench.fixtures OP ARGS_JSON OUT_JSON`` in a
subprocess with the benchmark server's environment (so it works on the same database).

Accounts, sessions and invitations are made through the project's services, as the screens and the
API make them (audit entries and event-log entries included); only what has no service is written
directly: extra member accounts (like ``seed_demo`` does), API tokens (as ``POST /api/v1/auth/token``
would issue them, without its 20-a-minute throttle) and login sessions (as ``/login/`` would).
The events that are measured are never made here: the suites produce them through the HTTP API.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import timedelta

BENCH_PREFIX = "bench"
DEMO_MEMBERS = ["pm"] + [f"member{i:02d}" for i in range(1, 27)]  # the 27 members of the demo Government


def _setup() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecabinet.settings")
    django.setup()


def members(count: int) -> list[str]:
    """``count`` member accounts, the demo Government first (``pm``, ``member01``…), then
    ``bench0001``… created when missing, all with the demo password."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from demo.cast import DEMO_PASSWORD
    from ecabinet.models import Ministry

    user_model = get_user_model()
    names = DEMO_MEMBERS[:count] + [f"{BENCH_PREFIX}{i:04d}" for i in range(1, max(0, count - len(DEMO_MEMBERS)) + 1)]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [n for n in names if n not in existing]
    if missing:
        ministries = list(Ministry.objects.order_by("pk"))
        password = make_password(DEMO_PASSWORD)
        user_model.objects.bulk_create([
            user_model(username=n, full_name=f"Thành viên thử tải {n[len(BENCH_PREFIX):]}", position="Bộ trưởng",
                       ministry=ministries[i % len(ministries)] if ministries else None, is_member=True,
                       email=f"{n}@bench.ecabinet.example", password=password)
            for i, n in enumerate(missing)
        ])
    return names


def tokens(usernames: list[str]) -> dict[str, str]:
    """A new API token of each account (a device named "bench", as the token endpoint makes it; the
    previous run's "bench" devices are signed out first: only digests are stored, so they cannot be
    reused, and the accounts would reach API_MAX_DEVICES_PER_USER)."""
    from django.contrib.auth import get_user_model

    from ecabinet import devices
    from ecabinet.models import Device

    users = list(get_user_model().objects.filter(username__in=usernames))
    Device.objects.filter(user__in=users, name="bench").delete()
    return {u.username: devices.issue_device(user=u, name="bench")[1] for u in users}


def sessions(usernames: list[str]) -> dict[str, str]:
    """A login session (the ``sessionid`` cookie) for each account, as ``/login/`` would make it."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    out = {}
    for user in get_user_model().objects.filter(username__in=usernames):
        client = Client()
        client.force_login(user)
        out[user.username] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return out


def _pdf(pages: int = 3) -> bytes:
    from django.conf import settings
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "BenchDejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("BenchDejaVu", settings.WATERMARK_FONT))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(595, 842))
    for page in range(pages):
        c.setFont("BenchDejaVu", 12)
        c.drawString(72, 770, "Dự thảo Nghị định quy định chi tiết — tài liệu thử tải")
        c.drawString(72, 40, f"Trang {page + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def meeting(*, title: str, usernames: list[str], items: int = 1, documents_per_item: int = 0,
            comments_per_item: int = 0) -> dict:
    """A session in progress: ``usernames[0]`` chairs, the others are members, everyone is recorded
    present; ``items`` agenda items with documents and shared comments; the first item is current."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.test.utils import override_settings
    from django.utils import timezone

    from meetings import services
    from meetings.models import Meeting, Participant

    user_model = get_user_model()
    users = {u.username: u for u in user_model.objects.filter(username__in=[*usernames, "secretary"])}
    secretary, chair = users["secretary"], users[usernames[0]]
    pdf = _pdf() if documents_per_item else b""
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        m = services.meeting_create(actor=secretary, title=title, kind="regular",
                                    starts_at=timezone.now() + timedelta(hours=1), location="Nhà Quốc hội")
        services.participant_add(actor=secretary, meeting=m, username=chair.username, role=Participant.Role.CHAIR)
        for name in usernames[1:]:
            services.participant_add(actor=secretary, meeting=m, username=name, role=Participant.Role.MEMBER)
        item_ids = []
        for i in range(1, items + 1):
            item = services.agenda_item_add(actor=secretary, meeting=m, title=f"Nội dung {i}: dự thảo nghị định số {i}",
                                            description="Tờ trình và dự thảo kèm theo.", planned_minutes=20)
            item_ids.append(item.pk)
            for d in range(documents_per_item):
                upload = SimpleUploadedFile(f"du-thao-{i}-{d}.pdf", pdf, content_type="application/pdf")
                services.document_upload(actor=secretary, item=item, title=f"Tài liệu {i}.{d + 1}",
                                         classification="internal" if d else "public", upload=upload)
        m = services.meeting_publish(actor=secretary, meeting=m)
        m = services.meeting_start(actor=chair, meeting=m)
        for name in usernames:
            services.attendance_set(actor=secretary, meeting=m, username=name,
                                    status=Participant.Attendance.PRESENT)
        services.agenda_set_current(actor=chair, meeting_id=m.pk, item_id=item_ids[0])
        for item_id in item_ids:
            for c in range(comments_per_item):
                author = users[usernames[(c + 1) % len(usernames)]]
                services.comment_post(actor=author, item_id=item_id, text=f"Ý kiến {c + 1}: đề nghị làm rõ điều 3.")
    return {"meeting": m.pk, "items": item_ids, "head": Meeting.objects.get(pk=m.pk).event_seq}


def head(*, meeting: int) -> int:
    from meetings.models import Meeting

    return Meeting.objects.get(pk=meeting).event_seq


def queries(*, username: str, token: str, cookie: str, paths: dict[str, str]) -> dict:
    """SQL queries per request: each path requested twice in-process (Django's test client, same
    database, same settings as the server), the second one counted."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    host = (settings.ALLOWED_HOSTS or ["127.0.0.1"])[0]
    out = {}
    for name, path in paths.items():
        client = Client(HTTP_HOST=host)
        if path.startswith("/api/"):
            headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
        else:
            client.cookies[settings.SESSION_COOKIE_NAME] = cookie
            headers = {}
        client.get(path, **headers)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, **headers)
        out[name] = {"status": response.status_code, "queries": len(captured.captured_queries),
                     "bytes": len(response.content), "user": username}
    return out


def votes(*, motion: int) -> dict:
    """What the database holds for a motion: vote rows, distinct voters, the frozen result."""
    from django.db.models import Count

    from ecabinet.models import AuditEntry
    from voting.models import Motion, Vote

    rows = Vote.objects.filter(motion_id=motion)
    by_choice = dict(rows.values_list("choice").annotate(n=Count("pk")).values_list("choice", "n"))
    m = Motion.objects.get(pk=motion)
    return {
        "rows": rows.count(),
        "distinct_voters": rows.values("voter").distinct().count(),
        "by_choice": by_choice,
        "receipts": rows.exclude(receipt_hash="").values("receipt_hash").distinct().count(),
        "audit_vote_cast": AuditEntry.objects.filter(action="vote.cast", data__motion=motion).count(),
        "status": m.status,
        "result": {k: (m.result or {}).get(k) for k in ("yes", "no", "abstain", "eligible", "present", "adopted")},
    }


def tasks(*, count: int, sessions: int) -> dict:
    """The register of the ``tasks`` suite: ``sessions`` held sessions (made through the services,
    chaired by ``pm``, adjourned, one a month back from today) and ``count`` tasks spread over them
    by ``bulk_create`` (the services' bound of 500 tasks per session is kept): lead ministries, states,
    deadlines over three years back and one ahead, a third with co-operating ministries. Seeded, so
    every run makes the same register."""
    import random
    from datetime import datetime, time

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test.utils import override_settings
    from django.utils import timezone

    from ecabinet.models import Ministry
    from followup.models import Task
    from meetings import services
    from meetings.models import Participant

    rng = random.Random(18)
    user_model = get_user_model()
    secretary, pm = user_model.objects.get(username="secretary"), user_model.objects.get(username="pm")
    ministries = list(Ministry.objects.order_by("pk"))
    now = timezone.now()
    today = timezone.localdate(now)
    held = []
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"), transaction.atomic():
        for n in range(sessions):
            starts = now - timedelta(days=30 * (n + 1))
            m = services.meeting_create(actor=secretary, title=f"Phiên họp thử tải số {n + 1}", kind="regular",
                                        starts_at=starts, location="Nhà Quốc hội")
            services.participant_add(actor=secretary, meeting=m, username=pm.username, role=Participant.Role.CHAIR)
            items = [services.agenda_item_add(actor=secretary, meeting=m, title=f"Nội dung {i + 1}")
                     for i in range(3)]
            m = services.meeting_publish(actor=secretary, meeting=m)
            m = services.meeting_start(actor=pm, meeting=m)
            m = services.meeting_adjourn(actor=secretary, meeting=m)
            held.append((m, items, starts))
    # state, share: most tasks are finished; a fifth is in progress; some wait or were sent back
    states = (["accepted"] * 45 + ["in_progress"] * 20 + ["assigned"] * 12 + ["reported_done"] * 8
              + ["returned"] * 5 + ["cancelled"] * 5 + ["regular"] * 5)
    per_session = -(-count // sessions)
    if per_session > 500:
        raise ValueError(f"{count} tasks over {sessions} sessions is over TASKS_PER_SESSION_MAX")
    rows = []
    for i in range(count):
        m, items, starts = held[i // per_session]
        state = states[rng.randrange(len(states))]
        regular = state == "regular"
        state = rng.choice(["assigned", "in_progress"]) if regular else state
        deadline = None if regular else today + timedelta(days=rng.randint(-3 * 365, 365))
        created = min(starts + timedelta(hours=3), now)
        reported = closed = None
        if state in ("reported_done", "accepted", "returned"):
            done = deadline + timedelta(days=rng.randint(-30, 10 if rng.random() < 0.8 else 60))
            reported = min(timezone.make_aware(datetime.combine(done, time(10))), now)
        if state == "accepted":
            closed = min(reported + timedelta(days=rng.randint(0, 10)), now)
        if state == "cancelled":
            closed = now
        rows.append(Task(meeting=m, source_kind="agenda_item", agenda_item=items[i % 3],
                         title=f"Nhiệm vụ thử tải {i + 1}: hoàn thiện dự thảo và báo cáo Chính phủ",
                         lead_ministry=ministries[rng.randrange(len(ministries))], regular=regular, deadline=deadline,
                         priority=rng.choice(["normal", "normal", "high", "urgent"]), state=state, created_by=secretary,
                         created_at=created, reported_at=reported, closed_at=closed))
    with transaction.atomic():
        made = Task.objects.bulk_create(rows, batch_size=2000)
        through = Task.co_ministries.through
        links = []
        for task in made[::3]:
            for ministry in rng.sample(ministries, 2):
                if ministry.pk != task.lead_ministry_id:
                    links.append(through(task_id=task.pk, ministry_id=ministry.pk))
        through.objects.bulk_create(links, batch_size=5000)
    sample = ministries[0].code
    overdue = Task.objects.filter(regular=False, deadline__lt=today,
                                  state__in=["assigned", "in_progress", "returned"]).count()
    return {"tasks": Task.objects.count(), "sessions": sessions, "co_links": len(links), "overdue": overdue,
            "ministry": sample, "meeting": held[0][0].pk}


def minutes(**args) -> dict:
    from . import minutes as suite

    return suite.measure(**args)


def reader() -> dict:
    from . import reader as suite

    return suite.prepare()


OPS = {"reader": reader, "members": members, "tokens": tokens, "sessions": sessions, "meeting": meeting, "head": head,
       "queries": queries, "votes": votes, "minutes": minutes, "tasks": tasks}


def main(argv: list[str]) -> None:
    op, args_path, out_path = argv
    with open(args_path, encoding="utf-8") as f:
        args = json.load(f)
    _setup()
    result = OPS[op](**args) if isinstance(args, dict) else OPS[op](*args)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1:])

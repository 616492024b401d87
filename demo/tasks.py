"""The demo's decision follow-up tasks: what last month's closed session assigned, a month on.

Thirteen tasks across eleven ministries, from the session's agenda items, its motion, its resolution
and the closed written ballot on the draft resolution, in every state: assigned, in progress,
reported done, accepted (on time and late), returned, cancelled, extended, regular — and four
overdue. Each lead ministry has its minister among the demo accounts (``member10``…``member26``),
so a minister signing in sees their ministry's tasks. The Ministry of Justice (``btp``) leads and
co-operates on nothing: ``outsider`` works there and stays invited to nothing.

Everything goes through ``followup.services``, as the screens and the API do. The tasks are dated
in the past (assigned the day after the session, started, reported, returned, accepted, extended)
by running the services under a replaced clock (``followup.services.current_time``, the clock
tests replace too); then one round of the tasks' scheduler at the real time sends the overdue
notices and the reminders, exactly as ``task_reminders`` would.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.utils import timezone

from ecabinet import pdf
from followup import reports, schedule
from followup import services as task_services
from followup.models import Task

from .cast import ACCOUNTS

__all__ = ["REPORTS", "TaskSpec", "add_reports", "build_tasks", "load_tasks"]


@dataclass(frozen=True)
class TaskSpec:
    source: str  # "item:<position index>", "motion", "resolution" or "ballot"
    title: str
    lead: str  # ministry code
    assigned_at: dt.datetime
    deadline: dt.date | None  # None: a regular task
    co: tuple[str, ...] = ()
    priority: str = "normal"
    description: str = ""
    # (action, when, text): start / report (text: the note) / accept / return / extend (text: the
    # reason; the new deadline is ``extended_to``) / cancel (text: the reason)
    steps: tuple[tuple[str, dt.datetime, str], ...] = ()
    extended_to: dt.date | None = None


def _minister(code: str) -> str:
    """The demo member who heads the ministry ``code``."""
    return next(a.username for a in ACCOUNTS if a.ministry == code and a.username.startswith("member")
                and a.position.startswith(("Bộ trưởng", "Thống đốc", "Tổng Thanh tra")))


def build_tasks(now: dt.datetime, session_day: dt.date, ballot_closed: dt.datetime) -> tuple[TaskSpec, ...]:
    """The demo tasks, dated relative to ``now`` (aware, local), the closed session's day and the
    closed ballot's deadline."""
    tz = now.tzinfo
    today = now.date()

    def d(days: int, hour: int = 9) -> dt.datetime:  # a moment after the session
        return dt.datetime.combine(session_day + dt.timedelta(days=days), dt.time(hour), tzinfo=tz)

    def t(days: int, hour: int = 9) -> dt.datetime:  # a moment before today
        return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), tzinfo=tz)

    def day(days: int) -> dt.date:
        return session_day + dt.timedelta(days=days)

    def ahead(days: int) -> dt.date:
        return today + dt.timedelta(days=days)

    after_ballot = dt.datetime.combine(ballot_closed.date() + dt.timedelta(days=1), dt.time(9), tzinfo=tz)
    return (
        # From the agenda item on the economy (item 0): overdue, in progress.
        TaskSpec("item:0", "Chủ trì, phối hợp với Ngân hàng Nhà nước điều hành chính sách tài khóa chủ động, "
                 "phối hợp chặt chẽ với chính sách tiền tệ; báo cáo Chính phủ kết quả thu, chi ngân sách",
                 "btc", d(1), day(20), co=("nhnn",), priority="high",
                 description="Theo kết luận của Thủ tướng Chính phủ tại phiên họp.",
                 steps=(("start", d(3), ""),)),
        # Overdue, never started.
        TaskSpec("item:0", "Báo cáo giải pháp thúc đẩy xuất khẩu, mở rộng thị trường cho hàng nông sản",
                 "bct", d(1), day(25), co=("bnnmt",)),
        # Reported, returned for missing figures, overdue.
        TaskSpec("item:0", "Đẩy nhanh giải ngân vốn đầu tư công các dự án giao thông trọng điểm; báo cáo tiến độ "
                 "từng dự án", "bxd", d(1), day(15), co=("btc",), priority="urgent",
                 steps=(("start", d(2), ""), ("report", d(12), "Đã gửi báo cáo tiến độ 12 dự án."),
                        ("return", d(14), "Thiếu số liệu giải ngân của 3 dự án đường bộ cao tốc; đề nghị bổ sung."))),
        # Accepted on time.
        TaskSpec("item:0", "Triển khai phương án phòng, chống bão, lũ cuối năm; bảo đảm an toàn hồ đập",
                 "bnnmt", d(1), day(10), priority="high",
                 steps=(("start", d(2), ""), ("report", d(8), "Đã ban hành công điện và kiểm tra 45 hồ đập."),
                        ("accept", d(9), ""))),
        # Accepted, reported after its deadline.
        TaskSpec("item:0", "Bảo đảm cung ứng đủ thuốc, vật tư y tế cho các cơ sở khám, chữa bệnh", "byt", d(1),
                 day(14), steps=(("start", d(3), ""), ("report", d(18), "Đã hoàn thành đấu thầu tập trung quốc gia."),
                                 ("accept", d(19), ""))),
        # Regular (no deadline), in progress.
        TaskSpec("item:0", "Theo dõi sát diễn biến giá cả thị trường, bảo đảm cung cầu các mặt hàng thiết yếu",
                 "bct", d(1), None, co=("btc",), steps=(("start", d(2), ""),)),
        # Overdue, in progress.
        TaskSpec("item:0", "Chuẩn bị nội dung Hội nghị ngoại giao kinh tế với các cơ quan đại diện ở nước ngoài",
                 "bng", d(1), day(24), steps=(("start", d(4), ""),)),
        # From the motion (the session's resolution adopted by vote): in progress, due later.
        TaskSpec("motion", "Hướng dẫn các địa phương triển khai Nghị quyết phiên họp về điều hành ngân sách",
                 "btc", d(1), ahead(25), steps=(("start", d(5), ""),)),
        # From the resolution: extended (still in progress, not overdue).
        TaskSpec("resolution", "Trình Chính phủ dự thảo Nghị định về vị trí việc làm công chức", "bnv", d(1), day(28),
                 co=("vpcp",), steps=(("start", d(3), ""),
                                      ("extend", t(-4), "Chờ ý kiến thẩm định của Hội đồng thẩm định liên ngành.")),
                 extended_to=ahead(20)),
        # Reported done, waiting for the secretariat.
        TaskSpec("resolution", "Tăng cường bảo đảm an ninh mạng cho các hệ thống thông tin của Chính phủ", "bca",
                 d(1), ahead(5), priority="high",
                 steps=(("start", d(2), ""), ("report", t(-1), "Đã rà soát, vá lỗ hổng trên 27 hệ thống."))),
        # Assigned, due within a week (the scheduler reminds the ministry).
        TaskSpec("resolution", "Báo cáo Thủ tướng Chính phủ phương án điều hành lãi suất, tỷ giá quý tới", "nhnn",
                 d(1), ahead(6), co=("btc",)),
        # Cancelled.
        TaskSpec("resolution", "Xây dựng Đề án số hóa hồ sơ phiên họp Chính phủ giai đoạn 2", "bkhcn", d(1), day(40),
                 steps=(("cancel", d(10), "Đã lồng ghép vào Đề án chuyển đổi số của Văn phòng Chính phủ."),)),
        # From the closed written ballot on the draft resolution: accepted on time.
        TaskSpec("ballot", "Tiếp thu ý kiến thành viên Chính phủ, hoàn thiện dự thảo Nghị quyết, trình Thủ tướng "
                 "Chính phủ ký ban hành", "vpcp", after_ballot, after_ballot.date() + dt.timedelta(days=6),
                 steps=(("start", after_ballot, ""),
                        ("report", after_ballot + dt.timedelta(days=1), "Đã trình Thủ tướng Chính phủ ký."),
                        ("accept", after_ballot + dt.timedelta(days=1, hours=4), ""))),
    )


@contextmanager
def _clock(at: dt.datetime):
    with mock.patch.object(task_services, "current_time", lambda: at):
        yield


def _source(spec: TaskSpec, meeting, motion, ballot) -> tuple[str, int]:
    if spec.source.startswith("item:"):
        item = meeting.agenda_items.order_by("position")[int(spec.source.split(":")[1])]
        return "agenda_item", item.pk
    if spec.source == "motion":
        return "motion", motion.pk
    if spec.source == "resolution":
        return "resolution", meeting.pk
    return "ballot", ballot.pk


def load_tasks(specs: tuple[TaskSpec, ...], *, users: dict, meeting, motion, ballot) -> list[Task]:
    """Create the demo tasks and walk each through its steps, then run one round of the scheduler."""
    secretary = users["secretary"]
    created = []
    for spec in specs:
        kind, source_id = _source(spec, meeting, motion, ballot)
        with _clock(spec.assigned_at):
            task = task_services.task_create(actor=secretary, source_kind=kind, source_id=source_id, title=spec.title,
                                             description=spec.description, lead_ministry=spec.lead,
                                             co_ministries=list(spec.co), deadline=spec.deadline,
                                             regular=spec.deadline is None, priority=spec.priority)
        lead = users[_minister(spec.lead)]
        for action, at, text in spec.steps:
            with _clock(at):
                if action == "start":
                    task_services.task_start(actor=lead, task=task)
                elif action == "report":
                    task_services.task_report(actor=lead, task=task, note=text)
                elif action == "accept":
                    task_services.task_accept(actor=secretary, task=task)
                elif action == "return":
                    task_services.task_return(actor=secretary, task=task, reason=text)
                elif action == "extend":
                    task_services.task_extend(actor=secretary, task=task, deadline=spec.extended_to, reason=text)
                elif action == "cancel":
                    task_services.task_cancel(actor=secretary, task=task, reason=text)
        task.refresh_from_db()
        created.append(task)
    schedule.tasks_run_schedule(timezone.now())  # as ``task_reminders`` would, at the real time
    return created


# Progress reports the lead ministries posted on two tasks still in progress (title's start → report):
# (text, days before today, the attached report's context or None)
REPORTS = {
    "Chuẩn bị nội dung Hội nghị ngoại giao kinh tế": (
        "Đã hoàn thành dự thảo chương trình Hội nghị và gửi lấy ý kiến 94 cơ quan đại diện; đang tổng hợp "
        "ý kiến, dự kiến trình Thủ tướng Chính phủ trong tuần tới.", 3, {
            "issuer_name": "BỘ NGOẠI GIAO", "issuer_short": "Bộ Ngoại giao", "number": "412/BC-BNG",
            "kind_label": "Báo cáo",
            "subject_line": "Tiến độ chuẩn bị Hội nghị ngoại giao kinh tế với các cơ quan đại diện ở nước ngoài",
            "done": ["Xây dựng dự thảo chương trình, thành phần Hội nghị.",
                     "Gửi lấy ý kiến 94 cơ quan đại diện Việt Nam ở nước ngoài; đã nhận 71 ý kiến.",
                     "Phối hợp với Bộ Công Thương chuẩn bị danh mục sản phẩm xúc tiến xuất khẩu."],
            "difficulty": "Một số cơ quan đại diện ở khu vực châu Phi, Trung Đông chưa gửi ý kiến do lệch "
                          "múi giờ và khối lượng công việc cuối năm.",
            "proposal": "Kính đề nghị Thủ tướng Chính phủ cho phép lùi thời điểm tổ chức Hội nghị sang tuần "
                        "thứ hai của tháng tới để bảo đảm chất lượng.",
            "distribution": ["Thủ tướng Chính phủ (để b/c)", "Văn phòng Chính phủ", "Lưu: VT, KTĐN"],
            "signer_title": ["BỘ TRƯỞNG"], "signer_name": "Bộ trưởng Bộ Ngoại giao"}),
    "Hướng dẫn các địa phương triển khai Nghị quyết phiên họp": (
        "Đã ban hành Công văn hướng dẫn số 1187/BTC-NSNN gửi 34 tỉnh, thành phố; đang theo dõi việc triển "
        "khai tại địa phương.", 1, None),
}


def _report_pdf(context: dict, day: dt.date) -> SimpleUploadedFile:
    html = render_to_string("demo/bao_cao_tien_do_nhiem_vu.html",
                            {**context, "place_date": pdf.vn_date(day)})
    return SimpleUploadedFile("bao-cao-tien-do.pdf", pdf.layout(html).write_pdf(), content_type="application/pdf")


def add_reports(tasks: list[Task], *, users: dict, now: dt.datetime) -> int:
    """The lead ministries' progress reports (``REPORTS``), through ``followup.reports`` — outside any
    transaction: the attached PDFs are rendered and admitted like any upload. Returns how many."""
    posted = 0
    for task in tasks:
        spec = next((v for k, v in REPORTS.items() if task.title.startswith(k)), None)
        if spec is None or task.reports.exists():
            continue
        text, days_ago, context = spec
        at = now - dt.timedelta(days=days_ago)
        files = [_report_pdf(context, timezone.localtime(at).date())] if context else []
        lead = users[_minister(task.lead_ministry.code)]
        with _clock(at):
            reports.task_report_progress(actor=lead, task=task, text=text, files=files)
        posted += 1
    return posted

"""What the demo sessions contain: pure data, worked out from one clock reading.

Three sessions: a regular session published for a few days from now (six agenda items, real
drafts, one restricted report, one decree in two versions), a thematic session still in draft,
and last month's regular session, held and closed (so archivists have a record to read).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ecabinet.pdf import vn_date

__all__ = ["LOCATION", "RESTRICTED_RECIPIENTS", "DocumentSpec", "Draft", "ItemSpec", "SessionSpec", "build_plan"]

LOCATION = "Trụ sở Chính phủ, số 1 Hoàng Hoa Thám, Hà Nội"
RESTRICTED_RECIPIENTS = ("pm", "member01", "member11", "member15", "member25")


@dataclass(frozen=True)
class Draft:
    """One PDF to render: a template of ``templates/demo/`` and its context (hashable, for the cache)."""

    template: str
    context: tuple[tuple[str, object], ...]

    @property
    def filename(self) -> str:
        return self.template.rsplit("/", 1)[-1].replace(".html", ".pdf")


@dataclass(frozen=True)
class DocumentSpec:
    title: str
    classification: str
    draft: Draft
    recipients: tuple[str, ...] = ()
    # A second version, uploaded after publication, once ``read_first`` have opened the first.
    new_version: Draft | None = None
    version_note: str = ""
    read_first: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemSpec:
    title: str
    presenter: str  # ministry code
    minutes: int
    description: str = ""
    documents: tuple[DocumentSpec, ...] = ()


@dataclass(frozen=True)
class SessionSpec:
    title: str
    kind: str
    starts_at: dt.datetime
    status: str  # the state to walk the session to: draft, published or closed
    items: tuple[ItemSpec, ...]
    observers: tuple[str, ...] = ()
    # username → (attendance, reason), recorded by the secretary while the session runs.
    attendance: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Members who confirm (or send apologies) themselves after publication.
    replies: dict[str, tuple[str, str]] = field(default_factory=dict)


def _weekday_at(day: dt.date, tz, *, forward: bool = True) -> dt.datetime:
    step = dt.timedelta(days=1 if forward else -1)
    while day.weekday() >= 5:
        day += step
    return dt.datetime.combine(day, dt.time(8, 30), tzinfo=tz)


def _undated(day: dt.date) -> str:
    """A draft's date line: the day is left blank for the signer to fill in."""
    return vn_date(day).replace(f"ngày {day.day:02d}", "ngày      ")


def _draft(template: str, **context) -> Draft:
    return Draft(f"demo/{template}", tuple(sorted(context.items())))


_TO_GOV = ("Thủ tướng, các Phó Thủ tướng Chính phủ;", "Các thành viên Chính phủ;", "Văn phòng Chính phủ;",
           "Lưu: VT.")


def _header(issuer: str, number: str, place_date: str, *, parent: str = "", draft_label: str = "",
            distribution=_TO_GOV, signer_title=(), signer_name: str = "", subject: str = "",
            restricted: bool = False) -> dict:
    return {
        "issuer_name": issuer, "parent_issuer": parent, "number": number, "number_subject": subject,
        "place_date": place_date, "draft_label": draft_label, "distribution": tuple(distribution),
        "signer_title": tuple(signer_title), "signer_name": signer_name,
        "restricted_label": "Tài liệu hạn chế — chỉ gửi người nhận được chỉ định" if restricted else "",
    }


_INDICATORS = (
    ("Các chỉ tiêu tổng hợp", (
        ("Chỉ số giá tiêu dùng bình quân", "%", "3,18", "—"),
        ("Lạm phát cơ bản bình quân", "%", "3,02", "—"),
        ("Thu ngân sách nhà nước", "nghìn tỷ đồng", "2.014,6", "111,4"),
        ("Chi ngân sách nhà nước", "nghìn tỷ đồng", "1.786,2", "109,7"),
        ("Giải ngân vốn đầu tư công so với kế hoạch", "%", "68,4", "—"),
        ("Vốn đầu tư toàn xã hội", "nghìn tỷ đồng", "3.192,8", "111,9"),
    )),
    ("Sản xuất và thương mại", (
        ("Chỉ số sản xuất công nghiệp", "%", "108,9", "—"),
        ("Sản lượng lúa", "triệu tấn", "39,8", "100,6"),
        ("Sản lượng thủy sản", "triệu tấn", "8,6", "102,9"),
        ("Tổng mức bán lẻ hàng hóa, dịch vụ", "nghìn tỷ đồng", "6.214,5", "109,3"),
        ("Kim ngạch xuất khẩu", "tỷ USD", "381,9", "114,8"),
        ("Kim ngạch nhập khẩu", "tỷ USD", "360,6", "113,6"),
        ("Cán cân thương mại", "tỷ USD", "21,3", "—"),
        ("Vận chuyển hành khách", "triệu lượt", "4.618,0", "108,2"),
        ("Khách quốc tế đến Việt Nam", "triệu lượt", "19,6", "118,2"),
    )),
    ("Doanh nghiệp, đầu tư và xã hội", (
        ("Vốn FDI đăng ký", "tỷ USD", "33,4", "104,3"),
        ("Vốn FDI thực hiện", "tỷ USD", "21,7", "108,1"),
        ("Doanh nghiệp thành lập mới", "nghìn doanh nghiệp", "168,3", "111,5"),
        ("Doanh nghiệp quay trở lại hoạt động", "nghìn doanh nghiệp", "86,1", "106,4"),
        ("Doanh nghiệp rút lui khỏi thị trường", "nghìn doanh nghiệp", "179,7", "104,2"),
        ("Tỷ lệ thất nghiệp trong độ tuổi lao động", "%", "2,22", "—"),
        ("Số lao động có việc làm", "triệu người", "52,1", "100,9"),
        ("Thu nhập bình quân của lao động", "triệu đồng/tháng", "8,4", "108,7"),
        ("Tỷ lệ hồ sơ dịch vụ công trực tuyến toàn trình", "%", "48,7", "—"),
    )),
)


def _regular_session_items(month: int, year: int, report_day: dt.date, meeting_day: dt.date,
                           *, full: bool) -> tuple[ItemSpec, ...]:
    next_month = month % 12 + 1
    report_no = f"{640 + month * 7}/BC-BTC"
    ktxh = ItemSpec(
        f"Tình hình kinh tế - xã hội tháng {month} và {month} tháng năm {year}; nhiệm vụ, giải pháp trọng tâm "
        f"tháng {next_month}", "btc", 60,
        "Bộ Tài chính báo cáo; các thành viên Chính phủ thảo luận, cho ý kiến.",
        (
            DocumentSpec(
                f"Báo cáo tình hình kinh tế - xã hội tháng {month} và {month} tháng năm {year}", "internal",
                _draft("bao_cao_ktxh.html", month=month, year=year, next_month=next_month,
                       doc_title=f"Báo cáo tình hình kinh tế - xã hội tháng {month} năm {year}",
                       **_header("Bộ Tài chính", report_no, vn_date(report_day),
                                 signer_title=("BỘ TRƯỞNG",), signer_name="Đinh Quốc Trung"))),
            DocumentSpec(
                "Phụ lục: Một số chỉ tiêu kinh tế - xã hội chủ yếu", "public",
                _draft("phu_luc_chi_tieu.html", month=month, year=year, report_number=report_no,
                       doc_title="Phụ lục chỉ tiêu kinh tế - xã hội",
                       tables=tuple((f"Bảng {i}. {caption}", rows)
                                    for i, (caption, rows) in enumerate(_INDICATORS, start=1)),
                       **_header("Bộ Tài chính", report_no, vn_date(report_day)))),
        ),
    )
    resolution = ItemSpec(
        f"Dự thảo Nghị quyết phiên họp Chính phủ thường kỳ tháng {month} năm {year}", "vpcp", 15,
        "Văn phòng Chính phủ trình; Chính phủ cho ý kiến để hoàn thiện.",
        (DocumentSpec(
            f"Dự thảo Nghị quyết phiên họp Chính phủ thường kỳ tháng {month} năm {year}", "internal",
            _draft("nghi_quyet_phien_hop.html", month=month, year=year, next_month=next_month,
                   meeting_date=vn_date(meeting_day).split(", ", 1)[1],
                   doc_title=f"Dự thảo Nghị quyết phiên họp tháng {month} năm {year}",
                   **_header("Chính phủ", "     /NQ-CP", _undated(meeting_day), draft_label="DỰ THẢO",
                       distribution=("Ban Bí thư Trung ương Đảng;", "Các bộ, cơ quan ngang bộ;",
                                     "HĐND, UBND các tỉnh, thành phố trực thuộc trung ương;", "Lưu: VT, TH."),
                       signer_title=("TM. CHÍNH PHỦ", "THỦ TƯỚNG"), signer_name="Trần Quốc Vinh"))),),
    )
    if not full:
        return (ktxh, resolution)

    decree_context = dict(
        year=year, next_year=year + 1, doc_title="Dự thảo Nghị định về Hệ thống e-Cabinet",
        **_header("Chính phủ", f"     /{year}/NĐ-CP", f"Hà Nội, ngày      tháng      năm {year}",
                  distribution=("Ban Bí thư Trung ương Đảng;", "Thủ tướng, các Phó Thủ tướng Chính phủ;",
                                "Các bộ, cơ quan ngang bộ, cơ quan thuộc Chính phủ;",
                                "VPCP: BTCN, các PCN, Trợ lý TTg;", "Lưu: VT, TH."),
                  signer_title=("TM. CHÍNH PHỦ", "THỦ TƯỚNG"), signer_name="Trần Quốc Vinh"))
    decree = ItemSpec(
        "Dự thảo Nghị định quy định về Hệ thống thông tin phục vụ họp và xử lý công việc của Chính phủ", "vpcp", 30,
        "Văn phòng Chính phủ trình; Bộ Tư pháp báo cáo thẩm định.",
        (
            DocumentSpec(
                "Tờ trình dự thảo Nghị định về Hệ thống thông tin phục vụ họp và xử lý công việc của Chính phủ",
                "internal",
                _draft("to_trinh_nd_ecabinet.html", year=year, doc_title="Tờ trình dự thảo Nghị định e-Cabinet",
                       **_header("Văn phòng Chính phủ", f"{300 + month}/TTr-VPCP", vn_date(report_day),
                                 signer_title=("BỘ TRƯỞNG, CHỦ NHIỆM",), signer_name="Chu Đức Toàn"))),
            DocumentSpec(
                "Dự thảo Nghị định quy định về Hệ thống thông tin phục vụ họp và xử lý công việc của Chính phủ",
                "internal",
                _draft("nghi_dinh_ecabinet.html", **{**decree_context, "version": 1, "draft_label": "DỰ THẢO 1"}),
                new_version=_draft("nghi_dinh_ecabinet.html",
                                   **{**decree_context, "version": 2, "draft_label": "DỰ THẢO 2"}),
                version_note="Tiếp thu ý kiến thẩm định của Bộ Tư pháp: sửa Điều 5 (quản trị viên không truy cập "
                             "nội dung tài liệu), Điều 6 (tài liệu gửi trước 05 ngày làm việc), Điều 8 (biểu quyết "
                             "kín, tỷ lệ thông qua), bổ sung khoản 3 Điều 10, lùi ngày hiệu lực (Điều 13).",
                read_first=("member01", "member15", "member26"),
            ),
        ),
    )
    law = ItemSpec(
        "Tờ trình dự án Luật Phòng, chống thiên tai (sửa đổi)", "bnnmt", 30,
        "Bộ Nông nghiệp và Môi trường trình; Chính phủ cho ý kiến trước khi trình Quốc hội.",
        (
            DocumentSpec(
                "Tờ trình dự án Luật Phòng, chống thiên tai (sửa đổi)", "internal",
                _draft("to_trinh_luat_thien_tai.html", year=year, next_year=year + 1,
                       doc_title="Tờ trình dự án Luật Phòng, chống thiên tai (sửa đổi)",
                       **_header("Bộ Nông nghiệp và Môi trường", f"{1150 + month}/TTr-BNNMT", vn_date(report_day),
                                 signer_title=("BỘ TRƯỞNG",), signer_name="Lâm Thị Ngọc Lan"))),
            DocumentSpec(
                "Dự thảo Luật Phòng, chống thiên tai (sửa đổi)", "public",
                _draft("du_thao_luat_thien_tai.html", next_year=year + 1, law_year=year + 2,
                       doc_title="Dự thảo Luật Phòng, chống thiên tai (sửa đổi)",
                       **_header("Quốc hội", f"     /{year + 1}/QH16", f"Hà Nội, ngày      tháng      năm {year + 1}",
                                 draft_label="DỰ THẢO"))),
        ),
    )
    direction = ItemSpec(
        f"Báo cáo công tác chỉ đạo, điều hành của Chính phủ, Thủ tướng Chính phủ tháng {month}", "vpcp", 20, "",
        (DocumentSpec(
            f"Báo cáo công tác chỉ đạo, điều hành của Chính phủ, Thủ tướng Chính phủ tháng {month} năm {year}",
            "internal",
            _draft("bao_cao_chi_dao.html", month=month, year=year, next_month=next_month,
                   doc_title=f"Báo cáo công tác chỉ đạo, điều hành tháng {month}",
                   **_header("Văn phòng Chính phủ", f"{420 + month}/BC-VPCP", vn_date(report_day),
                             signer_title=("BỘ TRƯỞNG, CHỦ NHIỆM",), signer_name="Chu Đức Toàn"))),),
    )
    inspection = ItemSpec(
        "Báo cáo kết quả thanh tra việc quản lý, sử dụng vốn đầu tư công tại một số dự án trọng điểm", "ttcp", 20,
        "Tài liệu hạn chế: chỉ gửi các thành viên Chính phủ được chỉ định.",
        (DocumentSpec(
            "Báo cáo kết quả thanh tra vốn đầu tư công tại các dự án trọng điểm (tài liệu hạn chế)", "restricted",
            _draft("bao_cao_thanh_tra.html", year=year, doc_title="Báo cáo kết quả thanh tra vốn đầu tư công",
                   **_header("Thanh tra Chính phủ", f"{2100 + month}/BC-TTCP", vn_date(report_day), restricted=True,
                             distribution=("Thủ tướng Chính phủ;", "Phó Thủ tướng Thường trực;",
                                           "Bộ trưởng Bộ Công an;", "Bộ trưởng Bộ Tài chính;", "Lưu: VT."),
                             signer_title=("TỔNG THANH TRA",), signer_name="Lưu Văn Hiếu")),
            recipients=RESTRICTED_RECIPIENTS),),
    )
    return (ktxh, decree, law, direction, inspection, resolution)


def build_plan(now: dt.datetime) -> tuple[SessionSpec, ...]:
    """The three demo sessions, dated relative to ``now`` (an aware datetime in local time)."""
    tz = now.tzinfo
    today = now.date()
    upcoming = _weekday_at(today + dt.timedelta(days=3), tz)
    # 35 days back is always in an earlier month, so the two regular sessions never share a title.
    previous = _weekday_at(upcoming.date() - dt.timedelta(days=35), tz, forward=False)
    thematic = _weekday_at(upcoming.date() + dt.timedelta(days=14), tz)

    published = SessionSpec(
        title=f"Phiên họp Chính phủ thường kỳ tháng {upcoming.month} năm {upcoming.year}",
        kind="regular", starts_at=upcoming, status="published",
        items=_regular_session_items(upcoming.month, upcoming.year, today - dt.timedelta(days=2),
                                     upcoming.date(), full=True),
        observers=("guest",),
        replies={**{f"member{n:02d}": ("confirmed", "") for n in range(1, 9)},
                 "member12": ("absent", "Tháp tùng lãnh đạo cấp cao đi công tác nước ngoài")},
    )
    # The reference scenario (DESIGN.md §1): 21 in the room, 4 remote, 2 absent.
    absent = {"member12": "Đi công tác nước ngoài", "member20": "Bận công tác đột xuất tại địa phương"}
    remote = ("member17", "member21", "member22", "member23")
    attendance = {"pm": ("present", "")}
    for n in range(1, 27):
        username = f"member{n:02d}"
        if username in absent:
            attendance[username] = ("absent", absent[username])
        else:
            attendance[username] = ("remote" if username in remote else "present", "")
    closed = SessionSpec(
        title=f"Phiên họp Chính phủ thường kỳ tháng {previous.month} năm {previous.year}",
        kind="regular", starts_at=previous, status="closed",
        items=_regular_session_items(previous.month, previous.year, previous.date() - dt.timedelta(days=3),
                                     previous.date(), full=False),
        observers=("guest",), attendance=attendance,
    )
    law_item = published.items[2]
    draft = SessionSpec(
        title=f"Phiên họp Chính phủ chuyên đề về xây dựng pháp luật tháng {thematic.month} năm {thematic.year}",
        kind="thematic", starts_at=thematic, status="draft",
        items=(
            ItemSpec("Dự án Luật Phòng, chống thiên tai (sửa đổi) — tiếp thu ý kiến thành viên Chính phủ", "bnnmt", 45,
                     "", (law_item.documents[1],)),
            ItemSpec("Đề nghị xây dựng Nghị định quy định chi tiết Luật Dữ liệu về dữ liệu mở", "bca", 30),
        ),
    )
    return (published, draft, closed)

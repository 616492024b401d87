"""Rendering the minutes, the session resolution and corrections as PDF/A-3b (issue 5, item 3).

* The embedded record (``record.json``) is built first; the HTML is rendered from that record only,
  so what the PDF says and what its machine-readable record says cannot drift apart.
* The same record becomes Akoma Ntoso 3.0 (``record.akn.xml``, ``records.record_akn``), validated
  against the official schema before anything is rendered.
* Both travel in the PDF as PDF/A-3 associated files (``/AF``, relationship ``Data``). The sha256 of
  ``record.json`` is printed on the last page and written to the document's keywords, so a verifier
  can tie the file it extracts to the text that was signed.
* WeasyPrint fetches through ``ecabinet.pdf.StaticFilesOnly``: fonts and CSS from ``static/``, nothing else (no
  network, no ``file:`` outside ``static/``, no ``data:``); a template or user text that points
  elsewhere stops the rendering with an error. User text reaches the templates only as autoescaped
  strings or as HTML cleaned by ``records.minutes.sanitize`` (no attributes, no URLs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from html import escape
from zoneinfo import ZoneInfo

import weasyprint
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ecabinet import pdf
from voting import tally
from voting.permissions import COUNTED_ROLES

from ..record_akn import akoma_ntoso, validate_akoma_ntoso
from ..signing import add_signature_fields

__all__ = ["RECORD_JSON", "RECORD_XML", "Rendered", "record_bytes", "render_document", "result_chart_svg"]

SIGNATURE_FIELDS = {"secretary": "ThuKy", "chair": "ChuToa"}  # role → the PDF signature field it fills
RECORD_JSON = "record.json"
RECORD_XML = "record.akn.xml"
KEYWORD_PREFIX = "ecabinet-record-sha256:"

CHOICE_TEXT = {"yes": "Tán thành", "no": "Không tán thành", "abstain": "Không biểu quyết"}
OUTCOME_TEXT = {
    "adopted": "Thông qua",
    "adopted_by_chairs_casting_vote": "Thông qua (theo ý kiến biểu quyết của Thủ tướng khi số phiếu ngang nhau)",
    "no_quorum": "Không đủ số thành viên tham dự để biểu quyết",
    "not_enough_yes": "Không thông qua (không đủ số thành viên tán thành)",
    "rejected_by_chairs_casting_vote": "Không thông qua (theo ý kiến biểu quyết của Thủ tướng khi số phiếu ngang nhau)",
}
ATTENDANCE_TEXT = {"present": "Có mặt", "remote": "Dự trực tuyến", "absent": "Vắng mặt", "invited": "Không rõ",
                   "confirmed": "Không rõ"}
ROLE_TEXT = {"chair": "Chủ trì", "member": "Thành viên Chính phủ", "substitute": "Dự thay",
             "secretary": "Thư ký", "observer": "Khách mời"}
KIND_TEXT = {"regular": "thường kỳ", "extraordinary": "chuyên đề", "thematic": "chuyên đề"}
LOCAL = ZoneInfo(settings.TIME_ZONE)
# The rules' legal basis as printed in a Vietnamese document, for records frozen before issue 20
# (their results carry no ``citation_vi``). Newer records carry the Vietnamese citation of the version
# in force on the session's date (voting.legal), and that is what is printed: from the record only.
CITATION_VI = {
    "vn-government": "Luật Tổ chức Chính phủ số 76/2015/QH13, Điều 46",
    "simple-majority": "nguyên tắc đa số phiếu tán thành trên tổng số phiếu biểu quyết",
    "absolute-majority": "nguyên tắc quá nửa tổng số thành viên tán thành",
    "two-thirds": "nguyên tắc ít nhất hai phần ba tổng số thành viên tán thành",
}


def citation_vi(rule: str | None, citation: str | None = None, frozen: dict | None = None) -> str:
    """The Vietnamese citation of a result or quorum statement: the one it recorded (``frozen``, a
    result or the quorum dict, key ``citation_vi``), else the table above by rule."""
    if frozen and frozen.get("citation_vi"):
        return frozen["citation_vi"]
    return CITATION_VI.get(rule or "", citation or rule or "—")


class Rendered:
    """A rendered document: the PDF bytes, the sha256 of the record embedded in it, and where each
    signer's stamp goes (``{"secretary": [page, [x1, y1, x2, y2]], …}`` in PDF points)."""

    def __init__(self, pdf: bytes, record_json: bytes, record_xml: bytes, boxes: dict | None = None) -> None:
        self.pdf = pdf
        self.boxes = boxes or {}
        self.record_json = record_json
        self.record_xml = record_xml
        self.record_sha256 = hashlib.sha256(record_json).hexdigest()


def record_bytes(record: dict) -> bytes:
    """Canonical JSON of an embedded record: sorted keys, UTF-8, the same dict → the same bytes."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, indent=2).encode("utf-8")


# --- the pieces the templates use ------------------------------------------------------------


def _local(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LOCAL)


def _time(value: str | None) -> str:
    moment = _local(value)
    return moment.strftime("%H giờ %M") if moment else "—"


def _date_words(value: str | None) -> str:
    moment = _local(value)
    if moment is None:
        return "—"
    return f"ngày {moment.day:02d} tháng {moment.month:02d} năm {moment.year}"


def _needed(result: dict) -> int | None:
    """The smallest number of votes in favour that carries the motion under its rule."""
    preset = tally.PRESETS.get(result.get("rule"))
    if preset is None:
        return None
    base = result["eligible"] if preset.majority_of == "members" else result["yes"] + result["no"]
    exact = base * preset.majority_num / preset.majority_den
    return math.floor(exact) + 1 if preset.majority_strict else math.ceil(exact)


def result_chart_svg(result: dict) -> str:
    """A horizontal bar chart of a motion's result (SVG, no external references), with the line of
    the votes needed under the rule. All numbers are integers from the frozen result."""
    rows = [("Tán thành", result["yes"], "#1f5f3a"), ("Không tán thành", result["no"], "#9b1c1c"),
            ("Không biểu quyết", result["abstain"], "#6b6b6b"),
            ("Không tham gia", max(result["eligible"] - result["yes"] - result["no"] - result["abstain"], 0),
             "#c9c9c9")]
    total = max(result["eligible"], 1)
    width, label_w, bar_w, row_h = 440, 120, 270, 20
    height = row_h * len(rows) + 26
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for index, (label, value, colour) in enumerate(rows):
        y = 4 + index * row_h
        length = round(bar_w * value / total, 1)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="10">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w}" height="{row_h - 6}" fill="#f1f1f1"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{length}" height="{row_h - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 13}" font-size="10">{value}/{result["eligible"]}</text>')
    needed = _needed(result)
    if needed is not None and needed <= result["eligible"]:
        x = round(label_w + bar_w * needed / total, 1)
        bottom = 4 + len(rows) * row_h
        parts.append(f'<line x1="{x}" y1="2" x2="{x}" y2="{bottom}" stroke="#000" stroke-width="1" '
                     'stroke-dasharray="3,2"/>')
        parts.append(f'<text x="{x}" y="{bottom + 14}" text-anchor="middle" font-size="9">'
                     f'cần {needed} phiếu tán thành</text>')
    parts.append("</svg>")
    return "".join(parts)


def _motion_view(motion: dict) -> dict:
    result = motion["result"]
    view = {**motion, "chart": None, "outcome_text": None, "roll": [],
            "citation_vi": citation_vi(motion["rule"], motion["citation"], result)}
    if result:
        view["chart"] = mark_safe(result_chart_svg(result))  # noqa: S308 — built from integers and escaped text
        view["outcome_text"] = OUTCOME_TEXT.get(result["outcome"], result["outcome"])
        view["roll"] = [{**row, "choice_text": CHOICE_TEXT.get(row["choice"], row["choice"])}
                        for row in motion.get("roll_call") or []]
    return view


def _attendance_view(session: dict) -> dict:
    rows = []
    for row in session["attendance"]:
        rows.append({**row, "role_text": ROLE_TEXT.get(row["role"], row["role"]),
                     "attendance_text": ATTENDANCE_TEXT.get(row["attendance"], row["attendance"]),
                     "ministry_name": (row["ministry"] or {}).get("name", "")})
    voting = [r for r in rows if r["role"] in COUNTED_ROLES]
    return {
        "voting": voting,
        "substitutes": [r for r in rows if r["role"] == "substitute"],
        "others": [r for r in rows if r["role"] in ("secretary", "observer")],
        "absent": [r for r in voting if r["attendance"] == "absent"],
    }


def _common(doc: dict, session: dict) -> dict:
    header = session["header"]
    return {
        "doc": doc,
        "session": session,
        "header": header,
        "issuer": settings.MINUTES_ISSUER,
        "issuer_parent": settings.MINUTES_ISSUER_PARENT,
        "kind_text": KIND_TEXT.get(header["kind"], header["kind"]),
        "session_date": _date_words(header["started_at"] or header["starts_at"]),
        "started_time": _time(header["started_at"] or header["starts_at"]),
        "adjourned_time": _time(header["adjourned_at"]),
        "issued_date": _date_words(doc["issued_at"]),
        "quorum_citation": citation_vi(session["quorum"]["rule"], session["quorum"]["citation"], session["quorum"]),
    }


def minutes_context(record: dict) -> dict:
    """Template context for the minutes, from the embedded record only."""
    session, minutes = record["session"], record["minutes"]
    recorded = set(minutes["recorded_comments"])
    items = []
    for item in session["agenda"]:
        items.append({**item,
                      "narrative": mark_safe(minutes["narratives"].get(str(item["id"]), "")),  # noqa: S308 — sanitised
                      "recorded": [c for c in item["comments"] if c["id"] in recorded],
                      "motions": [_motion_view(m) for m in item["motions"]],
                      "speakers": [{**s, "time": _time(s["floor_at"])} for s in item["speakers"]]})
    return {**_common(record["document"], session), "record": record, "items": items,
            "opening": mark_safe(minutes["opening"]),  # noqa: S308 — sanitised on input
            "decisions": minutes["decisions"], "attendance": _attendance_view(session),
            "quorum": session["quorum"], "checkpoint": record["audit_checkpoint"]}


def resolution_context(record: dict) -> dict:
    session = record["session"]
    decisions = [{**d, "citation_vi": citation_vi(d["result"]["rule"], d["result"]["citation"], d["result"])}
                 for d in record["decisions"]]
    return {**_common(record["document"], session), "record": record, "decisions": decisions,
            "checkpoint": record["audit_checkpoint"]}


def correction_context(record: dict) -> dict:
    return {**_common(record["document"], record["session"]), "record": record,
            "corrects": record["corrects"], "body": mark_safe(record["body"]),  # noqa: S308 — sanitised on input
            "checkpoint": record["audit_checkpoint"]}


CONTEXTS = {"minutes": ("minutes/minutes.html", minutes_context),
            "resolution": ("minutes/resolution.html", resolution_context),
            "correction": ("minutes/correction.html", correction_context)}


def render_html(record: dict, record_sha256: str) -> str:
    template, context = CONTEXTS[record["document"]["kind"]]
    return render_to_string(template, {**context(record), "record_sha256": record_sha256,
                                       "keywords": KEYWORD_PREFIX + record_sha256})


def html_to_pdf(html: str, attachments: list[weasyprint.Attachment]) -> tuple[bytes, dict]:
    """PDF/A-3b with ``attachments`` as associated files; fonts embedded; nothing fetched outside static/.
    Also returns where the elements ``id="sig-<role>"`` landed, as stamp boxes in PDF points."""
    document = pdf.layout(html)
    boxes = {}
    for number, page in enumerate(document.pages):
        for anchor, (x1, y1, x2, y2) in page.anchors.items():
            if anchor.startswith("sig-"):  # CSS px from the top left → PDF points from the bottom left
                boxes[anchor[4:]] = [number, [round(x1 * 0.75, 2), round((page.height - y2) * 0.75, 2),
                                              round(x2 * 0.75, 2), round((page.height - y1) * 0.75, 2)]]
    return document.write_pdf(pdf_variant="pdf/a-3b", attachments=attachments, uncompressed_pdf=False), boxes


def render_document(record: dict) -> Rendered:
    """Render ``record`` (minutes, resolution or correction) with its JSON and Akoma Ntoso records
    embedded. Raises ``ValueError`` if the Akoma Ntoso form does not validate."""
    record_json = record_bytes(record)
    record_xml = akoma_ntoso(record)
    errors = validate_akoma_ntoso(record_xml)
    if errors:
        raise ValueError("the Akoma Ntoso record is not valid: " + "; ".join(errors[:3]))
    digest = hashlib.sha256(record_json).hexdigest()
    html = render_html(record, digest)
    moment = _local(record["document"]["issued_at"])
    attachments = [
        weasyprint.Attachment(string=record_json.decode("utf-8"), name=RECORD_JSON, relationship="Data",
                              description="Bản ghi phiên họp dạng máy đọc (JSON)", created=moment, modified=moment),
        weasyprint.Attachment(string=record_xml.decode("utf-8"), name=RECORD_XML, relationship="Data",
                              description="Bản ghi phiên họp theo Akoma Ntoso 3.0 (XML)", created=moment,
                              modified=moment),
    ]
    pdf, boxes = html_to_pdf(html, attachments)
    places = [(SIGNATURE_FIELDS[role], page, tuple(round(v) for v in box)) for role, (page, box) in boxes.items()]
    return Rendered(add_signature_fields(pdf, places) if places else pdf, record_json, record_xml, boxes)

"""The demo's closed session ends as the reference scenario does: minutes drafted, edited, finalised,
signed by ``secretary`` and sealed by ``pm``, and the session resolution signed by ``pm`` — all with
the development PKI (``init_dev_pki``; PIN in DESIGN.md), so the demo signs out of the box."""

from __future__ import annotations

import io

from django.core.management import call_command

from ecabinet.pki import DEMO_PIN
from records.minutes import drafting, sealing

OPENING = ("<p>Thủ tướng Chính phủ chủ trì phiên họp. Văn phòng Chính phủ báo cáo số thành viên dự họp; "
           "phiên họp đủ điều kiện tiến hành.</p>")
NARRATIVE = ("<p>Các thành viên Chính phủ thảo luận, cơ bản thống nhất với nội dung trình. Một số ý kiến đề nghị "
             "<strong>bổ sung đánh giá tác động</strong> đến ngân sách địa phương và làm rõ lộ trình thực hiện.</p>"
             "<ul><li>Bộ Tài chính chủ trì rà soát số liệu;</li><li>Văn phòng Chính phủ tổng hợp ý kiến.</li></ul>")


def seal_minutes(meeting, *, users: dict) -> int:
    """Draft, finalise and sign the minutes and the resolution of ``meeting``; returns how many
    documents were sealed."""
    call_command("init_dev_pki", stdout=io.StringIO())
    secretary, chair = users["secretary"], users["pm"]
    draft, _ = drafting.minutes_generate(actor=secretary, meeting_id=meeting.pk)
    first = str(draft.record["agenda"][0]["id"])
    draft = drafting.minutes_update(actor=secretary, meeting_id=meeting.pk, revision=draft.revision,
                                    changes={"opening": OPENING, "narratives": {first: NARRATIVE}})
    drafting.minutes_comment(actor=users["member01"], meeting_id=meeting.pk,
                             text="Đề nghị ghi rõ thời hạn Bộ Tài chính báo cáo.")
    sealing.minutes_finalize(actor=secretary, meeting_id=meeting.pk, revision=draft.revision)
    sealing.minutes_sign(actor=secretary, meeting_id=meeting.pk, pin=DEMO_PIN)
    sealing.minutes_sign(actor=chair, meeting_id=meeting.pk, pin=DEMO_PIN)
    sealing.resolution_sign(actor=chair, meeting_id=meeting.pk, pin=DEMO_PIN)
    return 2

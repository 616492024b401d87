"""The reference session of DESIGN.md §1 ends with minutes and a resolution signed by ``secretary``
and ``pm`` from the demo PKI (issue 5, "Done means"), through the API only; then the files are
checked with tools that are not ours: poppler's pdfsig, qpdf --check, and the Akoma Ntoso XML
extracted with pikepdf validated against the official schema."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pikepdf
import pytest
from django.core.management import call_command

from records.record_akn import validate_akoma_ntoso

from ..factories import UserFactory
from ..voting.conftest import client_for

PIN = "ecabinet-demo"
HOSTILE = ('<p>Ý kiến <img src="http://203.0.113.9/x.png"><a href="file:///etc/passwd">xem</a>'
           '<script>fetch("http://203.0.113.9")</script><style>@import url(http://203.0.113.9/a.css);</style>'
           '<link rel="stylesheet" href="file:///etc/passwd"></p>')


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def tool(*args: str) -> subprocess.CompletedProcess:
    import os

    if shutil.which(args[0]) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{args[0]} is missing (apt-get install -y poppler-utils qpdf)")
        pytest.skip(f"{args[0]} is not installed: apt-get install -y poppler-utils qpdf")
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.fixture
def reference(db, settings, tmp_path):
    settings.PKI_DIR = tmp_path / "pki"
    settings.SIGNING_TRUST_ROOTS = [settings.PKI_DIR / "ca.pem"]
    secretary = UserFactory(username="secretary", full_name="Trần Thị Thư", is_secretariat=True)
    pm = UserFactory(username="pm", full_name="Lê Minh Quang")
    members = [UserFactory(username=f"member{i:02d}", full_name=f"Thành viên số {i}") for i in range(1, 27)]
    archivist = UserFactory(username="archivist", full_name="Đỗ Thị Lưu", is_archivist=True)
    call_command("init_dev_pki", verbosity=0)
    office, chair = client_for(secretary), client_for(pm)
    meeting = ok(office.post("/api/v1/meetings/", {
        "title": "Phiên họp Chính phủ thường kỳ tháng 11 năm 2026", "kind": "regular",
        "starts_at": "2026-11-02T08:30:00+07:00", "location": "Trụ sở Chính phủ, số 1 Hoàng Hoa Thám"},
        format="json"), 201)["id"]
    for user, role in ((pm, "chair"), *((m, "member") for m in members)):
        ok(office.post(f"/api/v1/meetings/{meeting}/participants/", {"username": user.username, "role": role},
                       format="json"), 201)
    item = ok(office.post(f"/api/v1/meetings/{meeting}/agenda-items/",
                          {"title": "Dự thảo Nghị quyết phiên họp Chính phủ thường kỳ tháng 10"},
                          format="json"), 201)["id"]
    ok(office.post(f"/api/v1/meetings/{meeting}/publish/"))
    ok(office.post(f"/api/v1/meetings/{meeting}/start/"))
    government = [pm, *members]
    for index, user in enumerate(government):
        status = "present" if index < 21 else "remote" if index < 25 else "absent"
        body = {"username": user.username, "status": status}
        if status == "absent":
            body["reason"] = "Đi công tác nước ngoài"
        ok(office.post(f"/api/v1/meetings/{meeting}/attendance/", body, format="json"))
    ok(client_for(members[0]).post(f"/api/v1/agenda-items/{item}/comments/",
                                   {"text": "Đề nghị bổ sung đánh giá tác động.", "visibility": "shared"},
                                   format="json"), 201)
    motion = ok(chair.post(f"/api/v1/agenda-items/{item}/motions/", {
        "title": "Thông qua Nghị quyết phiên họp", "text": "Chính phủ thống nhất thông qua Nghị quyết.",
        "method": "named", "rule": "vn-government"}, format="json"), 201)["id"]
    ok(chair.post(f"/api/v1/motions/{motion}/open/"))
    for user in government[:25]:
        ok(client_for(user).post(f"/api/v1/motions/{motion}/votes/", {"choice": "yes"}, format="json"), 201)
    ok(office.post(f"/api/v1/motions/{motion}/close/"))
    ok(office.post(f"/api/v1/meetings/{meeting}/adjourn/"))
    return {"meeting": meeting, "office": office, "chair": chair, "member": client_for(members[0]),
            "archivist": client_for(archivist), "item": item, "trust": settings.PKI_DIR / "ca.pem"}


def test_the_reference_session_ends_with_signed_minutes_and_resolution(reference, tmp_path):
    m, office, chair, member = reference["meeting"], reference["office"], reference["chair"], reference["member"]
    base = f"/api/v1/meetings/{m}"

    # The Prime Minister signs the session resolution before closing.
    resolution = ok(chair.post(f"{base}/resolution/sign/", {"pin": PIN}, format="json"), 201)
    assert resolution["status"] == "sealed" and [s["signer"] for s in resolution["signatures"]] == ["pm"]

    draft = ok(office.post(f"{base}/minutes/"), 201)
    assert draft["status"] == "draft" and draft["record"]["quorum"]["present"] == 25
    draft = ok(office.patch(f"{base}/minutes/", {"revision": draft["revision"],
                                                 "narratives": {str(reference["item"]): HOSTILE}}, format="json"))
    narrative = draft["narratives"][str(reference["item"])]
    assert "<img" not in narrative and "<script" not in narrative and "http" not in narrative and "<a" not in narrative
    ok(member.post(f"{base}/minutes/comments/", {"text": "Đề nghị ghi rõ thời hạn."}, format="json"), 201)
    draft = ok(office.post(f"{base}/minutes/finalize/", {"revision": draft["revision"]}, format="json"))
    assert draft["status"] == "final" and draft["document"]["status"] == "unsigned"
    assert ok(chair.post(f"{base}/minutes/sign/", {"pin": PIN}, format="json"), 409)["code"] == \
        "secretary_signs_first"
    assert ok(office.post(f"{base}/minutes/sign/", {"pin": "wrong"}, format="json"), 400)["code"] == "wrong_pin"
    partial = ok(office.post(f"{base}/minutes/sign/", {"pin": PIN}, format="json"))
    assert partial["status"] == "partial"
    sealed = ok(chair.post(f"{base}/minutes/sign/", {"pin": PIN}, format="json"))
    assert sealed["status"] == "sealed" and [s["signer"] for s in sealed["signatures"]] == ["secretary", "pm"]

    report = ok(member.get(f"{base}/minutes/verify/"))
    assert report["ok"], report["problems"]
    assert [s["signer"] for s in report["signatures"]] == ["Trần Thị Thư", "Lê Minh Quang"]
    assert report["signatures"][-1]["covers_whole_document"]
    assert report["database"] == {"issued_here": True, "document_id": sealed["id"], "audit_checkpoint_in_chain": True}
    assert ok(member.get(f"{base}/resolution/verify/"))["ok"]

    ok(office.post(f"{base}/close/"))
    for kind in ("minutes", "resolution"):
        response = reference["archivist"].get(f"{base}/{kind}/pdf/")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(response.content)

        pdfsig = tool("pdfsig", str(path))
        assert pdfsig.stdout.count("Signature is Valid.") == (2 if kind == "minutes" else 1), pdfsig.stdout
        assert pdfsig.stdout.rstrip().split("Signature #")[-1].count("Total document signed") == 1
        qpdf = tool("qpdf", "--check", str(path))
        assert qpdf.returncode == 0 and "No syntax or stream encoding errors" in qpdf.stdout, qpdf.stdout

        with pikepdf.open(io.BytesIO(response.content)) as pdf:
            files = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
            assert str(pdf.Root.AF[0].AFRelationship) == "/Data"
            assert "pdfaid:part" in str(pdf.open_metadata())
        assert validate_akoma_ntoso(files["record.akn.xml"]) == []
        record = json.loads(files["record.json"])
        assert record["document"]["kind"] == kind and record["audit_checkpoint"]["seq"] > 0
        if kind == "resolution":
            assert [d["title"] for d in record["decisions"]] == ["Thông qua Nghị quyết phiên họp"]
            assert record["decisions"][0]["result"]["yes"] == 25
            # Dated 2 November 2026: the law in force that day is Law 63/2025/QH15 (voting.legal).
            assert record["decisions"][0]["result"]["rule_version"] == "vn-government@2025-03-01"
            assert "(căn cứ <ref href=\"/akn/vn/act/2025/63-2025-qh15\">Luật Tổ chức Chính phủ số 63/2025/QH15, " \
                   "Điều 25, Điều 26</ref>)" in files["record.akn.xml"].decode()
        else:
            motion = record["session"]["agenda"][0]["motions"][0]
            assert (motion["result"]["yes"], motion["result"]["outcome"]) == (25, "adopted")
            assert "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 25, Điều 26" in motion["citation"]
            assert "76/2015/QH13" not in files["record.json"].decode()
            assert record["session"]["quorum"]["instrument"] == "Luật Tổ chức Chính phủ số 63/2025/QH15"
        akn = files["record.akn.xml"].decode()
        assert "63/2025/QH15" in akn and "/akn/vn/act/2025/63-2025-qh15" in akn and "76/2015" not in akn
        call_command("verify_minutes", str(path), "--trust-root", str(reference["trust"]), verbosity=0)

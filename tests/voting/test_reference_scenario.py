"""The reference session of DESIGN.md §1, through the API only: 27 Government members (the Prime
Minister and 26 members), 21 present in the room, 4 remote, 2 absent with reasons; one resolution
under ``vn-government``; 25 in favour — adopted, citing Law 76/2015/QH13, Article 46 (the law in force on
24 June 2019). The variants just below
the quorum and just below the majority are rejected, each for its own reason."""

from __future__ import annotations

import pytest

from ..factories import UserFactory
from .conftest import client_for


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    return response.json()


def run_session(*, present: int, remote: int, yes: int, no: int = 0, abstain: int = 0,
                chair_votes: str = "yes", starts_at: str = "2019-06-24T08:30:00+07:00") -> tuple[dict, dict]:
    """Build the Government of 27 and run one vote through the API; returns (close answer, result)."""
    secretary = UserFactory(username="secretary", full_name="Trần Thị Thư", is_secretariat=True)
    pm = UserFactory(username="pm", full_name="Phạm Quốc An")
    members = [UserFactory(username=f"member{i:02d}") for i in range(1, 27)]
    office, chair = client_for(secretary), client_for(pm)
    meeting = ok(office.post("/api/v1/meetings/", {
        "title": "Phiên họp Chính phủ thường kỳ tháng 6 năm 2019", "kind": "regular",
        "starts_at": starts_at, "location": "Trụ sở Chính phủ"}, format="json"), 201)["id"]
    for user, role in ((pm, "chair"), *((m, "member") for m in members)):
        ok(office.post(f"/api/v1/meetings/{meeting}/participants/", {"username": user.username, "role": role},
                       format="json"), 201)
    item = ok(office.post(f"/api/v1/meetings/{meeting}/agenda-items/",
                          {"title": "Nghị quyết phiên họp Chính phủ thường kỳ tháng 5"}, format="json"), 201)["id"]
    ok(office.post(f"/api/v1/meetings/{meeting}/publish/"))
    ok(office.post(f"/api/v1/meetings/{meeting}/start/"))
    government = [pm, *members]
    attending = government[:present + remote]
    for index, user in enumerate(government):
        status = "present" if index < present else "remote" if index < present + remote else "absent"
        body = {"username": user.username, "status": status}
        if status == "absent":
            body["reason"] = "Đi công tác nước ngoài"
        ok(office.post(f"/api/v1/meetings/{meeting}/attendance/", body, format="json"))
    motion = ok(chair.post(f"/api/v1/agenda-items/{item}/motions/", {
        "title": "Thông qua Nghị quyết phiên họp", "method": "named", "rule": "vn-government"}, format="json"), 201)
    assert (motion["status"], motion["rule"]) == ("draft", "vn-government")
    ok(chair.post(f"/api/v1/motions/{motion['id']}/open/"))
    # The chair votes first, with ``chair_votes``; the others in order: yes, then no, then abstain.
    others = [u for u in attending if u != pm]
    choices = ["yes"] * (yes - (chair_votes == "yes")) + ["no"] * (no - (chair_votes == "no")) + \
        ["abstain"] * (abstain - (chair_votes == "abstain"))
    for user, choice in [(pm, chair_votes), *zip(others, choices, strict=False)]:
        answer = ok(client_for(user).post(f"/api/v1/motions/{motion['id']}/votes/", {"choice": choice},
                                          format="json"), 201)
        assert answer["choice"] == choice and len(answer["receipt"]) == 32
    closed = ok(office.post(f"/api/v1/motions/{motion['id']}/close/"))
    result = ok(client_for(members[-1]).get(f"/api/v1/motions/{motion['id']}/result/"))
    detail = ok(client_for(members[0]).get(f"/api/v1/meetings/{meeting}/"))
    assert detail["agenda"][0]["motions"] == [{"id": motion["id"], "title": motion["title"], "status": "closed"}]
    return closed, result


def test_it_adopts_the_reference_resolution_with_25_of_27_in_favour(db):
    closed, result = run_session(present=21, remote=4, yes=25)
    assert closed == result
    assert {k: result[k] for k in ("yes", "no", "abstain", "eligible", "present", "quorum_met", "adopted", "rule")} \
        == {"yes": 25, "no": 0, "abstain": 0, "eligible": 27, "present": 25, "quorum_met": True, "adopted": True,
            "rule": "vn-government"}
    assert result["outcome"] == "adopted"
    assert "76/2015/QH13" in result["citation"] and "Điều 46" in result["citation"]
    assert (result["rule_version"], result["instrument"], result["articles"]) == \
        ("vn-government@2016-01-01", "Luật Tổ chức Chính phủ số 76/2015/QH13", "Điều 46")
    assert len(result["roll_call"]) == 25 and {row["choice"] for row in result["roll_call"]} == {"yes"}
    assert "receipt_hash" not in result["roll_call"][0]


@pytest.mark.parametrize(("scenario", "expected"), [
    # 17 of 27 attending: 3 × 17 = 51 < 2 × 27 = 54 — no quorum, whatever the votes.
    ({"present": 14, "remote": 3, "yes": 17}, {"quorum_met": False, "adopted": False, "outcome": "no_quorum"}),
    # 18 of 27 attending is exactly two thirds: quorate; 18 in favour is more than half of 27.
    ({"present": 14, "remote": 4, "yes": 18}, {"quorum_met": True, "adopted": True, "outcome": "adopted"}),
    # 13 in favour: 2 × 13 = 26 is not more than 27 — not enough, though more yes than no.
    ({"present": 21, "remote": 4, "yes": 13, "no": 12},
     {"quorum_met": True, "adopted": False, "outcome": "not_enough_yes"}),
    # 13 against 13: the side the Prime Minister voted with prevails.
    ({"present": 22, "remote": 4, "yes": 13, "no": 13},
     {"quorum_met": True, "adopted": True, "outcome": "adopted_by_chairs_casting_vote"}),
    ({"present": 22, "remote": 4, "yes": 13, "no": 13, "chair_votes": "no"},
     {"quorum_met": True, "adopted": False, "outcome": "rejected_by_chairs_casting_vote"}),
])
def test_it_decides_the_variants_around_the_quorum_and_the_majority(db, scenario, expected):
    _closed, result = run_session(**scenario)
    assert {k: result[k] for k in expected} == expected
    assert result["eligible"] == 27 and result["present"] == scenario["present"] + scenario["remote"]


# Issue 20: the same session on other days cites the law in force on its (local) date.
@pytest.mark.parametrize(("starts_at", "version", "cites"), [
    ("2019-06-24T08:30:00+07:00", "vn-government@2016-01-01", "Luật Tổ chức Chính phủ số 76/2015/QH13, Điều 46"),
    ("2025-02-28T23:30:00+07:00", "vn-government@2016-01-01", "Luật Tổ chức Chính phủ số 76/2015/QH13, Điều 46"),
    # 1 March 2025 at 06:00 in Hà Nội is 28 February in UTC: the local day decides.
    ("2025-03-01T06:00:00+07:00", "vn-government@2025-03-01", "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 25"),
    ("2026-12-07T08:30:00+07:00", "vn-government@2025-03-01", "Luật Tổ chức Chính phủ số 63/2025/QH15, Điều 25"),
])
def test_the_result_cites_the_law_in_force_on_the_sessions_date(db, starts_at, version, cites):
    closed, result = run_session(present=21, remote=4, yes=25, starts_at=starts_at)
    assert closed == result and result["adopted"] is True
    assert result["rule_version"] == version and result["citation"].startswith(cites)
    assert "Điều 45" not in result["citation"]


def test_a_session_before_the_2015_law_took_effect_cannot_vote_under_it(db):
    secretary = UserFactory(username="secretary", is_secretariat=True)
    pm = UserFactory(username="pm")
    office = client_for(secretary)
    meeting = ok(office.post("/api/v1/meetings/", {"title": "Phiên họp năm 2015", "kind": "regular",
                                                   "starts_at": "2015-12-31T08:30:00+07:00"}, format="json"), 201)["id"]
    ok(office.post(f"/api/v1/meetings/{meeting}/participants/", {"username": pm.username, "role": "chair"},
                   format="json"), 201)
    item = ok(office.post(f"/api/v1/meetings/{meeting}/agenda-items/", {"title": "Mục 1"}, format="json"), 201)["id"]
    ok(office.post(f"/api/v1/meetings/{meeting}/publish/"))
    answer = office.post(f"/api/v1/agenda-items/{item}/motions/", {"title": "Biểu quyết", "method": "named",
                                                                   "rule": "vn-government"}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "rule_not_in_force"
    # Another rule, with no statutory date, may still be used that day.
    ok(office.post(f"/api/v1/agenda-items/{item}/motions/", {"title": "Biểu quyết", "method": "named",
                                                             "rule": "simple-majority"}, format="json"), 201)


@pytest.mark.parametrize(("starts_at", "version", "cites"), [
    ("2019-06-24T08:30:00+07:00", "vn-government@2016-01-01", "76/2015/QH13, Điều 46"),
    ("2025-02-28T08:30:00+07:00", "vn-government@2016-01-01", "76/2015/QH13, Điều 46"),
    ("2025-03-01T08:30:00+07:00", "vn-government@2025-03-01", "63/2025/QH15, Điều 25, Điều 26"),
])
def test_the_sessions_voting_rules_list_the_citation_in_force_on_its_date(db, starts_at, version, cites):
    secretary = UserFactory(username="secretary", is_secretariat=True)
    office = client_for(secretary)
    meeting = ok(office.post("/api/v1/meetings/", {"title": "Phiên họp", "kind": "regular", "starts_at": starts_at},
                             format="json"), 201)["id"]
    rules = ok(office.get(f"/api/v1/meetings/{meeting}/voting-rules/"))
    presets = {p["name"]: p for p in rules["presets"]}
    assert presets["vn-government"]["rule_version"] == version and cites in presets["vn-government"]["citation"]
    assert presets["simple-majority"]["rule_version"] == "simple-majority"

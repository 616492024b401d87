from meetings.models import Meeting


def test_it_builds_the_cast_and_publishes(cast):
    cast.set_status(Meeting.Status.PUBLISHED)
    assert cast.meeting.status == "published"
    response = cast.client(cast.member).get(f"/api/v1/meetings/{cast.meeting.pk}/")
    assert response.status_code == 200, response.content
    docs = response.json()["agenda"][0]["documents"]
    assert {d["title"] for d in docs} == {"Thông cáo báo chí", "Tờ trình Chính phủ", "Báo cáo đánh giá tác động"}
    response = cast.client(cast.member2).get(f"/api/v1/meetings/{cast.meeting.pk}/")
    assert len(response.json()["agenda"][0]["documents"]) == 2
    r = cast.client(cast.member).get(f"/api/v1/documents/{cast.restricted_doc.pk}/download/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"

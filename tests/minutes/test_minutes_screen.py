"""The minutes screen, as the secretary, a member, the chair and an archivist use it."""

from __future__ import annotations

from meetings.models import Meeting, Minutes, SealedDocument

PIN = "ecabinet-demo"


def page(client, meeting, query: str = "") -> str:
    response = client.get(f"/meetings/{meeting.pk}/minutes/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_whole_flow_through_the_screen(session, dev_pki, client):
    meeting, item = session.meeting, session.item
    base = f"/meetings/{meeting.pk}/minutes"
    client.force_login(session.member)
    assert 'data-action="generate"' not in page(client, meeting)
    client.force_login(session.secretary)
    assert 'data-action="generate"' in page(client, meeting)
    client.post(f"{base}/generate/")
    minutes = Minutes.objects.get(meeting=meeting)
    html = page(client, meeting)
    assert f'name="narrative_{item.pk}"' in html and 'data-action="finalize"' in html
    response = client.post(f"{base}/save/", {
        "revision": minutes.revision, "number": "12/BB-CP", "place": "Hà Nội", "opening": "Khai mạc phiên họp.",
        f"narrative_{item.pk}": "Các thành viên **thống nhất**.\n\nĐoạn hai.", "decisions": "Quyết định một\n\nHai",
        "recorded": []}, follow=True)
    assert "flash--success" in response.content.decode()
    minutes.refresh_from_db()
    assert minutes.decisions == ["Quyết định một", "Hai"] and minutes.recorded_comments == []
    assert minutes.narratives[str(item.pk)] == "<p>Các thành viên **thống nhất**.</p><p>Đoạn hai.</p>"
    stale = client.post(f"{base}/save/", {"revision": 1, "number": "x", "place": "y"}, follow=True)
    assert 'data-code="stale_revision"' in stale.content.decode()

    client.force_login(session.member)
    html = page(client, meeting)
    assert "Đoạn hai." in html and 'name="narrative_' not in html
    client.post(f"{base}/comment/", {"text": "Đề nghị sửa mục 1."})
    assert "Đề nghị sửa mục 1." in page(client, meeting)

    client.force_login(session.secretary)
    client.post(f"{base}/finalize/", {"revision": minutes.revision})
    assert Minutes.objects.get(pk=minutes.pk).status == "final"
    wrong = client.post(f"{base}/sign/", {"pin": "0000"}, follow=True)
    assert 'data-code="wrong_pin"' in wrong.content.decode()
    client.post(f"{base}/sign/", {"pin": PIN})
    client.force_login(session.pm)
    assert "data-action=\"sign\"" in page(client, meeting)
    client.post(f"{base}/sign/", {"pin": PIN})
    document = SealedDocument.objects.get(kind="minutes")
    assert document.status == "sealed"
    client.post(f"/meetings/{meeting.pk}/resolution/sign/", {"pin": PIN})
    assert SealedDocument.objects.filter(kind="resolution", status="sealed").exists()

    session.set_status(Meeting.Status.CLOSED)
    client.force_login(session.archivist)
    html = page(client, meeting, f"?verify={document.pk}")
    assert 'data-ok="true"' in html and "12/BB-CP" in html
    assert client.get(f"/api/v1/meetings/{meeting.pk}/minutes/pdf/").content.startswith(b"%PDF-")
    client.force_login(session.outsider)
    assert client.get(f"{base}/").status_code == 404


def test_the_archive_package_is_offered_to_the_archivist_and_the_secretariat_only(sealed, client):
    sealed.set_status(Meeting.Status.CLOSED)
    for who, offered in ((sealed.archivist, True), (sealed.secretary, True), (sealed.pm, False),
                         (sealed.member, False)):
        client.force_login(who)
        assert ('data-action="archive"' in page(client, sealed.meeting)) is offered, who.username

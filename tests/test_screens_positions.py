"""The positions table (secretariat and chair) and the chair's consent block on screen."""

from meetings import services
from meetings.models import AgendaItem, Meeting


def test_it_shows_every_members_position_to_the_secretariat_and_chair_only(cast, client):
    cast.set_status(Meeting.Status.PUBLISHED)
    services.position_set(actor=cast.member, item_id=cast.item.pk, value="object", note="Cần làm rõ")
    url = f"/meetings/{cast.meeting.pk}/positions/"
    for user in (cast.secretary, cast.pm):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200
        assert 'data-state="object"' in page.content.decode()
    for user in (cast.member, cast.observer, cast.outsider, cast.admin, cast.archivist):
        client.force_login(user)
        assert client.get(url).status_code == 404, user.username


def test_it_lets_the_chair_take_uncontested_items_together(cast, client):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    quiet = services.agenda_item_add(actor=cast.secretary, meeting=cast.meeting, title="Báo cáo công tác")
    services.position_set(actor=cast.member, item_id=quiet.pk, value="no_objection")
    services.position_set(actor=cast.member, item_id=cast.item.pk, value="wish_to_speak")
    client.force_login(cast.pm)
    page = client.get(f"/meetings/{cast.meeting.pk}/positions/").content.decode()
    assert f'name="items" value="{quiet.pk}"' in page and f'name="items" value="{cast.item.pk}"' not in page
    client.post(f"/meetings/{cast.meeting.pk}/consent-block/", {"items": [quiet.pk]})
    assert AgendaItem.objects.get(pk=quiet.pk).status == "decided"
    # A contested item is refused with a message and nothing changes.
    response = client.post(f"/meetings/{cast.meeting.pk}/consent-block/", {"items": [cast.item.pk]}, follow=True)
    assert 'data-code="items_contested"' in response.content.decode()
    assert AgendaItem.objects.get(pk=cast.item.pk).status == "pending"


def test_it_refuses_the_consent_block_to_the_secretary(cast, client):
    cast.set_status(Meeting.Status.IN_PROGRESS)
    client.force_login(cast.secretary)
    response = client.post(f"/meetings/{cast.meeting.pk}/consent-block/", {"items": [cast.item.pk]}, follow=True)
    assert 'data-code="forbidden"' in response.content.decode()
    assert AgendaItem.objects.get(pk=cast.item.pk).status == "pending"

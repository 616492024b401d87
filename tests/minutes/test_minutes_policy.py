"""The minutes screen's questions (``meetings.records_permissions.minutes_actions``) against a table written
out by hand, and the archive export asking the same rule as the screen's "export" button."""

from __future__ import annotations

import pytest

from ecabinet.errors import Forbidden, NotFound
from meetings import permissions
from meetings.models import Meeting, Minutes
from records import permissions as records_permissions
from records.archive.export import archive_access

PERSONAS = ("pm", "secretary", "member", "observer", "archivist")


def _actions(cast, minutes) -> dict[str, dict]:
    out = {}
    for name in PERSONAS:
        try:
            access = permissions.meeting_access(getattr(cast, name), cast.meeting.pk)
        except NotFound:
            continue
        actions = records_permissions.minutes_actions(access, minutes, None)
        out[name] = {flag for flag, value in vars(actions).items() if value}
    return out


def test_on_a_draft_the_secretariat_edits_and_those_who_sit_comment(drafted):
    minutes = Minutes.objects.get(meeting=drafted.meeting)
    assert _actions(drafted, minutes) == {
        "secretary": {"can_edit", "can_generate", "can_comment", "reads_comments"},
        "pm": {"can_comment", "reads_comments", "can_sign_resolution"},
        "member": {"can_comment", "reads_comments"},
        "observer": set(),
    }


def test_on_sealed_minutes_the_secretariat_corrects_and_the_chair_signs_the_resolution(sealed):
    minutes = Minutes.objects.get(meeting=sealed.meeting)
    assert _actions(sealed, minutes) == {
        "secretary": {"can_correct", "reads_comments"},
        "pm": {"reads_comments", "can_sign_resolution"},
        "member": {"reads_comments"},
        "observer": set(),
    }


@pytest.mark.parametrize("persona", [*PERSONAS, "outsider", "admin"])
def test_the_archive_export_and_the_screen_ask_the_same_rule(sealed, persona):
    sealed.set_status(Meeting.Status.CLOSED)
    user = getattr(sealed, persona)
    try:
        access = permissions.meeting_access(user, sealed.meeting.pk)
    except NotFound:
        with pytest.raises(NotFound):
            archive_access(user, sealed.meeting.pk)
        return
    shown = records_permissions.minutes_actions(access, Minutes.objects.get(meeting=sealed.meeting), None).can_export
    assert shown == (persona in ("secretary", "archivist"))
    if shown:
        assert archive_access(user, sealed.meeting.pk) == sealed.meeting
    else:
        with pytest.raises(Forbidden):
            archive_access(user, sealed.meeting.pk)


def test_the_minutes_notices_reach_only_who_may_open_the_session(cast):
    """An invited substitute whom the chair has not approved cannot open the session: the minutes'
    notices (draft ready, sealed) must not send them its title and link."""
    from meetings import services
    from meetings.models import Participant
    from tests.factories import UserFactory

    UserFactory(username="member03", full_name="Lê Văn Ba")
    UserFactory(username="deputy01", full_name="Đỗ Thị Phó")
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="member03",
                             role=Participant.Role.MEMBER)
    services.participant_add(actor=cast.secretary, meeting=cast.meeting, username="deputy01",
                             role=Participant.Role.SUBSTITUTE, substitute_for="member03")
    cast.set_status(Meeting.Status.PUBLISHED)
    readers = {u.username for u in records_permissions.minutes_readers(cast.meeting)}
    commenters = {u.username for u in records_permissions.minutes_readers(cast.meeting, commenters=True)}
    assert readers == {"pm", "secretary", "member01", "member02", "member03", "guest"}
    assert commenters == readers - {"guest"}
    services.substitute_approve(actor=cast.pm, meeting=cast.meeting, username="deputy01")
    assert "deputy01" in {u.username for u in records_permissions.minutes_readers(cast.meeting, commenters=True)}


def test_the_draft_notice_goes_to_the_commenters_but_its_author(drafted):
    from ecabinet.models import Notification

    told = set(Notification.objects.filter(kind="minutes.draft").values_list("user__username", flat=True))
    readers = records_permissions.minutes_readers(drafted.meeting, commenters=True)
    expected = {u.username for u in readers} - {"secretary"}
    assert told == expected and "guest" not in told and told


def test_a_corrections_sign_form_is_shown_to_whoever_signs_it_next(sealed):
    """The screen asks ``records_permissions.signs_now`` as the service does: the secretary first, then the chair."""
    from django.test import Client

    from records.minutes import sealing

    from .conftest import PIN

    correction = sealing.correction_create(actor=sealed.secretary, meeting_id=sealed.meeting.pk,
                                           text="Đính chính số liệu ở mục 1.")
    action = f"/meetings/{sealed.meeting.pk}/minutes/corrections/{correction.pk}/sign/"

    def shows_form(user) -> bool:
        client = Client()
        client.force_login(user)
        return f'action="{action}"' in client.get(f"/meetings/{sealed.meeting.pk}/minutes/").content.decode()

    assert (shows_form(sealed.secretary), shows_form(sealed.pm), shows_form(sealed.member)) == (True, False, False)
    sealing.document_sign(actor=sealed.secretary, document=correction, pin=PIN)
    assert (shows_form(sealed.secretary), shows_form(sealed.pm), shows_form(sealed.member)) == (False, True, False)

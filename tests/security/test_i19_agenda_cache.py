"""The agenda list's cache (``{% agenda_list %}``, meetings/templatetags/screens.py; issue 19 second
round), attacked by readers who must not see each other's bytes: a restricted document's recipient
and a member who is not one, a reader who may assign tasks and one who may not, Vietnamese and
English, each opening the same session page right after the other with one shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client
from django.utils import translation

from meetings import selectors
from meetings.models import Meeting
from meetings.permissions import meeting_access

from ..test_screens_i18n import _compiled_messages  # noqa: F401  (compiles the .mo files when stale)

pytestmark = pytest.mark.django_db


def page(user, language: str = "vi") -> str:
    client = Client()
    client.force_login(user)
    if language:
        client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(f"/meetings/{user._meeting}/")
    assert response.status_code == 200
    return response.content.decode()


def agenda_html(html: str) -> str:
    start = html.index('<ol class="agenda">')
    return html[start:html.index("</ol>", start) + 5]


@pytest.fixture
def session(cast, settings):
    settings.LANGUAGE_CODE = "vi"
    cast.set_status(Meeting.Status.IN_PROGRESS)  # held: the secretariat may assign tasks from it
    for user in (cast.member, cast.member2, cast.secretary, cast.pm, cast.observer):
        user._meeting = cast.meeting.pk
    cache.clear()
    return cast


def test_a_restricted_document_never_reaches_a_non_recipient_from_the_cache(session):
    title = session.restricted_doc.title
    first = agenda_html(page(session.member))  # the recipient fills the cache first
    assert title in first
    for other in (session.member2, session.observer, session.pm):
        shown = agenda_html(page(other))
        assert title not in shown, other.username
        assert f'data-document-id="{session.restricted_doc.pk}"' not in shown
    assert session.internal_doc.title not in agenda_html(page(session.observer))  # internal: not for observers
    assert title in agenda_html(page(session.member))


def test_the_assign_links_and_the_language_are_never_shared(session):
    secretary = agenda_html(page(session.secretary))
    assert 'data-assign="agenda_item"' in secretary
    for other in (session.member, session.pm):
        assert 'data-assign=' not in agenda_html(page(other)), other.username
    vi, en = agenda_html(page(session.member2, "vi")), agenda_html(page(session.member2, "en"))
    assert 'aria-label="Documents"' in en and 'aria-label="Documents"' not in vi
    assert agenda_html(page(session.member2, "vi")) == vi


def test_only_the_plain_rows_are_cached_never_objects_whose_repr_hides_their_content(session):
    """The key is the ``repr`` of the rows: complete for ``selectors.agenda_rows``' dataclasses, but a
    model instance's is only its title — two readers of ``selectors.agenda`` (who see different
    documents) would then share one entry. The tag refuses anything but the plain rows."""
    rows = {u.username: selectors.agenda(meeting_access(u, session.meeting.pk)) for u in (session.member,
                                                                                          session.member2)}
    seen = {name: [d.pk for d in items[0].visible_documents] for name, items in rows.items()}
    assert seen["member01"] != seen["member02"]
    template = Template("{% load screens %}{% agenda_list items False %}")
    with translation.override("vi"):
        for items in rows.values():
            with pytest.raises(TypeError, match="agenda_rows"):
                template.render(Context({"items": items}))
        fine = selectors.agenda_rows(meeting_access(session.member, session.meeting.pk))
        assert session.restricted_doc.title in template.render(Context({"items": fine}))


def test_a_row_holding_anything_but_plain_values_is_refused(session):
    """Checked to the last nested value: a model instance slipped into a plain row (say, a ministry)
    is refused as well."""
    from meetings.templatetags.screens import agenda_list

    rows = selectors.agenda_rows(meeting_access(session.member, session.meeting.pk))
    with translation.override("vi"):
        agenda_list(rows, False)
        rows[0].presenter_ministry = session.member.ministry  # a Ministry model instance
        with pytest.raises(TypeError, match="Ministry"):
            agenda_list(rows, False)
        rows[0].presenter_ministry = None
        rows[0].visible_documents[0].current_version = session.public_doc.current_version
        with pytest.raises(TypeError, match="DocumentVersion"):
            agenda_list(rows, False)


def test_the_cache_keeps_no_huge_fragment(session, monkeypatch):
    """Bounded in memory: every reader has entries of their own (read marks), and each first opening
    of a document makes another; a fragment over ``AGENDA_LIST_MAX_BYTES`` is drawn, not kept."""
    from meetings import services as meeting_services
    from meetings.templatetags import screens

    stored = []
    real_set = screens.cache.set
    monkeypatch.setattr(screens.cache, "set", lambda key, value, *a, **k: (stored.append(len(value)),
                                                                          real_set(key, value, *a, **k)))

    def kept() -> int:
        return len(stored)

    monkeypatch.setattr(screens, "AGENDA_LIST_MAX_BYTES", 8 * 1024)
    small = agenda_html(page(session.member))
    assert kept() == 1 and len(small) < 8 * 1024
    meeting_services.agenda_item_add(actor=session.secretary, meeting=session.meeting, title="Mục dài",
                                     description="Dòng dài. " * 1000)  # 10,000 characters, the most allowed
    big = agenda_html(page(session.member))
    assert len(big) > 8 * 1024 and "Dòng dài." in big
    assert kept() == 1  # the small one only
    assert agenda_html(page(session.member)) == big  # drawn again, the same bytes

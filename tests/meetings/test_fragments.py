"""``{% fragment %}`` (meetings/templatetags/screens.py, issue 19): static parts of the screens drawn
once per process from plain values only; an entry is shared only by callers who would be shown the
same bytes."""

from __future__ import annotations

import pytest
from django.utils import translation

from meetings.templatetags.screens import fragment

OFFLINE = "meetings/_offline_keep.html"
VALUES = {"allowed": True, "reason": None, "reason_text": "", "offline_restricted": False, "compact": False}


def test_a_fragment_is_drawn_from_its_values_and_the_language():
    with translation.override("en"):
        english = fragment(OFFLINE, meeting_pk=7, **VALUES)
        assert 'data-meeting="7"' in english and "Keep this session on the tablet" in english
        assert fragment(OFFLINE, meeting_pk=7, **VALUES) == english
        assert 'data-meeting="8"' in fragment(OFFLINE, meeting_pk=8, **VALUES)
        # True == 1 and they hash alike, but they are not drawn alike: the key holds each value's type
        assert 'data-meeting="True"' in fragment(OFFLINE, meeting_pk=True, **VALUES)
        assert 'data-meeting="1"' in fragment(OFFLINE, meeting_pk=1, **VALUES)
        refused = fragment(OFFLINE, meeting_pk=7, **{**VALUES, "allowed": False, "reason": "x", "reason_text": "No."})
        assert 'data-reason="x"' in refused and "disabled" in refused
    with translation.override("vi"):
        assert fragment(OFFLINE, meeting_pk=7, **VALUES) != english


def test_only_plain_values_are_taken():
    class Meeting:
        pk = 7

    with translation.override("en"), pytest.raises(TypeError, match="Meeting"):
        fragment(OFFLINE, meeting_pk=Meeting(), **VALUES)
    with translation.override("en"), pytest.raises(TypeError, match="list"):
        fragment(OFFLINE, meeting_pk=[7], **VALUES)

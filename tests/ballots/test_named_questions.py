"""The named questions of ``voting/permissions.py`` against a table written out by hand: only an
active member of the secretariat creates and manages ballots — not a member of the Government, the
archivist, the IT administrator or an inactive secretary — and only they hear the notices to the
secretariat (``ballot_managers``)."""

from __future__ import annotations

from voting import permissions

MANAGES = {"secretary": True, "pm": False, "member": False, "nonrecipient": False, "archivist": False,
           "outsider": False, "admin": False}


def test_only_the_secretariat_creates_and_manages_ballots(bcast):
    for name, expected in MANAGES.items():
        user = getattr(bcast, name)
        assert permissions.can_create_ballot(user) == expected, name
        assert permissions.can_manage_ballots(user) == expected, name
    assert set(permissions.ballot_managers()) == {bcast.secretary}
    assert permissions.ballot_access(bcast.secretary, bcast.ballot, bcast.clock.now).can_edit


def test_an_inactive_secretary_manages_nothing(bcast):
    bcast.secretary.is_active = False
    bcast.secretary.save(update_fields=["is_active"])
    assert not permissions.can_create_ballot(bcast.secretary)
    assert not permissions.can_manage_ballots(bcast.secretary)
    assert set(permissions.ballot_managers()) == set()

"""``hotpath.privates``: every private attribute the hot path relies on exists in the installed
Django, Twisted, autobahn, Daphne and Channels; and when one goes, the system check says so
(``hotpath.E001``, an Error: ``ecabinet.asgi`` then refuses to start)."""

from __future__ import annotations

import pytest
from django.core import checks

from hotpath import intake, privates
from hotpath.checks import private_attributes


def test_nothing_the_hot_path_relies_on_is_missing():
    assert [str(p) for p in privates.missing()] == []
    assert private_attributes() == []


def test_the_check_runs_with_the_security_checks_daphne_runs():
    errors = [e for e in checks.run_checks(tags=[checks.Tags.security]) if e.id == "hotpath.E001"]
    assert errors == []
    assert private_attributes in checks.registry.registry.get_checks(include_deployment_checks=False)


# Attributes held by the class (or a base) or the module itself, not only assigned in __init__.
REMOVABLE = [p for p in privates.PRIVATES if p.check is None and hasattr(privates._resolve(p.owner), p.name)]


@pytest.mark.parametrize("private", REMOVABLE, ids=str)
def test_the_check_fires_when_an_attribute_is_gone(private, monkeypatch):
    owner = privates._resolve(private.owner)
    for holder in getattr(owner, "__mro__", (owner,)):
        if private.name in vars(holder):
            monkeypatch.delattr(holder, private.name)
    monkeypatch.setattr(privates, "_source", lambda owner: "")  # nor assigned in any __init__
    assert private in privates.missing()
    errors = [e for e in private_attributes() if str(private) in e.msg]
    assert [(e.id, e.level) for e in errors] == [("hotpath.E001", checks.ERROR)]


def test_an_instance_attribute_no_longer_assigned_counts_as_missing(monkeypatch):
    """``_tempDataBuffer`` exists only once a connection is made: it is found in the source."""
    private = next(p for p in privates.PRIVATES if p.name == "_tempDataBuffer")
    monkeypatch.setattr(privates, "_source", lambda owner: "")
    assert private in privates.missing()


def test_daphne_naming_another_request_class_counts_as_missing(monkeypatch):
    from daphne import http_protocol

    def build(self, addr):  # Daphne building its requests from something else
        return None

    monkeypatch.setattr(http_protocol.HTTPFactory, "buildProtocol", build)
    assert any(p.name == "buildProtocol" for p in privates.missing())


def test_the_intake_and_the_view_bound_the_key_alike():
    from ecabinet.api import idempotency

    assert intake.MAX_KEY_LENGTH == idempotency.MAX_KEY_LENGTH

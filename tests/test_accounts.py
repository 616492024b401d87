"""Account changes are audited service writes, and the administrator cannot give themselves a
content duty (issue 15 point 4; ``ecabinet.accounts``, ``ecabinet.permissions``).

The cast's ``admin`` is the IT administrator (superuser, staff); ``admin2`` is a second one, the
"another administrator" the rules ask for.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ecabinet import accounts
from ecabinet.errors import Forbidden, ValidationFailed
from ecabinet.models import AuditEntry, User
from ecabinet.permissions import duties_conflict

from .factories import MinistryFactory, UserFactory

PASSWORD = "Tam-dao-2026-mua-thu"


@pytest.fixture
def admin2(db):
    return UserFactory(username="admin2", full_name="Quản Trị Viên Hai", is_superuser=True, is_staff=True)


def stored(user) -> dict:
    return User.objects.filter(pk=user.pk).values().get()


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the rule, as a table --------------------------------------------------------------------------

@pytest.mark.parametrize(("flags", "conflict"), [
    ({}, False),
    ({"is_superuser": True, "is_staff": True}, False),
    ({"is_secretariat": True, "is_archivist": True, "is_member": True}, False),
    ({"is_staff": True, "is_secretariat": True}, True),
    ({"is_superuser": True, "is_archivist": True}, True),
    ({"is_staff": True, "is_member": True}, True),
    ({"is_superuser": False, "is_staff": False, "is_secretariat": True}, False),
])
def test_administrator_powers_and_content_duties_never_go_together(flags, conflict):
    assert duties_conflict(flags) is conflict


# --- the services ----------------------------------------------------------------------------------

def test_it_creates_an_account_with_an_audit_entry_naming_the_administrator(cast):
    ministry = MinistryFactory(code="btp")
    account = accounts.account_create(actor=cast.admin, username="member27", full_name="Ninh Văn Bảy",
                                      email="member27@example.gov.vn", password=PASSWORD, ministry=ministry,
                                      is_member=True)
    assert account.check_password(PASSWORD) and account.is_member
    [entry] = entries("account.created")
    assert (entry.actor_id, entry.object_id) == (cast.admin.pk, str(account.pk))
    assert entry.data["after"]["is_member"] is True and entry.data["after"]["ministry"] == "btp"
    assert PASSWORD not in json.dumps(entry.data) and account.password not in json.dumps(entry.data)


def test_it_refuses_to_create_an_administrator_with_a_content_duty(cast):
    with pytest.raises(ValidationFailed) as refused:
        accounts.account_create(actor=cast.admin, username="it2", full_name="Kỹ thuật viên", password=PASSWORD,
                                is_staff=True, is_archivist=True)
    assert refused.value.code == "duties_incompatible"
    assert not User.objects.filter(username="it2").exists() and not entries("account.created")


def test_it_refuses_a_weak_password_and_a_taken_username(cast):
    with pytest.raises(ValidationFailed) as weak:
        accounts.account_create(actor=cast.admin, username="newbie", full_name="Người Mới", password="123")
    with pytest.raises(ValidationFailed) as taken:
        accounts.account_create(actor=cast.admin, username="member01", full_name="Trùng Tên", password=PASSWORD)
    assert (weak.value.code, taken.value.code) == ("weak_password", "invalid_account")
    assert not User.objects.filter(username="newbie").exists() and not entries("account.created")


@pytest.mark.parametrize("duty", ["is_secretariat", "is_archivist", "is_member"])
def test_the_administrator_cannot_give_themselves_a_content_duty(cast, duty):
    before = stored(cast.admin)
    with pytest.raises(Forbidden) as refused:
        accounts.account_set_duties(actor=cast.admin, user=cast.admin, **{duty: True})
    assert refused.value.code == "own_account"
    assert stored(cast.admin) == before and not entries("account.duties_changed")


@pytest.mark.parametrize("duty", ["is_secretariat", "is_archivist", "is_member"])
def test_another_administrator_cannot_give_an_administrator_a_content_duty(cast, admin2, duty):
    before = stored(cast.admin)
    with pytest.raises(ValidationFailed) as refused:
        accounts.account_set_duties(actor=admin2, user=cast.admin, **{duty: True})
    assert refused.value.code == "duties_incompatible"
    assert stored(cast.admin) == before and not entries("account.duties_changed")


def test_nobody_changes_their_own_powers_ministry_or_activation(cast, admin2):
    for changes in ({"is_superuser": False}, {"is_staff": False}, {"ministry": MinistryFactory(code="khac")}):
        with pytest.raises(Forbidden):
            accounts.account_set_duties(actor=cast.admin, user=cast.admin, **changes)
    with pytest.raises(Forbidden):
        accounts.set_active(actor=cast.admin, user=cast.admin, active=False)
    assert stored(cast.admin)["is_active"] and stored(cast.admin)["is_superuser"]


def test_an_administrator_grants_a_duty_to_someone_else_with_before_and_after_in_the_log(cast):
    accounts.account_set_duties(actor=cast.admin, user=cast.member2, is_archivist=True)
    assert stored(cast.member2)["is_archivist"]
    [entry] = entries("account.duties_changed")
    assert (entry.actor_id, entry.actor_username, entry.object_id) == (cast.admin.pk, "admin", str(cast.member2.pk))
    assert entry.data == {"username": "member02", "before": {"is_archivist": False}, "after": {"is_archivist": True}}


def test_a_secretary_becomes_an_administrator_only_by_leaving_the_secretariat(cast):
    with pytest.raises(ValidationFailed):
        accounts.account_set_duties(actor=cast.admin, user=cast.secretary, is_staff=True)
    assert not stored(cast.secretary)["is_staff"]
    accounts.account_set_duties(actor=cast.admin, user=cast.secretary, is_staff=True, is_secretariat=False)
    assert (stored(cast.secretary)["is_staff"], stored(cast.secretary)["is_secretariat"]) == (True, False)


def test_only_an_active_superuser_changes_accounts(cast):
    staff = UserFactory(username="helpdesk", is_staff=True)
    for actor in (staff, cast.secretary, cast.member):
        with pytest.raises(Forbidden) as refused:
            accounts.account_set_duties(actor=actor, user=cast.member2, is_archivist=True)
        assert refused.value.code == "not_account_administrator"
        with pytest.raises(Forbidden):
            accounts.set_password_by_admin(actor=actor, user=cast.member2, password=PASSWORD)
        with pytest.raises(Forbidden):
            accounts.account_create(actor=actor, username="x1", full_name="X", password=PASSWORD)
    assert not stored(cast.member2)["is_archivist"] and not AuditEntry.objects.filter(action__startswith="account.")


def test_a_deactivation_is_audited_and_ends_sign_in(cast):
    accounts.set_active(actor=cast.admin, user=cast.member2, active=False)
    [entry] = entries("account.deactivated")
    assert entry.actor_id == cast.admin.pk and entry.data["after"] == {"is_active": False}
    assert not Client().login(username="member02", password="pw-for-tests")
    accounts.set_active(actor=cast.admin, user=cast.member2, active=True)
    assert [e.action for e in AuditEntry.objects.filter(action__startswith="account.")] == [
        "account.deactivated", "account.activated"]


def test_a_password_reset_is_audited_without_the_password_and_never_for_oneself(cast):
    accounts.set_password_by_admin(actor=cast.admin, user=cast.member2, password=PASSWORD)
    assert Client().login(username="member02", password=PASSWORD)
    [entry] = entries("account.password_reset")
    assert entry.actor_id == cast.admin.pk and entry.data == {"username": "member02", "usable_password": True}
    with pytest.raises(Forbidden):
        accounts.set_password_by_admin(actor=cast.admin, user=cast.admin, password=PASSWORD)
    with pytest.raises(ValidationFailed):
        accounts.set_password_by_admin(actor=cast.admin, user=cast.member, password="member01")
    assert len(entries("account.password_reset")) == 1


# --- the Django admin goes through them ------------------------------------------------------------

def change_form(user, **changes) -> dict:
    values = {**stored(user), **changes}
    data = {f: values[f] for f in ("username", "full_name", "email", "position")}
    data["ministry"] = values["ministry_id"] or ""
    for flag in ("is_member", "is_secretariat", "is_archivist", "is_staff", "is_superuser", "is_active"):
        if values[flag]:
            data[flag] = "on"
    return data


def test_the_admin_form_refuses_a_self_grant_with_the_reason_shown(cast):
    client = browser(cast.admin)  # signing in sets last_login: before the snapshot
    before = stored(cast.admin)
    url = f"/admin/ecabinet/user/{cast.admin.pk}/change/"
    response = client.post(url, change_form(cast.admin, is_secretariat=True))
    assert response.status_code == 200
    assert "You cannot change your own duties" in response.content.decode()
    assert stored(cast.admin) == before and not AuditEntry.objects.filter(action__startswith="account.")


def test_the_admin_form_refuses_a_content_duty_for_an_administrator(cast, admin2):
    url = f"/admin/ecabinet/user/{cast.admin.pk}/change/"
    response = browser(admin2).post(url, change_form(cast.admin, is_archivist=True))
    assert response.status_code == 200
    assert "cannot also be secretariat, archivist or a Government member" in response.content.decode()
    assert not stored(cast.admin)["is_archivist"]


def test_the_admin_form_writes_through_the_services(cast):
    url = f"/admin/ecabinet/user/{cast.member2.pk}/change/"
    response = browser(cast.admin).post(url, change_form(cast.member2, is_archivist=True, position="Bộ trưởng",
                                                         is_active=False))
    assert response.status_code == 302, response.content.decode()[:2000]
    row = stored(cast.member2)
    assert (row["is_archivist"], row["position"], row["is_active"]) == (True, "Bộ trưởng", False)
    actions = [(e.action, e.actor_id) for e in AuditEntry.objects.filter(action__startswith="account.")]
    assert actions == [("account.updated", cast.admin.pk), ("account.duties_changed", cast.admin.pk),
                       ("account.deactivated", cast.admin.pk)]


def test_the_admin_add_form_creates_through_the_service(cast):
    response = browser(cast.admin).post("/admin/ecabinet/user/add/", {
        "username": "member27", "full_name": "Ninh Văn Bảy", "email": "m27@example.gov.vn",
        "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    account = User.objects.get(username="member27")
    assert account.check_password(PASSWORD) and account.full_name == "Ninh Văn Bảy"
    [entry] = entries("account.created")
    assert entry.actor_id == cast.admin.pk and PASSWORD not in json.dumps(entry.data)


def test_the_admin_password_page_resets_through_the_service_and_not_for_oneself(cast):
    client = browser(cast.admin)
    response = client.post(f"/admin/ecabinet/user/{cast.member2.pk}/password/",
                           {"usable_password": "true", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(pk=cast.member2.pk).check_password(PASSWORD)
    assert [e.actor_id for e in entries("account.password_reset")] == [cast.admin.pk]
    own = client.post(f"/admin/ecabinet/user/{cast.admin.pk}/password/",
                      {"usable_password": "true", "password1": PASSWORD, "password2": PASSWORD})
    assert own.status_code == 200 and "You cannot reset your own password here" in own.content.decode()
    assert not User.objects.get(pk=cast.admin.pk).check_password(PASSWORD)


def test_staff_without_superuser_manage_no_account_and_nobody_deletes_one(cast):
    from django.contrib.auth.models import Permission

    staff = UserFactory(username="helpdesk", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user", "add_user"]))
    client = browser(staff)
    assert client.get("/admin/ecabinet/user/").status_code == 403
    assert client.post(f"/admin/ecabinet/user/{cast.member2.pk}/change/",
                       change_form(cast.member2, is_archivist=True)).status_code == 403
    assert not stored(cast.member2)["is_archivist"]
    assert browser(cast.admin).get(f"/admin/ecabinet/user/{cast.member2.pk}/delete/").status_code == 403


# --- the rule holds everywhere -----------------------------------------------------------------------

def test_the_database_refuses_an_administrator_with_a_content_duty_written_around_the_services(cast):
    from django.db import IntegrityError, transaction

    for duty in ("is_secretariat", "is_archivist", "is_member"):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.filter(pk=cast.admin.pk).update(**{duty: True})
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=cast.archivist.pk).update(is_staff=True)
    assert not stored(cast.admin)["is_secretariat"]


def test_the_demo_cast_obeys_the_separation_of_duties():
    from demo.cast import ACCOUNTS

    assert not [a.username for a in ACCOUNTS if duties_conflict(
        {"is_superuser": a.is_superuser, "is_staff": a.is_superuser, "is_secretariat": a.is_secretariat,
         "is_archivist": a.is_archivist, "is_member": a.is_member})]
    assert [a.username for a in ACCOUNTS if a.is_superuser] == ["admin"]


def test_the_refusals_read_in_vietnamese(cast, admin2):
    from django.utils import translation

    from ecabinet.permissions import own_change_refusal

    with translation.override("vi"):
        assert own_change_refusal(actor=cast.admin, user=cast.admin, changed={"is_archivist"}).startswith(
            "Bạn không thể tự thay đổi nhiệm vụ")
        with pytest.raises(ValidationFailed) as refused:
            accounts.account_set_duties(actor=admin2, user=cast.admin, is_secretariat=True)
        assert str(refused.value).startswith("Tài khoản có quyền quản trị")
        with pytest.raises(Forbidden) as refused:
            accounts.account_set_duties(actor=cast.member, user=cast.member2, is_secretariat=True)
        assert str(refused.value) == "Chỉ quản trị viên mới được thay đổi tài khoản."

"""Secret votes: nothing stored links a member to a choice; receipts still let each voter find their
vote in the published record. Also the receipts of named votes."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection, models

from ecabinet.models import AuditEntry, IdempotencyRecord, User
from meetings.models import Event
from voting import receipts
from voting.models import SecretChoice, Vote
from voting.services import motions, votes

from .conftest import build_room, client_for


def vote(user, motion, choice: str, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client_for(user).post(f"/api/v1/motions/{motion.pk}/votes/", {"choice": choice}, format="json",
                                 **headers)


def test_it_has_no_column_linking_a_secret_choice_to_a_person_or_a_time():
    for field in SecretChoice._meta.get_fields():
        assert not (field.is_relation and field.related_model is User), field.name
        assert not isinstance(field, models.DateField | models.TimeField), field.name
    assert {f.name for f in SecretChoice._meta.get_fields()} == {"id", "motion", "choice", "receipt_hash"}
    assert isinstance(SecretChoice._meta.pk, models.UUIDField)


def test_it_stores_nowhere_who_chose_what_in_a_secret_vote(db):
    room = build_room(members=3)
    motion = room.motion(method="secret")
    answers = {}
    for user, choice in zip(room.voters, ("yes", "no", "yes", "abstain"), strict=True):
        response = vote(user, motion, choice, key=f"secret-{user.username}")
        assert response.status_code == 201, response.content
        answers[user.username] = (choice, response.json())
        assert "choice" not in response.json() and receipts.is_well_formed(response.json()["receipt"])
    rows = list(Vote.objects.filter(motion=motion).values("choice", "receipt_hash"))
    assert rows == [{"choice": "", "receipt_hash": ""}] * 4
    # Not in the idempotency records (neither the answer nor the fingerprint of the body)…
    for record in IdempotencyRecord.objects.filter(key__startswith="secret-"):
        assert "choice" not in record.response and record.response["receipt"] is None
        for choice in ("yes", "no", "abstain"):
            for separators in ((",", ":"), (", ", ": ")):
                digest = hashlib.sha256(f"POST /api/v1/motions/{motion.pk}/votes/".encode())
                digest.update(json.dumps({"choice": choice}, separators=separators).encode())
                assert record.fingerprint != digest.hexdigest()
    # (The same reconstruction does find the choice of a named vote: the check above is not vacuous.)
    named = room.motion()
    assert vote(room.chair, named, "no", key="named-vote").status_code == 201
    digest = hashlib.sha256(f"POST /api/v1/motions/{named.pk}/votes/".encode())
    digest.update(json.dumps({"choice": "no"}, separators=(",", ":")).encode())
    assert IdempotencyRecord.objects.get(key="named-vote").fingerprint == digest.hexdigest()
    # …nor in the audit log, nor in the event log.
    for entry in AuditEntry.objects.filter(action="vote.cast", data__motion=motion.pk):
        assert "choice" not in entry.data
    for event in Event.objects.filter(kind__startswith="vote.", data__motion=motion.pk):
        if event.kind == "vote.tally":
            assert set(event.data) == {"motion", "voted"}
        else:
            assert event.data["my_vote"]["choice"] is None
    # A replay of a secret vote answers the first response, without the receipt.
    user = room.voters[0]
    replay = vote(user, motion, "yes", key=f"secret-{user.username}")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == {**answers[user.username][1], "receipt": None}
    # Each receipt verifies, before and after the close; the record lists hashes and who took part.
    for username, (choice, answer) in answers.items():
        person = User.objects.get(username=username)
        checked = client_for(person).post(f"/api/v1/motions/{motion.pk}/verify-receipt/",
                                          {"receipt": answer["receipt"]}, format="json").json()
        assert checked == {"found": True, "choice": choice, "published": False}
    motions.motion_close(actor=room.chair, motion_id=motion.pk)
    record = client_for(room.members[0]).get(f"/api/v1/motions/{motion.pk}/record/").json()["result"]
    assert [set(row) for row in record["receipts"]] == [{"receipt_hash", "choice"}] * 4
    assert [row["receipt_hash"] for row in record["receipts"]] == sorted(row["receipt_hash"] for row in
                                                                         record["receipts"])
    assert [row["username"] for row in record["participation"]] == sorted(answers)
    assert "roll_call" not in record and (record["yes"], record["no"], record["abstain"]) == (2, 1, 1)
    for username, (choice, answer) in answers.items():
        expected = receipts.receipt_hash(motion.pk, answer["receipt"])
        assert {"receipt_hash": expected, "choice": choice} in record["receipts"]
        checked = client_for(room.chair).post(f"/api/v1/motions/{motion.pk}/verify-receipt/",
                                              {"receipt": answer["receipt"].upper()}, format="json").json()
        assert checked == {"found": True, "choice": choice, "published": True}
    wrong = client_for(room.chair).post(f"/api/v1/motions/{motion.pk}/verify-receipt/",
                                        {"receipt": receipts.new_token()}, format="json").json()
    assert wrong == {"found": False, "choice": None, "published": True}
    result = client_for(room.chair).get(f"/api/v1/motions/{motion.pk}/result/").json()
    assert "receipts" not in result and "receipt_hash" not in json.dumps(result)


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the insertion order shown is SQLite's rowid")
def test_it_files_a_secret_choice_at_a_random_place_not_in_the_order_of_the_votes(db, monkeypatch):
    room = build_room(members=1)
    motion = room.motion(method="secret")
    motions.vote_cast(actor=room.chair, motion_id=motion.pk, choice="yes")
    monkeypatch.setattr(votes.secrets, "randbelow", lambda n: 0)  # swap places with the earlier choice
    _second, token = motions.vote_cast(actor=room.members[0], motion_id=motion.pk, choice="no")
    with connection.cursor() as cursor:
        cursor.execute("SELECT choice, receipt_hash FROM voting_secretchoice ORDER BY rowid")
        rows = cursor.fetchall()
    assert rows[0] == ("no", receipts.receipt_hash(motion.pk, token))
    assert rows[1][0] == "yes"


def test_it_gives_named_votes_receipts_that_the_roll_call_publishes(db):
    room = build_room(members=2, votes_may_change=True)
    motion = room.motion()
    first = vote(room.chair, motion, "yes").json()
    changed = vote(room.chair, motion, "no").json()
    assert first["receipt"] != changed["receipt"] and changed["choice"] == "no"
    closed = client_for(room.secretary).post(f"/api/v1/motions/{motion.pk}/close/").json()
    record = client_for(room.secretary).get(f"/api/v1/motions/{motion.pk}/record/").json()["result"]
    public_roll_call = [{k: v for k, v in row.items() if k != "receipt_hash"} for row in record["roll_call"]]
    assert closed == {"motion": motion.pk, **{k: v for k, v in record.items() if k != "roll_call"},
                      "roll_call": public_roll_call}
    assert record["roll_call"] == [{"username": room.chair.username, "full_name": room.chair.full_name, "choice": "no",
                                    "on_behalf_of": None,
                                    "receipt_hash": receipts.receipt_hash(motion.pk, changed["receipt"])}]
    verify = client_for(room.chair).post
    assert verify(f"/api/v1/motions/{motion.pk}/verify-receipt/", {"receipt": changed["receipt"]},
                  format="json").json()["found"] is True
    # The receipt of the replaced choice no longer matches a vote in the record.
    assert verify(f"/api/v1/motions/{motion.pk}/verify-receipt/", {"receipt": first["receipt"]},
                  format="json").json() == {"found": False, "choice": None, "published": True}


def test_it_hashes_receipts_per_motion():
    token = receipts.new_token()
    assert receipts.receipt_hash(1, token) != receipts.receipt_hash(2, token)
    assert receipts.receipt_hash(1, token.upper()) == receipts.receipt_hash(1, token)
    assert receipts.receipt_hash(1, token) == hashlib.sha256(f"1:{token}".encode()).hexdigest()
    assert not receipts.is_well_formed("xyz") and receipts.is_well_formed(token)

"""A property-based search for a sequence of open / vote / retry (same Idempotency-Key) /
contradicting vote / close that breaks exactly-once counting, through the API.

The model is the list of acknowledged votes. After every step the database must hold exactly the
acknowledged votes (the last acknowledged choice of each member, or — for a secret vote — the
acknowledged voters and the multiset of their choices); once closed, the frozen result must equal
the acknowledged votes and never change, whatever is tried afterwards.
"""

from __future__ import annotations

import itertools
from collections import Counter

from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from voting import receipts
from voting.models import Motion, SecretChoice, Vote
from voting.motion_state import public_result
from voting.services import motions

from .conftest import build_room, client_for

CHOICES = ("yes", "no", "abstain")
keys = itertools.count()


class VotingMachine(RuleBasedStateMachine):
    room = None  # set by the test: the chair and three members present, one member absent

    def __init__(self):
        super().__init__()
        self.motion: Motion | None = None
        self.status = "draft"
        self.acked: dict[str, str] = {}
        self.sent: dict[str, tuple[str, str, int, dict]] = {}  # key → (username, choice, status, answer)
        self.frozen: dict | None = None

    @property
    def people(self) -> list:
        return self.room.voters

    @initialize(method=st.sampled_from(["named", "secret"]), may_change=st.booleans())
    def put(self, method, may_change):
        motions.meeting_set_voting_rules(actor=self.room.chair, meeting=self.room.meeting, rule="vn-government",
                                         substitutes_may_vote=False, votes_may_change=may_change)
        self.motion = self.room.motion(method=method, open_it=False)
        self.changes = may_change and method == "named"

    def _post(self, url: str, user=None, body: dict | None = None, key: str | None = None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        return client_for(user or self.room.chair).post(url, body or {}, format="json", **headers)

    def _vote(self, who: int, choice: str, key: str):
        user = self.people[who]
        response = self._post(f"/api/v1/motions/{self.motion.pk}/votes/", user, {"choice": choice}, key)
        absent = user == self.people[-1]
        current = self.acked.get(user.username)
        if self.status != "open":
            expected = (409, "motion_not_open")
        elif absent:
            expected = (403, "not_present")
        elif current is None or (self.changes and current != choice):
            expected = (201, None)
        else:
            expected = (409, "already_voted")
        assert response.status_code == expected[0], (expected, response.json())
        if expected[0] == 201:
            assert receipts.is_well_formed(response.json()["receipt"]) and "Idempotent-Replayed" not in response
            self.acked[user.username] = choice
        else:
            assert response.json()["code"] == expected[1]
        self.sent[key] = (who, choice, response.status_code, response.json())

    @rule()
    def open(self):
        response = self._post(f"/api/v1/motions/{self.motion.pk}/open/")
        assert response.status_code == (200 if self.status == "draft" else 409)
        self.status = "open" if self.status == "draft" else self.status

    @rule(who=st.integers(0, 4), choice=st.sampled_from(CHOICES))
    def vote(self, who, choice):
        self._vote(who, choice, f"k{next(keys)}")

    @precondition(lambda self: self.acked)
    @rule(data=st.data())
    def contradict(self, data):
        username = data.draw(st.sampled_from(sorted(self.acked)))
        who = next(i for i, p in enumerate(self.people) if p.username == username)
        choice = data.draw(st.sampled_from([c for c in CHOICES if c != self.acked[username]]))
        self._vote(who, choice, f"k{next(keys)}")

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def retry(self, data):
        key = data.draw(st.sampled_from(sorted(self.sent)))
        who, choice, status, answer = self.sent[key]
        if status != 201:  # a refusal is not stored: the retry is a new attempt
            self._vote(who, choice, key)
            return
        response = self._post(f"/api/v1/motions/{self.motion.pk}/votes/", self.people[who], {"choice": choice}, key)
        assert response.status_code == 201 and response["Idempotent-Replayed"] == "true"
        assert response.json() == {**answer, "receipt": None}

    @rule()
    def close(self):
        response = self._post(f"/api/v1/motions/{self.motion.pk}/close/", self.room.secretary)
        if self.status == "draft":
            assert (response.status_code, response.json()["code"]) == (409, "motion_not_open")
            return
        assert response.status_code == 200
        if self.frozen is None:
            self.frozen = response.json()
            counted = Counter(self.acked.values())
            assert [self.frozen[c] for c in CHOICES] == [counted[c] for c in CHOICES]
        assert response.json() == self.frozen
        self.status = "closed"

    @invariant()
    def database_holds_exactly_the_acknowledged_votes(self):
        if self.motion is None:
            return
        votes = dict(Vote.objects.filter(motion=self.motion).values_list("voter__username", "choice"))
        if self.motion.method == Motion.Method.NAMED:
            assert votes == self.acked
        else:
            assert sorted(votes) == sorted(self.acked) and set(votes.values()) <= {""}
            secret = Counter(SecretChoice.objects.filter(motion=self.motion).values_list("choice", flat=True))
            assert secret == Counter(self.acked.values())
        if self.frozen is not None:
            self.motion.refresh_from_db()
            assert {"motion": self.motion.pk, **public_result(self.motion.result)} == self.frozen

    def teardown(self):
        if self.status == "open":  # the next example changes the session's rules
            motions.motion_close(actor=self.room.chair, motion_id=self.motion.pk)


# 30 examples of 20 steps send a voter some 120 votes: within one minute on a fast machine, the
# per-account votes limit (60 a minute, tests/voting/test_rate_limits.py) would answer 429. What this
# test holds is exactly-once counting, so the limit is out of its way.
@override_settings(RATE_VOTES_PER_MINUTE=100_000)
def test_no_sequence_of_open_vote_retry_and_close_breaks_exactly_once_counting(db):
    VotingMachine.room = build_room(members=4, absent=1)
    run_state_machine_as_test(VotingMachine, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))

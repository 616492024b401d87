"""The votes in the batch intake (``hotpath.intake``): what a vote request looks like, and how a
batch of them is cast and answered, in one transaction. ``ecabinet.asgi`` gives this module to
``hotpath.intake.BatchIntake``; the intake does the rest (reading, parsing, host, authentication,
limits, the writer thread, the answers' bytes).

The idempotency records are ``ecabinet.api.idempotency``'s (``stored_many``, ``replay_of``,
``store_many``): the same records, read and written as the view's decorator does, in bulk.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import translation

from ecabinet.api import idempotency
from ecabinet.errors import DomainError
from hotpath.intake import Answer, Submission, by_session

from .models import Motion
from .motions_api import vote_answer, vote_fingerprint
from .services import votes

__all__ = ["LIMIT", "MAX_BODY_SETTING", "PATH", "commit", "value_of"]

PATH = re.compile(r"/api/v1/motions/(?P<pk>[0-9]{1,18})/votes/")
MAX_BODY_SETTING = "HTTP_MAX_VOTE_BODY_BYTES"
LIMIT = "votes"  # VotesView's throttle scope (ecabinet.limits)
CHOICES = frozenset(Motion.Choice.values)


def value_of(data) -> str | None:
    """The choice of a vote's JSON body of the common shape (``{"choice": "yes"}``), else None."""
    choice = data.get("choice") if isinstance(data, dict) else None
    return choice if isinstance(choice, str) and choice in CHOICES else None


def commit(live: list[Submission]) -> None:
    """Replays, votes and new records, in one transaction; answers are set only once it commits."""
    if not live:
        return
    answers: dict[Submission, Answer] = {}
    with transaction.atomic():
        methods = dict(Motion.objects.filter(pk__in={s.target_id for s in live}).values_list("pk", "method"))
        prints = {s: vote_fingerprint(methods.get(s.target_id), "POST", s.http.path)
                  or idempotency.fingerprint("POST", s.http.path, s.body) for s in live}
        keyed = [s for s in live if s.key]
        stored = idempotency.stored_many([(s.user.pk, s.key) for s in keyed])
        fresh = []
        for s in live:
            record = stored.get((s.user.pk, s.key)) if s.key else None
            if record is not None:
                status, body, replayed = idempotency.replay_of(record, prints[s])
                answers[s] = Answer(status, body, replayed, by_session(s))
            else:
                fresh.append(s)
        records = []
        by_language: dict[str, list[Submission]] = {}
        for s in fresh:
            by_language.setdefault(s.language, []).append(s)
        refused = []
        for language, group in by_language.items():
            with translation.override(language):
                outcomes = votes.votes_cast([votes.Ballot(s.user, s.target_id, s.value) for s in group])
                for s, outcome in zip(group, outcomes, strict=True):
                    if isinstance(outcome, DomainError):
                        answers[s] = Answer(outcome.status, {"code": outcome.code, "detail": str(outcome.message)},
                                            session=by_session(s))
                        refused.append(s)
                        continue
                    body = vote_answer(outcome.vote, methods[s.target_id], outcome.on_behalf_of)
                    answers[s] = Answer(201, body, session=by_session(s))
                    s.receipt = outcome.token
                    if s.key:
                        records.append((s.user.pk, s.key, prints[s], 201, body))
        idempotency.store_many(records)
        # A refusal may be because a copy with the same key, in another process, has just done the
        # work: then its answer is the answer (as ``ecabinet.api.idempotency`` does for the view).
        done_elsewhere = idempotency.stored_many([(s.user.pk, s.key) for s in refused if s.key])
        for s in refused:
            record = done_elsewhere.get((s.user.pk, s.key)) if s.key else None
            if record is not None:
                status, body, replayed = idempotency.replay_of(record, prints[s])
                answers[s] = Answer(status, body, replayed, by_session(s))
    for s, answer in answers.items():
        s.answer = answer

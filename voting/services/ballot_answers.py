"""Answering a written ballot: a recipient answers some or all of its questions, and may change the
answers until the deadline (``ballot_answer``). The ballot itself — drafted, issued — is
``voting.services.ballots``; its closing, ``ballot_closing``.

Same rules as the other ballot services: one transaction, the permission check
(``voting.permissions.ballot_access``), the state guard against the ballots' one clock
(``ballots.current_time``, replaced in tests), the change, and the audit entry in the same
transaction. The ballot's row lock (``ballots._lock``) makes an answer and the closing take turns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ecabinet import audit
from ecabinet.errors import Conflict, Forbidden, InvalidState, ValidationFailed

from ..models import Ballot, BallotAnswer, BallotAnswerRevision, BallotQuestion
from ..permissions import ballot_access
from . import ballots as core

__all__ = ["OPINION_MAX", "ballot_answer"]

B = Ballot.Status
C = BallotAnswer.Choice
OPINION_MAX = 10_000


def _parse_answers(ballot: Ballot, answers: Iterable[dict]) -> list[tuple[BallotQuestion, str, str]]:
    """Check every answer before any is stored: a batch is all or nothing."""
    answers = list(answers)
    if not answers:
        raise ValidationFailed(_("Give at least one answer."), code="answers_required")
    questions = {q.pk: q for q in ballot.questions.all()}
    parsed, seen = [], set()
    for item in answers:
        question = questions.get(item.get("question"))
        if question is None:
            raise ValidationFailed(_("There is no such question on this ballot."), code="unknown_question")
        if question.pk in seen:
            raise ValidationFailed(_("Question %(n)s is answered twice.") % {"n": question.position},
                                   code="duplicate_question")
        seen.add(question.pk)
        choice = item.get("choice")
        if choice not in C.values:
            raise ValidationFailed(_("Answer with agree, disagree or other."), code="invalid_choice")
        opinion = (item.get("opinion") or "").strip()
        if choice != C.AGREE and not opinion:
            raise ValidationFailed(
                _("Question %(n)s: write your opinion — it is required when you disagree or give another "
                  "opinion.") % {"n": question.position}, code="opinion_required", question=question.pk)
        if len(opinion) > OPINION_MAX:
            raise ValidationFailed(_("Question %(n)s: the opinion is too long (at most %(max)s characters).")
                                   % {"n": question.position, "max": OPINION_MAX}, code="opinion_too_long")
        parsed.append((question, choice, opinion))
    return parsed


def _store_answer(*, actor, question: BallotQuestion, choice: str, opinion: str, now: datetime) -> str:
    """Create or change one answer; the replaced answer is kept as a revision. Returns what happened:
    ``created``, ``changed`` or ``unchanged``."""
    answer = BallotAnswer.objects.filter(question=question, member=actor).first()
    if answer is None:
        try:
            with transaction.atomic():
                BallotAnswer.objects.create(question=question, member=actor, choice=choice, opinion=opinion,
                                            answered_at=now)
        except IntegrityError as exc:
            raise Conflict(_("Your answer was being saved from another device at the same moment; reload and "
                             "check it."), code="answer_conflict") from exc
        return "created"
    if (answer.choice, answer.opinion) == (choice, opinion):
        return "unchanged"
    BallotAnswerRevision.objects.create(answer=answer, choice=answer.choice, opinion=answer.opinion,
                                        replaced_at=now)
    # Conditional on the answer we read and kept as the revision: a concurrent change makes this a
    # conflict rather than a lost revision.
    if not BallotAnswer.objects.filter(pk=answer.pk, choice=answer.choice, opinion=answer.opinion).update(
            choice=choice, opinion=opinion, changed_at=now):
        raise Conflict(_("Your answer was changed from another device at the same moment; reload and check it."),
                       code="answer_conflict")
    return "changed"


@transaction.atomic
def ballot_answer(*, actor, ballot: Ballot | int, answers: Iterable[dict]) -> list[BallotAnswer]:
    """Answer (or change the answers to) some or all questions: ``answers`` is a list of
    ``{"question": id, "choice": "agree"|"disagree"|"other", "opinion": str}``. All or nothing.

    Refused with 409 ``ballot_closed`` from the deadline on, whatever the recorded status; with 400
    ``opinion_required`` when a disagreement or another opinion comes without its text. Returns the
    caller's answers to the whole ballot, in question order.
    """
    now = core.current_time()
    access = ballot_access(actor, ballot, now)
    if not access.is_recipient:
        raise Forbidden(_("Only the members the ballot was sent to can answer it."), code="not_recipient")
    # The row lock makes an answer and the closing of the ballot take turns on PostgreSQL, so an
    # acknowledged answer is always one given before the ballot closed.
    locked = core._lock(access.ballot)
    if locked.status == B.DRAFT:
        raise InvalidState(_("The ballot has not been issued yet."), code="ballot_not_open")
    if locked.status != B.OPEN or locked.deadline <= now:
        raise core.closed_error()
    parsed = _parse_answers(locked, answers)
    outcome = []
    for question, choice, opinion in parsed:
        what = _store_answer(actor=actor, question=question, choice=choice, opinion=opinion, now=now)
        outcome.append({"question": question.pk, "position": question.position, "choice": choice, "what": what})
    if any(o["what"] != "unchanged" for o in outcome):
        audit.record(actor, "ballot.answered", locked, data={"answers": outcome})
    return list(BallotAnswer.objects.filter(question__ballot=locked, member=actor)
                .select_related("question").order_by("question__position"))

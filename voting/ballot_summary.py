"""The summary of a written ballot (tổng hợp ý kiến): per question the counts, each member's answer
and opinion, and who did not answer — the same facts for the screen, the API and the PDF.

Counting rules:

* every recipient is counted once per question: ``agree + disagree + other + not_answered`` equals
  the number of recipients;
* when the ballot says that silence is consent (``silence_is_consent``), the members who did not
  answer are *also* shown as counted as agreeing: ``agree_with_silence = agree + not_answered``.
  The plain counts stay as they are, so the summary shows both what was said and how it counts;
* until the ballot is closed the summary is provisional (``final`` is False): silence is not yet
  silence;
* the rules of written ballots in force on the day the ballot was issued (today for a draft) are a
  named policy with its citation (``voting.legal.ballot_policy``, ``policy_for``): the summary and the
  ballot's page state it. No policy makes silence agreement by itself: the ballot's own
  ``silence_is_consent`` decides, as the Office of the Government set it (docs/legal.md).

Reads only; three queries whatever the number of members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils.translation import gettext as _

from . import legal
from .models import Ballot, BallotAnswer, BallotAnswerRevision
from .permissions import is_closed

__all__ = ["BallotSummary", "MemberAnswer", "QuestionSummary", "legal_basis_statement", "policy_for",
           "silence_statement", "summarize"]

User = get_user_model()
C = BallotAnswer.Choice


def silence_statement(ballot: Ballot) -> str:
    if ballot.silence_is_consent:
        return _("Silence counts as agreement: under the rules of this ballot, a member who does not answer a "
                 "question by the deadline is counted as agreeing with it.")
    return _("Silence does not count as agreement: a member who does not answer a question is recorded as not "
             "having answered it.")


def policy_for(ballot: Ballot, now: datetime) -> legal.BallotPolicy | None:
    """The written-ballot policy in force on the local day ``ballot`` was issued (``now`` for a draft)."""
    return legal.ballot_policy(legal.session_day(ballot.issued_at or now))


def legal_basis_statement(policy: legal.BallotPolicy | None) -> str:
    """One sentence naming the policy's citation, and saying what is still to be confirmed."""
    if policy is None:
        return _("No legal basis for written ballots is recorded for the day this ballot was issued.")
    if policy.confirmed:
        return _("Legal basis: %(citation)s.") % {"citation": policy.printed_vi}
    return _("Legal basis: %(citation)s. The deadline and the rule on silence are those set on this ballot by "
             "the Office of the Government; the Working Regulation's own provisions on them are to be confirmed "
             "by the Office of the Government.") % {"citation": policy.printed_vi}


@dataclass
class MemberAnswer:
    user: object
    choice: str | None
    opinion: str = ""
    answered_at: datetime | None = None
    changed_at: datetime | None = None
    changes: int = 0
    counted_as_agree: bool = False

    @property
    def choice_label(self) -> str:
        return C(self.choice).label if self.choice else _("No answer")


@dataclass
class QuestionSummary:
    id: int
    position: int
    text: str
    agree: int = 0
    disagree: int = 0
    other: int = 0
    not_answered: int = 0
    agree_with_silence: int | None = None
    rows: list[MemberAnswer] = field(default_factory=list)


@dataclass
class BallotSummary:
    ballot: Ballot
    final: bool
    recipients: list
    questions: list[QuestionSummary]
    not_answered: list[tuple[object, list[int]]]  # (member, positions of the questions they left blank)
    fully_answered: int
    policy: legal.BallotPolicy | None = None

    @property
    def silence_statement(self) -> str:
        return silence_statement(self.ballot)

    @property
    def legal_basis_statement(self) -> str:
        return legal_basis_statement(self.policy)

    def as_dict(self) -> dict:
        b = self.ballot
        return {
            "ballot": {"id": b.pk, "title": b.title, "status": b.status, "deadline": b.deadline.isoformat(),
                       "issued_at": b.issued_at.isoformat() if b.issued_at else None,
                       "closed_at": b.closed_at.isoformat() if b.closed_at else None},
            "final": self.final,
            "silence_is_consent": b.silence_is_consent,
            "silence_statement": self.silence_statement,
            "policy": self.policy.as_dict() if self.policy else None,
            "legal_basis_statement": self.legal_basis_statement,
            "recipients": len(self.recipients),
            "fully_answered": self.fully_answered,
            "questions": [{
                "id": q.id, "position": q.position, "text": q.text,
                "counts": {"agree": q.agree, "disagree": q.disagree, "other": q.other,
                           "not_answered": q.not_answered},
                "agree_with_silence": q.agree_with_silence,
                "answers": [{
                    "username": r.user.username, "full_name": r.user.get_full_name(), "position": r.user.position,
                    "choice": r.choice, "opinion": r.opinion, "counted_as_agree": r.counted_as_agree,
                    "answered_at": r.answered_at.isoformat() if r.answered_at else None,
                    "changed_at": r.changed_at.isoformat() if r.changed_at else None,
                    "changes": r.changes,
                } for r in q.rows],
            } for q in self.questions],
            "not_answered": [{"username": u.username, "full_name": u.get_full_name(), "questions": missing}
                             for u, missing in self.not_answered],
        }


def summarize(ballot: Ballot, now: datetime) -> BallotSummary:
    recipients = list(User.objects.filter(pk__in=ballot.recipients.values("user_id"))
                      .select_related("ministry").order_by("id"))
    questions = list(ballot.questions.order_by("position"))
    answers = {(a.question_id, a.member_id): a for a in BallotAnswer.objects.filter(question__ballot=ballot)}
    changes = dict(BallotAnswerRevision.objects.filter(answer__question__ballot=ballot)
                   .values("answer_id").annotate(n=Count("id")).values_list("answer_id", "n"))
    consent = ballot.silence_is_consent
    summaries, missing = [], {u.pk: [] for u in recipients}
    for question in questions:
        summary = QuestionSummary(id=question.pk, position=question.position, text=question.text)
        for user in recipients:
            answer = answers.get((question.pk, user.pk))
            if answer is None:
                summary.not_answered += 1
                missing[user.pk].append(question.position)
                summary.rows.append(MemberAnswer(user=user, choice=None, counted_as_agree=consent))
                continue
            setattr(summary, answer.choice, getattr(summary, answer.choice) + 1)
            summary.rows.append(MemberAnswer(user=user, choice=answer.choice, opinion=answer.opinion,
                                             answered_at=answer.answered_at, changed_at=answer.changed_at,
                                             changes=changes.get(answer.pk, 0)))
        if consent:
            summary.agree_with_silence = summary.agree + summary.not_answered
        summaries.append(summary)
    not_answered = [(u, missing[u.pk]) for u in recipients if missing[u.pk]]
    return BallotSummary(ballot=ballot, final=is_closed(ballot, now), recipients=recipients, questions=summaries,
                         not_answered=not_answered, fully_answered=len(recipients) - len(not_answered),
                         policy=policy_for(ballot, now))

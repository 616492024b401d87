"""Models of the voting app: in-session motions and votes, and written opinion ballots."""

from .ballots import (
    Ballot,
    BallotAnswer,
    BallotAnswerRevision,
    BallotDocument,
    BallotQuestion,
    BallotRecipient,
    ballot_document_path,
)
from .motions import Motion, SecretChoice, Vote, VoteRevision

__all__ = [
    "Ballot",
    "BallotAnswer",
    "BallotAnswerRevision",
    "BallotDocument",
    "BallotQuestion",
    "BallotRecipient",
    "Motion",
    "SecretChoice",
    "Vote",
    "VoteRevision",
    "ballot_document_path",
]

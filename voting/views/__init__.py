"""Screens of written ballots (``/ballots/``): members read the drafts and answer, the secretariat
prepares, issues and closes, everyone entitled reads the summary. Views parse a form, call one
service (``voting.services.ballots``), and redirect or re-render."""

from .answering import (
    ballot_answer,
    ballot_detail,
    ballot_document_file,
    ballot_list,
    ballot_summary,
    ballot_summary_pdf,
)
from .prepare import (
    ballot_close,
    ballot_create,
    ballot_document_add,
    ballot_document_remove,
    ballot_edit,
    ballot_issue,
    ballot_question_add,
    ballot_question_remove,
    ballot_recipients,
    ballot_update,
)

__all__ = [
    "ballot_answer", "ballot_close", "ballot_create", "ballot_detail", "ballot_document_add", "ballot_document_file",
    "ballot_document_remove", "ballot_edit", "ballot_issue", "ballot_list", "ballot_question_add",
    "ballot_question_remove", "ballot_recipients", "ballot_summary", "ballot_summary_pdf", "ballot_update",
]

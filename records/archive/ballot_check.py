"""The ``ballots`` check of ``verify_archive`` (issue 18): the written ballots linked to the session,
offline (no database). Layout: ``records.archive.ballots`` and docs/archive.md.

* ``data/ballots/ballots.json`` is for this session (its ``meeting_id`` is bag-info's ``Meeting-Id``),
  lists each ballot once, in a known state;
* a draft carries its id and state only; an open ballot no question, draft or answer;
* a closed ballot: every draft it lists is in ``data/ballots/<id>/drafts/`` at the path its sha256
  gives, with that sha256; the summary PDF is there with its sha256 and is a PDF; the summary is
  final and holds together — per question one answer row per recipient, the counts are the rows'
  choices counted, every disagreement or other opinion has its written opinion, silence is counted
  as agreement exactly when the ballot says so, and the members listed as not having answered are
  the ones with blank rows;
* nothing else is under ``data/ballots/``.

The ballots are not in the signed record: like the annotations, their integrity beyond these checks
rests on the bag's manifests (docs/archive.md).
"""

from __future__ import annotations

import hashlib
import json

from . import layout
from .report import Check

__all__ = ["check_ballots"]

INDEX = "data/" + layout.BALLOTS_INDEX
PREFIX = "data/" + layout.BALLOTS_DIR + "/"
STATES = ("closed", "open", "draft")
CHOICES = ("agree", "disagree", "other")
DRAFT_KEYS = {"id", "state"}
CONTENT_KEYS = {"description", "documents", "summary", "summary_pdf"}


def check_ballots(verifier) -> Check:
    """``verifier`` reads the bag: ``files`` (relative paths), ``read(path)``, ``info1(key)``."""
    check = Check("ballots", "Written ballots linked to the session")
    present = {p for p in verifier.files if p.startswith(PREFIX) and p != INDEX}
    data = verifier.read(INDEX)
    if data is None:
        if present:
            check.fail(INDEX, "missing, but data/ballots/ holds files")
        else:
            check.notes.append("no ballots file (a bag exported before written ballots were linked to sessions)")
        return check
    try:
        index = json.loads(data)
        ballots = index["ballots"]
    except (ValueError, KeyError, TypeError):
        ballots = index = None
    if not isinstance(ballots, list) or index.get("format") != layout.BALLOTS_FORMAT:
        check.fail(INDEX, "not a ballots file")
        return check
    if str(index.get("meeting_id")) != str(verifier.info1("Meeting-Id")):
        check.fail(INDEX, f"is for session {index.get('meeting_id')}, bag-info.txt says {verifier.info1('Meeting-Id')}")
    expected: set[str] = set()
    seen: set = set()
    counts = dict.fromkeys(STATES, 0)
    for number, ballot in enumerate(ballots, start=1):
        try:
            ident, state = ballot["id"], ballot["state"]
        except (KeyError, TypeError):
            check.fail(INDEX, f"entry {number} is not a ballot")
            continue
        if ident in seen:
            check.fail(INDEX, f"ballot {ident} is listed twice")
        seen.add(ident)
        if state not in STATES:
            check.fail(INDEX, f"ballot {ident}: unknown state {state!r}")
            continue
        counts[state] += 1
        if state == "draft" and set(ballot) - DRAFT_KEYS:
            check.fail(INDEX, f"ballot {ident} is a draft but carries {', '.join(sorted(set(ballot) - DRAFT_KEYS))}")
        elif state == "open" and set(ballot) & CONTENT_KEYS:
            check.fail(INDEX, f"ballot {ident} is open but carries {', '.join(sorted(set(ballot) & CONTENT_KEYS))}")
        elif state == "closed":
            try:
                _closed(verifier, check, ballot, expected)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                check.fail(INDEX, f"ballot {ident}: incomplete ({type(exc).__name__}: {exc})")
    for path in sorted(expected - verifier.files):
        check.fail(path, "missing (listed in ballots.json)")
    for path in sorted(present - expected):
        check.fail(path, "not a file of the linked ballots")
    stated = verifier.info1("Written-Ballots")
    if stated is not None and stated != str(len(ballots)):
        check.fail("bag-info.txt", f"Written-Ballots {stated!r}, ballots.json lists {len(ballots)}")
    if check.ok:
        check.notes.append(f"{len(ballots)} linked ballots: {counts['closed']} closed (drafts, summary and answers "
                           f"hold together), {counts['open']} open, {counts['draft']} drafts (listed only)")
    return check


def _file(verifier, check: Check, path: str, sha256: str, expected: set[str], *, pdf: bool = True) -> None:
    expected.add(path)
    data = verifier.read(path)
    if data is None:
        return  # reported once, as missing
    if hashlib.sha256(data).hexdigest() != sha256:
        check.fail(path, "changed (sha256 differs from ballots.json)")
    elif pdf and not data.startswith(b"%PDF-"):
        check.fail(path, "not a PDF")


def _closed(verifier, check: Check, ballot: dict, expected: set[str]) -> None:
    ident = ballot["id"]
    for document in ballot["documents"]:
        path = "data/" + layout.ballot_draft_path(ident, document["id"], document["sha256"])
        if document["path"] != path:
            check.fail(INDEX, f"ballot {ident}: draft {document['id']} is at {document['path']!r}, not {path!r}")
        _file(verifier, check, path, document["sha256"], expected)
    if not ballot["documents"]:
        check.fail(INDEX, f"ballot {ident} is closed but lists no draft")
    pdf = ballot["summary_pdf"]
    path = "data/" + layout.ballot_summary_path(ident)
    if pdf["path"] != path:
        check.fail(INDEX, f"ballot {ident}: the summary PDF is at {pdf['path']!r}, not {path!r}")
    _file(verifier, check, path, pdf["sha256"], expected)
    summary = ballot["summary"]
    if summary["ballot"]["id"] != ident or not summary["final"]:
        check.fail(INDEX, f"ballot {ident}: its summary is not the final summary of this ballot")
    consent = bool(summary["silence_is_consent"])
    if consent != bool(ballot.get("silence_is_consent")):
        check.fail(INDEX, f"ballot {ident}: the summary and the ballot disagree on whether silence is agreement")
    recipients = summary["recipients"]
    blanks: dict[str, list[int]] = {}
    for question in summary["questions"]:
        _question(check, ident, question, recipients, consent, blanks)
    listed = {row["username"]: sorted(row["questions"]) for row in summary["not_answered"]}
    if listed != {user: sorted(positions) for user, positions in blanks.items()}:
        check.fail(INDEX, f"ballot {ident}: the members listed as not having answered are not those with blank "
                          "answers")
    if summary["fully_answered"] != recipients - len(blanks):
        check.fail(INDEX, f"ballot {ident}: fully_answered is {summary['fully_answered']}, the answers give "
                          f"{recipients - len(blanks)}")


def _question(check: Check, ident, question: dict, recipients: int, consent: bool, blanks: dict) -> None:
    where = f"ballot {ident}, question {question['position']}"
    rows = question["answers"]
    tally = dict.fromkeys((*CHOICES, "not_answered"), 0)
    users = set()
    for row in rows:
        choice = row["choice"]
        users.add(row["username"])
        if choice is None:
            tally["not_answered"] += 1
            blanks.setdefault(row["username"], []).append(question["position"])
            if bool(row["counted_as_agree"]) != consent:
                check.fail(INDEX, f"{where}: {row['username']} did not answer, counted_as_agree says otherwise "
                                  "than the rule on silence")
            continue
        if choice not in CHOICES:
            check.fail(INDEX, f"{where}: {row['username']} answered {choice!r}")
            continue
        tally[choice] += 1
        if choice != "agree" and not (row.get("opinion") or "").strip():
            check.fail(INDEX, f"{where}: {row['username']} answered {choice} without the written opinion")
    if len(rows) != recipients or len(users) != len(rows):
        check.fail(INDEX, f"{where}: {len(rows)} answer rows for {recipients} recipients")
    if question["counts"] != tally:
        check.fail(INDEX, f"{where}: the counts {question['counts']} are not the answers counted {tally}")
    with_silence = tally["agree"] + tally["not_answered"] if consent else None
    if question.get("agree_with_silence") != with_silence:
        check.fail(INDEX, f"{where}: agree_with_silence is {question.get('agree_with_silence')}, the answers give "
                          f"{with_silence}")

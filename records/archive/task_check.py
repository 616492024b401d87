"""The ``tasks`` check of ``verify_archive`` (issue 18): the session's follow-up tasks, offline (no
database). Layout: ``records.archive.tasks`` and docs/archive.md.

* ``data/tasks.jsonl`` holds one task a line, each of this session (its ``meeting_id`` is bag-info's
  ``Meeting-Id``), listed once, in a known state, with a history that starts with its assignment and
  ends in the state the task is in;
* every attachment of every report is in ``data/tasks/<task>/`` at the path its ids and sha256 give,
  with that sha256, and is a PDF;
* nothing else is under ``data/tasks/``, and bag-info's ``Follow-Up-Tasks`` is the number of lines.

Like the ballots, the tasks are not in the signed record: their integrity beyond these checks rests
on the bag's manifests (docs/archive.md).
"""

from __future__ import annotations

import hashlib
import json

from . import layout
from .report import Check

__all__ = ["check_tasks"]

INDEX = "data/" + layout.TASKS_INDEX
PREFIX = "data/" + layout.TASKS_DIR + "/"
STATES = ("assigned", "in_progress", "reported_done", "accepted", "returned", "cancelled")


def check_tasks(verifier) -> Check:
    """``verifier`` reads the bag: ``files`` (relative paths), ``read(path)``, ``info1(key)``."""
    check = Check("tasks", "Follow-up tasks of the session")
    present = {p for p in verifier.files if p.startswith(PREFIX)}
    data = verifier.read(INDEX)
    if data is None:
        if present:
            check.fail(INDEX, "missing, but data/tasks/ holds files")
        else:
            check.notes.append("no tasks file (a bag exported before follow-up tasks were archived)")
        return check
    expected: set[str] = set()
    seen: set = set()
    attachments = 0
    lines = data.decode("utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            task = json.loads(line)
            ident = task["id"]
        except (ValueError, KeyError, TypeError):
            check.fail(INDEX, f"line {number} is not a task")
            continue
        if ident in seen:
            check.fail(INDEX, f"task {ident} is listed twice")
        seen.add(ident)
        try:
            attachments += _task(verifier, check, task, expected)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            check.fail(INDEX, f"task {ident}: incomplete ({type(exc).__name__}: {exc})")
    for path in sorted(expected - verifier.files):
        check.fail(path, "missing (listed in tasks.jsonl)")
    for path in sorted(present - expected):
        check.fail(path, "not a file of the session's tasks")
    stated = verifier.info1("Follow-Up-Tasks")
    if stated is not None and stated != str(len(lines)):
        check.fail("bag-info.txt", f"Follow-Up-Tasks {stated!r}, tasks.jsonl lists {len(lines)}")
    if check.ok:
        check.notes.append(f"{len(lines)} tasks, their histories hold together; {attachments} report attachments "
                           "match their sha256")
    return check


def _task(verifier, check: Check, task: dict, expected: set[str]) -> int:
    ident = task["id"]
    if str(task["meeting_id"]) != str(verifier.info1("Meeting-Id")):
        check.fail(INDEX, f"task {ident} is of session {task['meeting_id']}, bag-info.txt says "
                          f"{verifier.info1('Meeting-Id')}")
    if task["state"] not in STATES:
        check.fail(INDEX, f"task {ident}: unknown state {task['state']!r}")
    history = task["history"]
    if not history or history[0]["kind"] != "created":
        check.fail(INDEX, f"task {ident}: its history does not start with its assignment")
    elif history[-1]["to_state"] != task["state"]:
        check.fail(INDEX, f"task {ident}: its history ends in {history[-1]['to_state']!r}, the task is "
                          f"{task['state']!r}")
    count = 0
    for report in task["reports"]:
        for attachment in report["attachments"]:
            count += 1
            path = "data/" + layout.task_attachment_path(ident, attachment["id"], attachment["sha256"])
            if attachment["path"] != path:
                check.fail(INDEX, f"task {ident}: attachment {attachment['id']} is at {attachment['path']!r}, "
                                  f"not {path!r}")
            expected.add(path)
            content = verifier.read(path)
            if content is None:
                continue  # reported once, as missing
            if hashlib.sha256(content).hexdigest() != attachment["sha256"]:
                check.fail(path, "changed (sha256 differs from tasks.jsonl)")
            elif not content.startswith(b"%PDF-"):
                check.fail(path, "not a PDF")
    return count

"""The votes of an archived session as CSV (UTF-8, RFC 4180, a header row), and its shared
annotations as JSON Lines.

* ``motions.csv`` — one row per motion with its frozen result (counts, quorum, outcome, citation and, for
  results frozen since issue 20, the version of the rule's legal basis: ``rule_version``, ``instrument``,
  ``articles``; empty for older ones).
* ``votes.csv`` — named (roll-call) votes only: who voted how, on whose behalf, when, earlier choices
  when the session let votes change, and the receipt hash the published result carries.
* ``receipts.csv`` — secret votes only, exactly what their published result holds: receipt hashes
  with their choices, in hash order. Nothing about a secret vote's voters or times is read here, so
  nothing in the archive can link a voter to a choice.
"""

from __future__ import annotations

import csv
import io
import json

from records.permissions import archived_annotations
from voting.models import Motion, Vote

from ..record import iso

__all__ = ["MOTION_COLUMNS", "RECEIPT_COLUMNS", "VOTE_COLUMNS", "annotation_lines", "vote_tables"]

MOTION_COLUMNS = ("motion_id", "item_id", "item_position", "title", "method", "rule", "status", "opened_at",
                  "closed_at", "eligible", "present", "quorum_met", "yes", "no", "abstain", "adopted", "outcome",
                  "citation", "rule_version", "instrument", "articles")
VOTE_COLUMNS = ("motion_id", "voter", "voter_name", "choice", "on_behalf_of", "cast_at", "changed_at",
                "earlier_choices", "receipt_hash")
RECEIPT_COLUMNS = ("motion_id", "receipt_hash", "choice")


def _csv(columns: tuple[str, ...], rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _flag(value) -> str:
    return "" if value is None else ("true" if value else "false")


def _motion_row(motion: Motion) -> dict:
    result = motion.result or {}
    return {"motion_id": motion.pk, "item_id": motion.agenda_item_id, "item_position": motion.agenda_item.position,
            "title": motion.title, "method": motion.method, "rule": motion.rule, "status": motion.status,
            "opened_at": iso(motion.opened_at), "closed_at": iso(motion.closed_at),
            "eligible": result.get("eligible", ""), "present": result.get("present", ""),
            "quorum_met": _flag(result.get("quorum_met")), "yes": result.get("yes", ""),
            "no": result.get("no", ""), "abstain": result.get("abstain", ""),
            "adopted": _flag(result.get("adopted")) if result else "", "outcome": result.get("outcome", ""),
            "citation": result.get("citation", ""), "rule_version": result.get("rule_version", ""),
            "instrument": result.get("instrument", ""), "articles": result.get("articles", "")}


def vote_tables(meeting) -> dict[str, bytes]:
    """``{"motions.csv", "votes.csv", "receipts.csv"}`` of ``meeting``; three queries."""
    motions = list(Motion.objects.filter(agenda_item__meeting=meeting).select_related("agenda_item")
                   .order_by("agenda_item__position", "id"))
    named = [m.pk for m in motions if m.method == Motion.Method.NAMED]
    votes = (Vote.objects.filter(motion_id__in=named).select_related("voter", "on_behalf_of")
             .prefetch_related("revisions").order_by("motion_id", "voter__username", "id"))
    vote_rows = [{"motion_id": v.motion_id, "voter": v.voter.username, "voter_name": v.voter.full_name,
                  "choice": v.choice, "on_behalf_of": v.on_behalf_of.username if v.on_behalf_of_id else "",
                  "cast_at": iso(v.cast_at), "changed_at": iso(v.changed_at) or "",
                  "earlier_choices": ";".join(f"{r.choice}@{iso(r.replaced_at)}" for r in v.revisions.all()),
                  "receipt_hash": v.receipt_hash}
                 for v in votes]
    receipt_rows = [{"motion_id": m.pk, "receipt_hash": row["receipt_hash"], "choice": row["choice"]}
                    for m in motions if m.method == Motion.Method.SECRET and m.result
                    for row in sorted(m.result.get("receipts", []), key=lambda r: r["receipt_hash"])]
    return {"motions.csv": _csv(MOTION_COLUMNS, [_motion_row(m) for m in motions]),
            "votes.csv": _csv(VOTE_COLUMNS, vote_rows),
            "receipts.csv": _csv(RECEIPT_COLUMNS, receipt_rows)}


def annotation_lines(meeting) -> bytes:
    """``annotations/shared.jsonl``: one line per annotation ``records.permissions.archived_annotations``
    keeps (shared, not deleted), in id order, sorted keys; an empty file when there are none."""
    lines = []
    for a in archived_annotations(meeting):
        lines.append(json.dumps({
            "id": a.pk, "document": a.document_id, "version": a.version.number, "page": a.page, "kind": a.kind,
            "visibility": a.visibility, "color": a.color, "rects": a.rects, "ink": a.ink, "point": a.point,
            "quote": a.quote, "text": a.text, "author": a.author.username, "author_name": a.author.full_name,
            "created_at": iso(a.created_at), "updated_at": iso(a.updated_at), "placement": a.placement,
            "carried_from": a.carried_from_id}, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    return "".join(line + "\n" for line in lines).encode("utf-8")

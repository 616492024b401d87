"""The records embedded in sealed documents, built from the session record (no writes).

Every sealed document embeds one JSON record: ``document`` (kind, number, title, place, issue time,
issuer), ``session`` (``records.record.session_record`` at the time of rendering), the kind's own
part (``minutes``, ``decisions`` or ``corrects`` + ``body``), ``signers`` in signing order and
``audit_checkpoint`` (seq, hash and time of the audit chain head when the document was rendered).
"""

from __future__ import annotations

from django.conf import settings

from ..record import iso

RECORD_VERSION = 1


def document_part(*, kind: str, number: str, title: str, place: str, issued_at) -> dict:
    return {"kind": kind, "number": number, "title": title, "place": place, "issued_at": iso(issued_at),
            "issuer": settings.MINUTES_ISSUER}


def signer_part(role: str, user) -> dict:
    return {"role": role, "username": user.username if user else None,
            "full_name": user.full_name if user else None}


def checkpoint_part(seq: int, hash_: str, at) -> dict:
    return {"seq": seq, "hash": hash_, "at": iso(at)}


def default_narratives(session: dict) -> dict[str, str]:
    """A starting text per agenda item, from what the system knows; the secretary rewrites it."""
    out = {}
    for item in session["agenda"]:
        parts = []
        if item["presenter_ministry"]:
            parts.append(f"{item['presenter_ministry']} trình bày nội dung.")
        if item["speakers"]:
            parts.append(f"Có {len(item['speakers'])} lượt phát biểu tại phiên họp.")
        if item["comments"]:
            parts.append(f"Có {len(item['comments'])} ý kiến bằng văn bản trên hệ thống.")
        if item["status"] == "deferred":
            parts.append("Nội dung được lùi sang phiên họp sau.")
        elif item["status"] == "withdrawn":
            parts.append("Nội dung được rút khỏi chương trình.")
        out[str(item["id"])] = f"<p>{' '.join(parts) or 'Không có ý kiến.'}</p>"
    return out


def default_decisions(session: dict) -> list[str]:
    lines = []
    for item in session["agenda"]:
        for motion in item["motions"]:
            result = motion["result"]
            if result is None:
                continue
            verdict = "được thông qua" if result["adopted"] else "không được thông qua"
            lines.append(f"“{motion['title']}” {verdict} (tán thành {result['yes']}/{result['eligible']} thành viên).")
        if item["status"] == "deferred":
            lines.append(f"Lùi xem xét nội dung “{item['title']}” sang phiên họp sau.")
    return lines


def shared_comment_ids(session: dict) -> list[int]:
    return [c["id"] for item in session["agenda"] for c in item["comments"]]


# What a result records of its legal basis since issue 20 (voting.legal); older results have none of it.
LEGAL_BASIS = ("rule_version", "instrument", "articles", "in_force_from", "in_force_until", "citation_vi")


def adopted_decisions(session: dict) -> list[dict]:
    """The decisions a session resolution lists: every adopted motion, in agenda order."""
    out = []
    for item in session["agenda"]:
        for motion in item["motions"]:
            result = motion["result"]
            if result and result["adopted"]:
                out.append({"item": item["id"], "position": item["position"], "motion": motion["id"],
                            "title": motion["title"], "text": motion["text"] or item["title"],
                            "result": {k: result[k] for k in ("yes", "no", "abstain", "eligible", "present",
                                                               "outcome", "rule", "citation", *LEGAL_BASIS)
                                       if k in result}})
    return out

"""The audit chain proof of an archived session: building it (from the database) and checking it
(pure: bytes in, problems out).

The session's audit entries are interleaved with every other entry of the global chain
(``ecabinet.audit``). The proof covers the contiguous range of ``seq`` from the session's first entry
(or the earliest checkpoint, if earlier) to its last entry (or the latest checkpoint, if later):

* the session's own entries are given in full in ``entries.jsonl``: the verifier recomputes each hash
  from the canonical JSON;
* every other entry of the range is given as ``seq``, ``prev_hash``, ``hash`` and a SHA-256 midstate
  with the tail of its canonical JSON (``records.archive.sha256``), so its hash is recomputed too
  without its content being disclosed;
* consecutive links must chain (``prev_hash`` of n = ``hash`` of n-1), and each checkpoint printed in
  a signed document (``audit_checkpoint`` of its embedded record) must be a link of the range with
  that hash. Every session entry up to a checkpoint is therefore bound to a signed document.

Format: docs/archive.md, "The audit chain proof".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from . import sha256

__all__ = ["FORMAT", "build_chain_proof", "canonical_bytes", "check_chain_proof"]

FORMAT = "ecabinet-audit-chain-proof/1"
GENESIS = "0" * 64
# The canonical JSON of an entry ends with these keys (sorted: "prev_hash" < "seq").
_TAIL = ',"prev_hash":"{prev}","seq":{seq}}}'


def canonical_bytes(content: dict) -> bytes:
    """``ecabinet.audit.canonical`` from an entry's already-serialised fields (``at`` is a string)."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


# --- building (ORM) ----------------------------------------------------------------------------------


class ChainBroken(Exception):
    """The live audit chain does not hold in the range to export; the message names the entry."""


def _content(entry) -> dict:
    from ecabinet.audit import canonical

    return json.loads(canonical(seq=entry.seq, at=entry.at, actor_id=entry.actor_id,
                                actor_username=entry.actor_username, action=entry.action,
                                object_type=entry.object_type, object_id=entry.object_id,
                                meeting_id=entry.meeting_id, data=entry.data, prev_hash=entry.prev_hash))


def _opaque_link(entry, raw: bytes) -> dict:
    cut = raw.rindex(b',"prev_hash":"') // sha256.BLOCK * sha256.BLOCK
    return {"seq": entry.seq, "prev_hash": entry.prev_hash, "hash": entry.hash,
            "midstate": sha256.midstate(raw[:cut]), "prefix_length": cut,
            "tail": base64.b64encode(raw[cut:]).decode("ascii")}


def build_chain_proof(meeting_id: int, checkpoints: list[dict]) -> tuple[bytes, bytes]:
    """``(entries.jsonl, chain-proof.json)`` for ``meeting_id``. ``checkpoints`` are
    ``{"document", "seq", "hash"}`` dicts from the sealed documents. Raises ``ChainBroken`` if an entry
    of the range does not match its stored hash or link (the live chain is damaged: ``verify_audit``)."""
    from ecabinet.models import AuditEntry, AuditHead

    head = AuditHead.objects.filter(id=1).first()
    own = list(AuditEntry.objects.filter(meeting_id=meeting_id).order_by("seq").values_list("seq", flat=True))
    bounds = own + [c["seq"] for c in checkpoints]
    if not bounds:
        return b"", _proof_json(meeting_id, [], checkpoints, head)
    first, last = min(bounds), max(bounds)
    lines, links, previous = [], [], None
    for entry in AuditEntry.objects.filter(seq__gte=first, seq__lte=last).order_by("seq").iterator(chunk_size=2000):
        content = _content(entry)
        raw = canonical_bytes(content)
        if hashlib.sha256(raw).hexdigest() != entry.hash:
            raise ChainBroken(f"audit entry #{entry.seq} does not match its hash")
        if previous is not None and (entry.seq != previous.seq + 1 or entry.prev_hash != previous.hash):
            raise ChainBroken(f"audit entry #{entry.seq} does not link to the entry before it")
        if entry.meeting_id == meeting_id:
            lines.append(json.dumps({**content, "hash": entry.hash}, sort_keys=True, ensure_ascii=False))
            links.append({"seq": entry.seq, "prev_hash": entry.prev_hash, "hash": entry.hash, "own": True})
        else:
            links.append(_opaque_link(entry, raw))
        previous = entry
    if not links or links[0]["seq"] != first or links[-1]["seq"] != last:
        raise ChainBroken(f"audit entries #{first}–#{last} are not all stored")
    entries = "".join(line + "\n" for line in lines).encode("utf-8")
    return entries, _proof_json(meeting_id, links, checkpoints, head)


def _proof_json(meeting_id: int, links: list[dict], checkpoints: list[dict], head) -> bytes:
    proof = {
        "format": FORMAT,
        "hash": "sha256",
        "meeting_id": meeting_id,
        "first_seq": links[0]["seq"] if links else None,
        "last_seq": links[-1]["seq"] if links else None,
        "head_at_export": {"seq": head.seq, "hash": head.hash} if head else {"seq": 0, "hash": GENESIS},
        "checkpoints": [{"document": c["document"], "seq": c["seq"], "hash": c["hash"]} for c in checkpoints],
        "links": links,
    }
    return json.dumps(proof, ensure_ascii=False, indent=1).encode("utf-8")


# --- checking (pure) ---------------------------------------------------------------------------------


ENTRIES, PROOF = "entries.jsonl", "chain-proof.json"


@dataclass
class ChainCheck:
    """``problems`` are ``(file, message)`` with ``file`` either ``ENTRIES`` or ``PROOF``."""

    problems: list[tuple[str, str]]
    notes: list[str]


def _own_entries(entries: bytes, meeting_id, problems: list[tuple[str, str]]) -> dict[int, dict]:
    own: dict[int, dict] = {}
    for number, line in enumerate(entries.decode("utf-8", errors="replace").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            content = json.loads(line)
            stated = content.pop("hash")
            seq = content["seq"]
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append((ENTRIES, f"line {number} is not an audit entry"))
            continue
        if meeting_id is not None and content.get("meeting_id") != meeting_id:
            problems.append((ENTRIES, f"line {number} (entry #{seq}) belongs to another session"))
        if hashlib.sha256(canonical_bytes(content)).hexdigest() != stated:
            problems.append((ENTRIES, f"line {number}: entry #{seq} was altered (its content does not match "
                                      "its hash)"))
        if seq in own:
            problems.append((ENTRIES, f"line {number}: entry #{seq} appears twice"))
        own[seq] = {**content, "hash": stated}
    return own


def _check_link(link: dict, own: dict[int, dict]) -> str | None:
    seq = link["seq"]
    if link.get("own"):
        entry = own.pop(seq, None)
        if entry is None:
            return f"link #{seq} is a session entry missing from {ENTRIES}"
        if (entry.get("hash"), entry.get("prev_hash")) != (link["hash"], link["prev_hash"]):
            return f"link #{seq} does not match entry #{seq} of {ENTRIES}"
        return None
    try:
        tail = base64.b64decode(link["tail"], validate=True)
        computed = sha256.resume(link["midstate"], int(link["prefix_length"]), tail)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error):
        return f"link #{seq} has no usable midstate and tail"
    if not tail.endswith(_TAIL.format(prev=link["prev_hash"], seq=seq).encode()):
        return f"link #{seq}: its tail does not end with its prev_hash and seq"
    if computed != link["hash"]:
        return f"link #{seq}: the hash recomputed from its midstate and tail is not its hash"
    return None


def check_chain_proof(entries: bytes, proof_bytes: bytes, checkpoints: list[dict]) -> ChainCheck:
    """Recompute the proof. ``checkpoints`` come from the signed documents (``{"document", "seq",
    "hash"}``); each must be a link of the proof with that hash."""
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    try:
        proof = json.loads(proof_bytes)
        links = proof["links"]
        meeting_id = proof["meeting_id"]
        if proof.get("format") != FORMAT:
            problems.append((PROOF, f"unknown proof format {proof.get('format')!r}"))
    except (ValueError, KeyError, TypeError):
        return ChainCheck([(PROOF, "not a chain proof (unreadable JSON)")], notes)
    own = _own_entries(entries, meeting_id, problems)
    previous = None
    by_seq: dict[int, str] = {}
    for link in links:
        try:
            seq = int(link["seq"])
            link_hash, prev_hash = link["hash"], link["prev_hash"]
        except (KeyError, TypeError, ValueError):
            problems.append((PROOF, "a link has no seq, hash or prev_hash"))
            return ChainCheck(problems, notes)
        if previous is not None and seq != previous["seq"] + 1:
            problems.append((PROOF, f"link #{previous['seq'] + 1} is missing (next is #{seq})"))
        elif previous is not None and prev_hash != previous["hash"]:
            problems.append((PROOF, f"link #{seq} does not chain to link #{previous['seq']} (prev_hash differs)"))
        if seq == 1 and prev_hash != GENESIS:
            problems.append((PROOF, "link #1 does not start from the genesis hash"))
        problem = _check_link(link, own)
        if problem:
            problems.append((PROOF, problem))
        by_seq[seq] = link_hash
        previous = {"seq": seq, "hash": link_hash}
    for seq in sorted(own):
        problems.append((ENTRIES, f"entry #{seq} is not a link of the proof"))
    if links and (proof.get("first_seq"), proof.get("last_seq")) != (links[0]["seq"], links[-1]["seq"]):
        problems.append((PROOF, "first_seq/last_seq do not match the links"))
    for point in checkpoints:
        found = by_seq.get(point["seq"])
        if point["seq"] == 0 and point["hash"] == GENESIS:
            notes.append(f"the {point['document']} was issued before the audit log had any entry")
        elif found is None:
            problems.append((PROOF, f"the checkpoint #{point['seq']} of the {point['document']} is not in it"))
        elif found != point["hash"]:
            problems.append((PROOF, f"the checkpoint #{point['seq']} of the {point['document']} has hash "
                                    f"{point['hash']} but the proof has {found}"))
        else:
            notes.append(f"checkpoint #{point['seq']} of the {point['document']} found in the chain")
    stated = [(c.get("seq"), c.get("hash")) for c in proof.get("checkpoints", [])]
    for point in checkpoints:
        if (point["seq"], point["hash"]) not in stated:
            problems.append((PROOF, f"does not list the checkpoint #{point['seq']} of the {point['document']}"))
    if not checkpoints:
        notes.append("no signed checkpoint: the chain is consistent but not anchored to a signed document")
    else:
        latest = max(point["seq"] for point in checkpoints)
        later = sum(1 for link in links if link.get("own") and link["seq"] > latest)
        if later:
            notes.append(f"{later} of the session's entries come after the last signed checkpoint #{latest}: "
                         "the bag's manifests are all that protect them")
    if links:
        notes.append(f"{len(links)} links #{links[0]['seq']}–#{links[-1]['seq']}, "
                     f"{sum(1 for link in links if link.get('own'))} of them this session's entries")
    return ChainCheck(problems, notes)

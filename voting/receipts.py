"""Vote receipts: pure helpers, no ORM, no clock.

A receipt is a random 128-bit token, shown once to the voter in the answer to their vote. The
server keeps only ``sha256(f"{motion_id}:{token}")``: on the ``Vote`` row for a named vote, on the
``SecretChoice`` row (which names no voter) for a secret one. After the close the published record
lists the hashes with their choices, so a voter who kept the token can check that their vote is in
it (``POST /motions/{id}/verify-receipt/``) while, for a secret vote, nobody else learns whose
choice a hash carries.

Why this is safe:

* 128 random bits (``secrets``) cannot be guessed, so the hash of a token identifies it without the
  hash revealing it, and nobody can claim someone else's receipt.
* The motion id is part of the hashed text, so a receipt proves a vote on one motion only and the
  same token on two motions would give unrelated hashes.
* The token itself is never stored — not in the database, not in the idempotency record of the
  request, not in the audit log or the event log — so a replayed answer cannot show it again.

What it does not do: a receipt lets its holder *prove* how they voted to anyone they show it to.
That is the price of individual verifiability without cryptographic voting; the design accepts it
for a Government whose named votes are public anyway.
"""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["is_well_formed", "new_token", "receipt_hash"]

TOKEN_BYTES = 16  # 128 bits
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def new_token() -> str:
    """A fresh receipt token: 32 lowercase hex digits."""
    return secrets.token_hex(TOKEN_BYTES)


def is_well_formed(token: str) -> bool:
    return bool(_TOKEN.match(token or ""))


def receipt_hash(motion_id: int, token: str) -> str:
    """The stored form of ``token`` for ``motion_id`` (64 hex digits). Tokens are compared in
    lowercase, so a voter who copied one in capitals still finds their vote."""
    return hashlib.sha256(f"{motion_id}:{token.strip().lower()}".encode()).hexdigest()

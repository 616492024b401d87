"""SHA-256 that can stop after whole blocks and resume later (pure; no ORM, no clock).

Why: an audit entry's hash is ``SHA-256(canonical JSON)``, and the canonical JSON ends with
``,"prev_hash":"…","seq":N}``. To prove that an entry of *another* session links its predecessor to its
successor without disclosing its content, the archive gives the SHA-256 state after the entry's
leading whole 64-byte blocks (the *midstate*) and only the bytes after it (the *tail*, which holds
``prev_hash``). A verifier resumes hashing from that state and must arrive at the entry's hash.

Why that is safe: forging a link means finding a state and a tail containing a chosen ``prev_hash``
that hash to a given value — a preimage of SHA-256's compression chain from a free starting state,
which is as far out of reach as a preimage of SHA-256 itself. The midstate reveals nothing practical
about the blocks it absorbed (it is the output of the compression function). What the tail reveals
is written in docs/archive.md.

``hashlib`` does not expose the internal state, so the compression function is written out here
(FIPS 180-4, section 6.2); the tests hold it to ``hashlib`` on many lengths.
"""

from __future__ import annotations

import struct

__all__ = ["BLOCK", "midstate", "resume"]

BLOCK = 64
_MASK = 0xFFFFFFFF
_H0 = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & _MASK


def _compress(state: tuple[int, ...], block: bytes) -> tuple[int, ...]:
    w = list(struct.unpack(">16I", block))
    for t in range(16, 64):
        s0 = _rotr(w[t - 15], 7) ^ _rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
        s1 = _rotr(w[t - 2], 17) ^ _rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
        w.append((w[t - 16] + s0 + w[t - 7] + s1) & _MASK)
    a, b, c, d, e, f, g, h = state
    for t in range(64):
        t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + _K[t] + w[t]) & _MASK
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _MASK
        a, b, c, d, e, f, g, h = (t1 + t2) & _MASK, a, b, c, (d + t1) & _MASK, e, f, g
    return tuple((x + y) & _MASK for x, y in zip(state, (a, b, c, d, e, f, g, h), strict=True))


def midstate(prefix: bytes) -> str:
    """The state (64 hex digits) after absorbing ``prefix``, whose length must be a multiple of 64."""
    if len(prefix) % BLOCK:
        raise ValueError("the prefix must be whole 64-byte blocks")
    state = _H0
    for offset in range(0, len(prefix), BLOCK):
        state = _compress(state, prefix[offset:offset + BLOCK])
    return struct.pack(">8I", *state).hex()


def resume(state_hex: str, prefix_length: int, tail: bytes) -> str:
    """``sha256(prefix + tail).hexdigest()`` from ``midstate(prefix)`` and ``len(prefix)``."""
    if prefix_length < 0 or prefix_length % BLOCK:
        raise ValueError("the prefix length must be a multiple of 64")
    raw = bytes.fromhex(state_hex)
    if len(raw) != 32:
        raise ValueError("the state must be 32 bytes")
    state = struct.unpack(">8I", raw)
    total_bits = (prefix_length + len(tail)) * 8
    padded = tail + b"\x80" + b"\x00" * ((55 - len(tail)) % BLOCK) + struct.pack(">Q", total_bits)
    for offset in range(0, len(padded), BLOCK):
        state = _compress(state, padded[offset:offset + BLOCK])
    return struct.pack(">8I", *state).hex()

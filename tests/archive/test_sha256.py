"""The resumable SHA-256 behind the chain proof gives hashlib's answers (a table of lengths that
straddle the padding boundaries, cut at every block)."""

from __future__ import annotations

import hashlib

import pytest

from records.archive import sha256

LENGTHS = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1000]


@pytest.mark.parametrize("length", LENGTHS)
def test_resuming_from_any_block_gives_hashlibs_digest(length):
    data = bytes((i * 7 + length) % 256 for i in range(length))
    for cut in range(0, length + 1, sha256.BLOCK):
        assert sha256.resume(sha256.midstate(data[:cut]), cut, data[cut:]) == hashlib.sha256(data).hexdigest()


def test_it_refuses_partial_blocks_and_bad_states():
    with pytest.raises(ValueError):
        sha256.midstate(b"x" * 65)
    with pytest.raises(ValueError):
        sha256.resume("00" * 32, 10, b"")
    with pytest.raises(ValueError):
        sha256.resume("00" * 31, 0, b"")

"""Request ids: random, read from the kernel in batches."""

from __future__ import annotations

from atoll.runtime.runtime import RequestIds


def test_request_ids_are_random_hex_and_never_repeat_across_batches() -> None:
    ids = RequestIds(batch=8)
    seen = [ids.next() for _ in range(100)]  # thirteen batches
    assert len(set(seen)) == 100
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in seen)

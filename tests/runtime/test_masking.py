"""Secret values masked in text and in JSON-like values: every form a secret prints in."""

from __future__ import annotations

import json
import traceback

from atoll.runtime.masking import MASK, MIN_MASKED_CHARS, SecretMask


def test_every_occurrence_is_masked_longest_first() -> None:
    mask = SecretMask(["s3cr3t", "s3cr3t-longer"])
    assert mask.text("a s3cr3t b s3cr3t-longer c") == f"a {MASK} b {MASK} c"


def test_escaped_forms_are_masked_too() -> None:
    secret = 'line one\nline "two"\\'
    mask = SecretMask([secret])
    try:
        raise ValueError(secret)
    except ValueError as exc:
        shown = "".join(traceback.format_exception(exc))
    assert "line one" in shown  # the traceback shows it escaped...
    assert "line one" not in mask.text(shown)  # ...and that form is masked
    assert "line one" not in mask.text(json.dumps({"k": secret}))
    assert mask.text(secret) == MASK


def test_short_values_are_left_alone_and_no_secret_is_no_work() -> None:
    short = "x" * (MIN_MASKED_CHARS - 1)
    mask = SecretMask([short])
    assert not mask and mask.text(f"a {short} b") == f"a {short} b"
    assert not SecretMask()
    assert SecretMask(["x" * MIN_MASKED_CHARS])


def test_values_are_masked_through_dicts_and_lists_keys_included() -> None:
    mask = SecretMask(["hunter22"])
    raw = {
        "message": "got hunter22",
        "fields": {"hunter22": "ok", "n": 1},
        "items": [["hunter22"], None, 2.5],
    }
    assert mask.value(raw) == {
        "message": f"got {MASK}",
        "fields": {MASK: "ok", "n": 1},
        "items": [[MASK], None, 2.5],
    }
    assert raw["message"] == "got hunter22"  # the input is not changed


def test_regex_characters_in_a_secret_are_literal() -> None:
    mask = SecretMask(["a.b*c(d)"])
    assert mask.text("a.b*c(d) axbbc(d)") == f"{MASK} axbbc(d)"


def test_nesting_past_the_limit_is_dropped_not_kept_unmasked() -> None:
    mask = SecretMask(["hunter22"])
    deep: object = "hunter22"
    for _ in range(40):
        deep = [deep]
    assert "hunter22" not in json.dumps(mask.value(deep))

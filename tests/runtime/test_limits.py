"""Per-app limits within platform maxima, and atoll.toml parsing (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from atoll.config import RuntimeSettings
from atoll.errors import BuildFailed
from atoll.runtime import AppLimits, load_app_config, merge_limits
from atoll.runtime.limits import maxima, parse_app_config, parse_host_port

CEILING = maxima(RuntimeSettings(max_timeout_seconds=30, max_memory_mb=512))


def test_defaults_when_nothing_is_requested() -> None:
    assert merge_limits({}, CEILING) == AppLimits()


def test_requested_values_are_used_and_clamped_to_the_maxima() -> None:
    merged = merge_limits({"timeout_seconds": 5, "memory_mb": 4096, "concurrency": 2}, CEILING)
    assert merged.timeout_seconds == 5.0
    assert merged.memory_mb == 512
    assert merged.concurrency == 2


def test_defaults_above_a_lower_ceiling_are_clamped() -> None:
    low = maxima(RuntimeSettings(max_timeout_seconds=3, max_concurrency=2))
    merged = merge_limits({}, low)
    assert merged.timeout_seconds == 3.0 and merged.concurrency == 2


@pytest.mark.parametrize(
    ("limits", "fragment"),
    [
        ({"cpus": 2}, "unknown key"),
        ({"memory_mb": "1G"}, "number"),
        ({"timeout_seconds": 0}, "positive"),
    ],
)
def test_bad_limits_name_the_key(limits: dict[str, object], fragment: str) -> None:
    with pytest.raises(BuildFailed) as info:
        merge_limits(limits, CEILING)
    assert fragment in info.value.message
    assert info.value.detail["key"] == next(iter(limits))


def test_rlimits_follow_the_limits() -> None:
    rl = AppLimits(memory_mb=100, processes=8, open_files=64, file_size_mb=2).rlimits()
    assert rl["RLIMIT_NPROC"] == 8 and rl["RLIMIT_NOFILE"] == 64
    assert rl["RLIMIT_FSIZE"] == 2 << 20 and rl["RLIMIT_AS"] == 612 << 20


def test_app_config_from_toml(tmp_path: Path) -> None:
    (tmp_path / "atoll.toml").write_text(
        'name = "x"\n[python]\ndependencies = ["six==1.16.0"]\n'
        '[egress]\nallow = ["api.example.com:443"]\n[limits]\ntimeout_seconds = 3\n'
    )
    config = load_app_config(tmp_path, CEILING)
    assert config.dependencies == ("six==1.16.0",)
    assert config.egress == ("api.example.com:443",)
    assert config.limits.timeout_seconds == 3


def test_missing_toml_means_defaults(tmp_path: Path) -> None:
    assert load_app_config(tmp_path, CEILING).limits == AppLimits()


@pytest.mark.parametrize(
    "entry",
    [
        "example.com",
        "example.com:http",
        ":80",
        "h:70000",
        "h:\u00b2",  # a digit to str.isdigit(), not to int()
        "h:\u0664\u0664\u0663",  # Arabic-Indic digits
        "evil host:80",
        "h\r\nx:80",
        "h/path:80",
        "x" * 300 + ":80",
    ],
)
def test_bad_egress_entries(entry: str) -> None:
    with pytest.raises(BuildFailed):
        parse_app_config({"egress": {"allow": [entry]}}, CEILING)


def test_egress_lists_are_bounded() -> None:
    with pytest.raises(BuildFailed, match="at most"):
        parse_app_config({"egress": {"allow": [f"h{n}.example:443" for n in range(1000)]}}, CEILING)


def test_host_port_parsing() -> None:
    assert parse_host_port("API.example.com:443") == ("api.example.com", 443)
    assert parse_host_port("[::1]:8080") == ("::1", 8080)


def test_the_wait_budget_stays_within_the_operator_maximum_and_the_timeout() -> None:
    assert merge_limits({}, CEILING).queue_wait_seconds == 2.0
    assert merge_limits({"queue_wait_seconds": 0.5}, CEILING).queue_wait_seconds == 0.5
    capped = maxima(RuntimeSettings(max_queue_wait_seconds=4))
    assert merge_limits({"queue_wait_seconds": 30}, capped).queue_wait_seconds == 4.0
    short = merge_limits({"queue_wait_seconds": 5, "timeout_seconds": 1.5}, CEILING)
    assert short.queue_wait_seconds == 1.5
    assert merge_limits({"timeout_seconds": 1}, CEILING).queue_wait_seconds == 1.0


def test_the_queue_cap_defaults_to_the_platform_hard_cap() -> None:
    assert merge_limits({}, CEILING).queue == 10_000
    low = maxima(RuntimeSettings(max_queued_calls=50))
    assert merge_limits({}, low).queue == 50
    assert merge_limits({"queue": 8}, low).queue == 8

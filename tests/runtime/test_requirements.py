"""[python] dependencies reach uv only as plain requirements; locks and output are checked."""

from __future__ import annotations

import pytest

from atoll.config import RuntimeSettings
from atoll.errors import BuildFailed
from atoll.runtime.limits import maxima, parse_app_config
from atoll.runtime.requirements import installer_summary, pinned_lines

CEILING = maxima(RuntimeSettings())

# Each of these made uv read a host file, fetch from loopback or the host network, take an
# option, or expand a variable when it was a line of the requirements file uv reads.
HOSTILE = [
    "-r /etc/shadow",
    "-c /etc/shadow",
    " -r /etc/shadow",
    "--requirement=/etc/shadow",
    "--constraint /etc/shadow",
    "-r http://127.0.0.1:9/x",
    "-e .",
    "--editable=git+https://example.invalid/x.git",
    "--index-url http://127.0.0.1:9/simple",
    "-i http://127.0.0.1:9/simple",
    "--extra-index-url=http://127.0.0.1:9/simple",
    "--find-links /root",
    "-f http://127.0.0.1:9/",
    "--no-binary :all:",
    "--trusted-host example.invalid",
    "six @ https://127.0.0.1:9/six-1.16.0-py2.py3-none-any.whl",
    "six@file:///etc/shadow",
    "six @ git+https://example.invalid/six.git",
    "https://127.0.0.1:9/six-1.16.0-py2.py3-none-any.whl",
    "git+https://example.invalid/six.git",
    "file:///etc/shadow",
    "/etc/shadow",
    "./local",
    ".",
    "..",
    "six-1.16.0-py2.py3-none-any.whl",
    "foo.tar.gz",
    "foo.zip",
    "Foo.TGZ; python_version > '3'",
    "six\n-r /etc/shadow",
    "six\r-r /etc/shadow",
    "six\x00",
    "six \\",
    "six==1.0 \\\n-r /etc/shadow",
    "six # -r /etc/shadow",
    "six#egg",
    "six===${HOME}",
    "six; python_version == '${ATOLL_SECRET}'",
    "six==1.0 --hash=sha256:00",
    "six==1.0 -r /etc/shadow",
    "six\t==1.0",
    "ｓix",
    "six; os_name == 'a:b'",
    "",
    "   ",
    "x" * 201,
    "six" + " " * 300,
]


@pytest.mark.parametrize("entry", HOSTILE)
def test_anything_but_a_plain_requirement_is_refused_naming_it(entry: str) -> None:
    with pytest.raises(BuildFailed) as info:
        parse_app_config({"python": {"dependencies": ["six", entry]}}, CEILING)
    message = info.value.message
    assert message.startswith("[python] dependencies: ")
    assert repr(entry[:100])[1:-1][:40] in message
    assert info.value.detail["entry"].startswith(entry[:100])


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        ("six", "six"),
        ("six==1.16.0", "six==1.16.0"),
        ("Six[a,b] >=1, <2 ; python_version > '3'", 'Six[a,b]<2,>=1; python_version > "3"'),
        ("requests ~= 2.31", "requests~=2.31"),
        ("zope.interface==6.0", "zope.interface==6.0"),
        ("my_pkg-x==1.0.post1", "my_pkg-x==1.0.post1"),
        ("torch==2.1.0+cpu", "torch==2.1.0+cpu"),
        ("six (>=1.0)", "six>=1.0"),
        ("six==1.*; sys_platform == 'linux' and python_version >= '3.11'", None),
    ],
)
def test_plain_requirements_pass_normalized(entry: str, line: str | None) -> None:
    config = parse_app_config({"python": {"dependencies": [entry]}}, CEILING)
    (got,) = config.dependencies
    assert got == (line or got)
    # What uv reads is the rendering, and it parses to the same requirement again.
    assert parse_app_config({"python": {"dependencies": [got]}}, CEILING).dependencies == (got,)


def test_counts_and_lengths_follow_the_operator_settings() -> None:
    settings = RuntimeSettings(max_python_dependencies=2, max_python_dependency_length=12)
    ok = {"python": {"dependencies": ["six", "attrs==23.1"]}}
    assert parse_app_config(ok, CEILING, settings).dependencies == ("six", "attrs==23.1")
    with pytest.raises(BuildFailed, match="lists 3 entries; at most 2") as info:
        parse_app_config({"python": {"dependencies": ["a", "b", "c"]}}, CEILING, settings)
    assert info.value.detail["limit"] == 2
    with pytest.raises(BuildFailed, match="longer than 12 characters"):
        parse_app_config({"python": {"dependencies": ["six>=1.16.0.0"]}}, CEILING, settings)


@pytest.mark.parametrize("deps", ["six", [1], [["six"]], {"six": "1"}])
def test_dependencies_must_be_a_list_of_strings(deps: object) -> None:
    with pytest.raises(BuildFailed, match="must be a list of strings"):
        parse_app_config({"python": {"dependencies": deps}}, CEILING)


def test_locks_are_pinned_lines_only() -> None:
    lock = "six==1.16.0\n\n# comment\nzope.interface==6.0  # via x\ntorch==2.1.0+cpu\n"
    assert pinned_lines(lock) == ["six==1.16.0", "zope.interface==6.0", "torch==2.1.0+cpu"]
    for bad in (
        "-r /etc/shadow",
        "--index-url http://127.0.0.1:9/simple",
        "six>=1.16",
        "six",
        "six @ https://example.invalid/six.whl",
        "six==1.16.0; python_version > '3'",
        "six==1.16.0 \\",
        "six==not-a-version",
        "./local",
    ):
        with pytest.raises(BuildFailed, match=r"not a pinned package \(line 2\)") as info:
            pinned_lines(f"attrs==23.1.0\n{bad}\n")
        assert "shadow" not in info.value.message and "127.0.0.1" not in info.value.message


def test_installer_output_loses_paths_urls_and_control_characters() -> None:
    output = (
        "\x1b[31merror\x1b[0m: Failed to read `/etc/shadow`\n"
        "  Caused by: No such file at /root/.cache/uv/x and ../../etc/passwd\n"
        "  cause: GET http://127.0.0.1:9/simple/six/ failed; token=https://u:p@mirror.invalid/s\n"
        "\n"
        "Because six==9 was not found in the package registry and you require six==9,\x07 we "
        "can conclude that your requirements are unsatisfiable.\n"
    )
    summary = installer_summary(output)
    for leak in ("/etc", "/root", "passwd", "127.0.0.1", "u:p", "mirror.invalid", "\x1b", "\x07"):
        assert leak not in summary
    assert "Because six==9 was not found in the package registry" in summary
    assert summary.splitlines()[0] == "error: Failed to read <path>"
    long = installer_summary("\n".join(f"line {i} " + "y" * 500 for i in range(50)))
    assert len(long.splitlines()) == 20 and long.splitlines()[-1].startswith("line 49 ")
    assert all(len(line) <= 203 for line in long.splitlines())

"""Every example a guide marks runs and succeeds: shell commands against a real
``atoll serve --demo``, Python snippets, files an app is made of, pages checked against the
page schema (docs/getting-started.md has a test of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.examples import (
    DOCS,
    SHELLS,
    ExampleFailed,
    Session,
    example_blocks,
    pages_with_examples,
)

GUIDES = [p for p in pages_with_examples() if p.name != "getting-started.md"]


def needs_a_server(path: Path) -> bool:
    return any(
        b.title is None and (b.lang in SHELLS or b.lang == "python") for b in example_blocks(path)
    )


@pytest.mark.parametrize("page", GUIDES, ids=[p.relative_to(DOCS).as_posix() for p in GUIDES])
def test_the_examples_of_a_guide_run(page: Path, tmp_path: Path) -> None:
    session = Session.fresh(tmp_path)
    try:
        if needs_a_server(page):
            session.start_server()
        session.run(example_blocks(page))
    except AssertionError:
        print("\n".join(session.log[-5:]), session.background_log(), sep="\n")
        raise
    finally:
        session.close()


def test_the_guides_have_examples_of_every_kind() -> None:
    kinds = {(b.lang, b.title is not None) for p in GUIDES for b in example_blocks(p)}
    assert ("bash", False) in kinds  # commands
    assert ("python", False) in kinds  # a snippet
    assert ("json", False) in kinds  # a page checked against the schema
    assert ("python", True) in kinds  # a file of an app


def write_page(tmp_path: Path, text: str) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "guide.md"
    page.write_text(text)
    return page


def test_a_renamed_option_breaks_its_example(tmp_path: Path) -> None:
    """The check can fail: a guide still using an option the CLI no longer has."""
    page = write_page(
        tmp_path,
        "# Guide\n\nText.\n\n```bash {.example}\natoll release create --app a --note x\n```\n",
    )
    blocks = example_blocks(page, page.parent)
    session = Session.fresh(tmp_path / "work")
    with pytest.raises(ExampleFailed, match=r"docs/guide\.md:5: exit 2") as failed:
        session.run(blocks)
    assert "--note" in str(failed.value)


def test_a_page_example_is_checked_against_the_schema(tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        '```json {.example .page}\n{"schemaVersion": 1, "root": {"type": "Heading", '
        '"props": {"txt": "hi"}}}\n```\n',
    )
    with pytest.raises(ExampleFailed, match=r"docs/guide\.md:1: the page is not valid"):
        Session.fresh(tmp_path / "work").run(example_blocks(page, page.parent))


def test_state_carries_from_block_to_block(tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        "```bash {.example}\nexport GREETING=hi\nmkdir sub && cd sub\n```\n\n"
        '```text {.example title="note.txt"}\nhello\n```\n\n'
        '```bash {.example}\ntest "$GREETING" = hi && test -f note.txt\n```\n\n'
        '```python {.example}\nimport os; assert os.environ["GREETING"] == "hi"\n```\n',
    )
    work = tmp_path / "work"
    work.mkdir()
    Session.fresh(work).run(example_blocks(page, page.parent))
    assert (work / "sub" / "note.txt").read_text() == "hello\n"

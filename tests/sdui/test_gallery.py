"""The docs' node gallery is generated from the schema and kept in step with it."""

from __future__ import annotations

from pathlib import Path

from atoll.sdui.gallery import gallery_pages
from atoll.sdui.nodes import BUILTIN_NODES

GALLERY = Path(__file__).parents[2] / "docs" / "gallery"


def test_every_node_has_a_gallery_page_with_its_examples() -> None:
    pages = gallery_pages()
    assert set(pages) == {f"{t}.md" for t in BUILTIN_NODES} | {"README.md"}
    button = pages["Button.md"]
    assert "| `variant` | `primary` / `secondary` / `ghost` / `danger` / `link` |" in button
    assert button.count("```json") >= 4
    assert '"type": "Button"' in button.split("## Examples", 1)[1]
    for node_type in BUILTIN_NODES:
        assert f"[{node_type}]({node_type}.md)" in pages["README.md"]


def test_the_committed_gallery_is_up_to_date() -> None:
    """Run `python -m atoll.sdui.gallery docs/gallery` after changing a node or its examples."""
    stale = [
        name
        for name, text in gallery_pages().items()
        if not (GALLERY / name).is_file() or (GALLERY / name).read_text() != text
    ]
    assert stale == []

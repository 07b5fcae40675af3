"""The docs' node gallery is generated from the schema (tests/docs checks it is committed as
generated, with the other references)."""

from __future__ import annotations

from atoll.sdui.gallery import gallery_pages
from atoll.sdui.nodes import BUILTIN_NODES


def test_every_node_has_a_gallery_page_with_its_examples() -> None:
    pages = gallery_pages()
    assert set(pages) == {f"{t}.md" for t in BUILTIN_NODES} | {"README.md"}
    button = pages["Button.md"]
    assert "| `variant` | `primary` / `secondary` / `ghost` / `danger` / `link` |" in button
    assert button.count("```json") >= 4
    assert '"type": "Button"' in button.split("## Examples", 1)[1]
    for node_type in BUILTIN_NODES:
        assert f"[{node_type}]({node_type}.md)" in pages["README.md"]

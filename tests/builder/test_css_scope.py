"""Scoping component CSS: hoisting @font-face/@property under names of the component."""

from __future__ import annotations

import pytest

from atoll.builder.css_scope import scope_css, split_top_level


def test_font_face_and_property_are_hoisted_and_renamed() -> None:
    css = (
        '@font-face{font-family:"Fancy Font";src:url(/a/f.woff2)}\n'
        '@property --angle{syntax:"<angle>";inherits:false;initial-value:0deg}\n'
        ".t{font-family:Fancy Font,serif;--angle:3deg;transform:rotate(var(--angle))}\n"
        ".u{font:12px 'Fancy Font'}\n"
        ".v{font-family:Fancy Fonts, Arial}\n"
    )
    scoped = scope_css(css, "Counter")
    assert scoped.document == (
        '@font-face{font-family:"Fancy Font__Counter";src:url(/a/f.woff2)}\n'
        '@property --angle__Counter{syntax:"<angle>";inherits:false;initial-value:0deg}'
    )
    assert '.t{font-family:"Fancy Font__Counter",serif;--angle__Counter:3deg;' in scoped.shadow
    assert "rotate(var(--angle__Counter))" in scoped.shadow
    assert '.u{font:12px "Fancy Font__Counter"}' in scoped.shadow
    assert ".v{font-family:Fancy Fonts, Arial}" in scoped.shadow  # a different family
    assert "@font-face" not in scoped.shadow and "@property" not in scoped.shadow


def test_strings_comments_and_nested_blocks_do_not_confuse_the_splitter() -> None:
    css = (
        '/* { @font-face } */ .a{content:"}"}\n'
        "@media (min-width:1px){.b{color:red}@supports (display:grid){.c{display:grid}}}\n"
        "@import url(x.css);\n"
        "@font-face{font-family:X;src:url('a}b.woff')}\n"
    )
    hoisted, kept = split_top_level(css)
    assert hoisted == ["@font-face{font-family:X;src:url('a}b.woff')}"]
    assert kept[0].endswith('.a{content:"}"}')
    assert kept[1].startswith("@media") and kept[1].endswith("}}}")
    assert kept[2] == "@import url(x.css);"
    assert scope_css(css, "A").imports == ("@import url(x.css);",)


def test_plain_css_is_unchanged() -> None:
    scoped = scope_css("button{background:red}", "A")
    assert scoped.shadow == "button{background:red}\n"
    assert scoped.document == ""


def test_scope_must_be_an_identifier() -> None:
    with pytest.raises(ValueError):
        scope_css("", "a b")

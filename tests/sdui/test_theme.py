"""An app's [theme]: strictly checked, written as CSS variables with readable brand text."""

from __future__ import annotations

import pytest

from atoll.errors import BadInput
from atoll.sdui.html import render_page_html
from atoll.sdui.theme import Theme, contrast, read_theme, theme_css

HOSTILE = [
    'brand = "red;}body{display:none"',
    'brand = "#12345g"',
    'brand = "#fff"',
    'brand = "url(javascript:x)"',
    'font = "Inter</style><script>alert(1)</script>"',
    'font = "A;} * {color:red"',
    'font = "\\"Inter\\""',
    "radius = -1",
    "radius = 100",
    'radius = "4px"',
    'shadow = "x"',
]


def test_default_theme_adds_nothing() -> None:
    assert theme_css(read_theme('name = "todo"\n')) == ""
    assert theme_css(read_theme("memory_mb = \n")) == ""  # not TOML: said once, elsewhere


def test_brand_radius_and_font_become_variables() -> None:
    css = theme_css(read_theme('[theme]\nbrand = "#7C3AED"\nradius = 4\nfont = "Inter"\n'))
    assert css.startswith(":root{") and css.endswith("}")
    assert "--atoll-brand:#7c3aed" in css
    assert "--atoll-radius:4px" in css
    assert '--atoll-font:"Inter", ui-sans-serif' in css
    assert theme_css(Theme(font="mono")).startswith(":root{--atoll-font:ui-monospace")


@pytest.mark.parametrize("brand", ["#ffd60a", "#22c55e", "#1e3a8a", "#000000", "#ffffff"])
def test_brand_text_meets_aa_on_both_themes(brand: str) -> None:
    css = theme_css(Theme(brand=brand))
    values = dict(p.split(":", 1) for p in css.removeprefix(":root{").removesuffix("}").split(";"))

    def rgb(hex_colour: str) -> tuple[int, int, int]:
        return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)

    assert contrast(rgb(values["--atoll-brand-text"]), (255, 255, 255)) >= 4.5
    assert contrast(rgb(values["--atoll-brand-text-dark"]), (17, 24, 39)) >= 4.5
    # Text on a brand-coloured button picks the better of white and near-black.
    assert contrast(rgb(values["--atoll-brand-on"]), rgb(brand)) >= 4.5


@pytest.mark.parametrize("line", HOSTILE)
def test_hostile_values_are_refused(line: str) -> None:
    with pytest.raises(BadInput, match=r"atoll.toml \[theme\]"):
        read_theme(f"[theme]\n{line}\n")


def test_theme_is_a_style_element_that_cannot_close_itself() -> None:
    page = {"schemaVersion": 1, "root": {"type": "Text", "props": {"text": "x"}}}
    args = dict(route="/", routes=["/"], import_map={}, runtime_js="/r.js", runtime_css="/r.css")
    html = render_page_html(page, components={}, theme_css=":root{--atoll-radius:2px}", **args)
    assert "<style>:root{--atoll-radius:2px}</style>" in html
    sneaky = render_page_html(page, components={}, theme_css="</style><script>", **args)
    assert "</style><script>" not in sneaky
    assert "<style>/style>script></style>" in sneaky
    assert "<style>" not in render_page_html(page, components={}, **args)

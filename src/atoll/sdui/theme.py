"""An app's theme: ``[theme]`` in ``atoll.toml`` (brand colour, radius, font) as CSS variables.

Tenant input ends up inside a ``<style>`` element, so every value is checked against a strict
pattern and the CSS is written from the checked values only: no tenant text reaches it as is.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atoll.errors import BadInput

FONT_STACKS = {
    "system": 'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
    "serif": 'ui-serif, Georgia, Cambria, "Times New Roman", serif',
    "mono": 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    "rounded": 'ui-rounded, "SF Pro Rounded", "Nunito", system-ui, sans-serif',
}
LIGHT_SURFACE = (255, 255, 255)
DARK_SURFACE = (17, 24, 39)  # --atoll-surface in the dark theme
AA_TEXT = 4.5


class Theme(BaseModel):
    """``[theme]`` of atoll.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    brand: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = Field(
        None, description="Brand colour as #rrggbb: buttons, focus rings, links, charts."
    )
    radius: Annotated[int, Field(ge=0, le=24)] | None = Field(
        None, description="Corner radius of controls in pixels (cards use 1.5x)."
    )
    font: (
        Literal["system", "serif", "mono", "rounded"]
        | Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9 ]{0,39}$")]
        | None
    ) = Field(None, description="A font stack name, or a font family the visitor has installed.")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(255.0, c))):02x}" for c in rgb)


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two sRGB colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _readable_on(
    colour: tuple[int, int, int], background: tuple[int, int, int], toward: tuple[int, int, int]
) -> str:
    """``colour`` mixed toward ``toward`` just enough to read as text on ``background``."""
    for step in range(0, 101, 2):
        t = step / 100
        mixed = tuple(c + (w - c) * t for c, w in zip(colour, toward, strict=True))
        if contrast(mixed, background) >= AA_TEXT:  # type: ignore[arg-type]
            return _hex(mixed)  # type: ignore[arg-type]
    return _hex(toward)


def theme_css(theme: Theme) -> str:
    """The ``:root`` block that overrides the runtime's tokens (empty for the default theme)."""
    props: list[str] = []
    if theme.brand is not None:
        brand = _rgb(theme.brand)
        on = (
            "#ffffff"
            if contrast(brand, (255, 255, 255)) >= contrast(brand, (15, 23, 42))
            else "#0f172a"
        )
        props += [
            f"--atoll-brand:{theme.brand.lower()}",
            f"--atoll-brand-on:{on}",
            f"--atoll-brand-text:{_readable_on(brand, LIGHT_SURFACE, (0, 0, 0))}",
            f"--atoll-brand-text-dark:{_readable_on(brand, DARK_SURFACE, (255, 255, 255))}",
        ]
    if theme.radius is not None:
        props.append(f"--atoll-radius:{theme.radius}px")
    if theme.font is not None:
        stack = FONT_STACKS.get(theme.font) or f'"{theme.font}", {FONT_STACKS["system"]}'
        props.append(f"--atoll-font:{stack}")
    return f":root{{{';'.join(props)}}}" if props else ""


def theme_from_config(config: dict[str, Any]) -> Theme:
    """The theme in a parsed atoll.toml (the default theme if it has no ``[theme]``)."""
    raw = config.get("theme", {})
    try:
        return Theme.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][:1]) or 'theme'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise BadInput(f"atoll.toml [theme] is invalid: {problems}", file="atoll.toml") from None


def read_theme(text: str) -> Theme:
    """The theme of an atoll.toml's text; the default theme when the text is not TOML (a
    build reports that once, at its line, where it reads atoll.toml's settings)."""
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        config = {}
    return theme_from_config(config)

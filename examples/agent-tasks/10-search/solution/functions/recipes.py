"""Recipes: GET lists them."""

import atoll


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, title, ingredients FROM recipes ORDER BY id")]

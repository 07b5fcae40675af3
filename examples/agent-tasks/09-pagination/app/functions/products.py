"""Products: GET lists them all."""

import atoll


def get() -> list[dict[str, object]]:
    return [dict(r) for r in atoll.db.execute("SELECT id, name, price_cents FROM products ORDER BY id")]

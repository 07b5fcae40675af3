"""Products: GET lists one page of them."""

import atoll


def get(page: int = 1, per_page: int = 10) -> object:
    if page < 1 or not 1 <= per_page <= 50:
        return atoll.Response({"error": "page >= 1 and per_page 1-50"}, status=422)
    rows = atoll.db.execute(
        "SELECT id, name, price_cents FROM products ORDER BY id LIMIT ? OFFSET ?",
        [per_page, (page - 1) * per_page],
    )
    total = atoll.db.execute("SELECT count(*) AS n FROM products")[0]["n"]
    return {"items": [dict(r) for r in rows], "page": page, "per_page": per_page, "total": total}

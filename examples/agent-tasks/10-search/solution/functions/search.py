"""Search recipes by title and ingredients."""

import atoll


def get(q: str) -> object:
    if not q.strip():
        return atoll.Response({"error": "q must not be blank"}, status=422)
    like = f"%{q.strip().lower()}%"
    rows = atoll.db.execute(
        "SELECT id, title FROM recipes WHERE lower(title) LIKE ? OR lower(ingredients) LIKE ?"
        " ORDER BY id",
        [like, like],
    )
    return [dict(r) for r in rows]

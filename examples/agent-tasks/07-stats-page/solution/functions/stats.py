"""How many notes there are and how long they are."""

import atoll


def get() -> dict[str, object]:
    row = atoll.db.execute("SELECT count(*) AS n, avg(length(body)) AS average FROM notes")[0]
    return {"count": row["n"], "average_length": round(row["average"] or 0, 1)}

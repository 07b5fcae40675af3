"""Key figures for the dashboard: totals, win rate, revenue by month and pipeline by stage."""

import atoll


def get() -> dict[str, object]:
    by_stage = [
        dict(r)
        for r in atoll.db.execute(
            "SELECT stage, count(*) AS count, sum(value) AS value FROM customers"
            " GROUP BY stage ORDER BY value DESC"
        )
    ]
    counts = {r["stage"]: r["count"] for r in by_stage}
    values = {r["stage"]: r["value"] for r in by_stage}
    closed = counts.get("won", 0) + counts.get("lost", 0)
    open_value = sum(v for s, v in values.items() if s not in ("won", "lost"))
    months = [dict(r) for r in atoll.db.execute("SELECT month, won, pipeline FROM revenue")]
    return {
        "customers": sum(counts.values()),
        "open_value": f"${open_value:,}",
        "won_value": f"${values.get('won', 0):,}",
        "win_rate": round(100 * counts.get("won", 0) / closed) if closed else 0,
        "months": months,
        "by_stage": by_stage,
    }

"""The shopping cart: GET shows its lines and total, POST adds a line."""

from pydantic import BaseModel, Field

import atoll


class Line(BaseModel):
    product: str = Field(min_length=1, max_length=100)
    price_cents: int = Field(ge=0)
    quantity: int = Field(1, ge=1, le=99)


def get() -> dict[str, object]:
    lines = [dict(r) for r in atoll.db.execute("SELECT product, price_cents, quantity FROM cart ORDER BY id")]
    total = sum(line["price_cents"] * line["quantity"] for line in lines)
    return {"lines": lines, "total_cents": total}


def post(body: Line) -> dict[str, object]:
    atoll.db.execute(
        "INSERT INTO cart (product, price_cents, quantity) VALUES (?, ?, ?)",
        [body.product, body.price_cents, body.quantity],
    )
    return get()

CREATE TABLE cart (
    id INTEGER PRIMARY KEY,
    product TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1
);

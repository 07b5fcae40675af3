CREATE TABLE shelves (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    shelf_id INTEGER REFERENCES shelves(id) ON DELETE CASCADE
);
CREATE INDEX books_by_shelf ON books (shelf_id);

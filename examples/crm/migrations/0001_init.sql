CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    company TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    stage TEXT NOT NULL CHECK (stage IN ('lead', 'qualified', 'proposal', 'won', 'lost')),
    value INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0),
    owner TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL DEFAULT (date('now'))
);

CREATE TABLE revenue (
    month TEXT PRIMARY KEY,
    won INTEGER NOT NULL,
    pipeline INTEGER NOT NULL
);

INSERT INTO customers (name, company, email, stage, value, owner, updated) VALUES
    ('Ada Lovelace', 'Analytical Engines', 'ada@engines.example', 'won', 48000, 'Grace', '2026-11-28'),
    ('Alan Turing', 'Bletchley Labs', 'alan@bletchley.example', 'proposal', 32000, 'Linus', '2026-11-27'),
    ('Grace Hopper', 'Compiler Co', 'grace@compiler.example', 'qualified', 21000, 'Ada', '2026-11-25'),
    ('Edsger Dijkstra', 'Shortest Path BV', 'edsger@paths.example', 'lead', 9000, 'Grace', '2026-11-24'),
    ('Barbara Liskov', 'Substitution Inc', 'barbara@subst.example', 'won', 36000, 'Linus', '2026-11-22'),
    ('Donald Knuth', 'TeX Works', 'don@tex.example', 'proposal', 27000, 'Ada', '2026-11-21'),
    ('Margaret Hamilton', 'Apollo Software', 'margaret@apollo.example', 'won', 54000, 'Grace', '2026-11-19'),
    ('Ken Thompson', 'Unix Systems', 'ken@unix.example', 'lost', 15000, 'Linus', '2026-11-18'),
    ('Radia Perlman', 'Spanning Trees', 'radia@stp.example', 'qualified', 18000, 'Ada', '2026-11-15'),
    ('John McCarthy', 'Lisp Machines', 'john@lisp.example', 'lead', 7000, 'Grace', '2026-11-14'),
    ('Frances Allen', 'Optimizing Ltd', 'fran@opt.example', 'proposal', 29000, 'Linus', '2026-11-12'),
    ('Tim Berners-Lee', 'Hypertext Co', 'tim@web.example', 'lead', 12000, 'Ada', '2026-11-10'),
    ('Hedy Lamarr', 'Frequency Hop', 'hedy@hop.example', 'won', 41000, 'Grace', '2026-11-08'),
    ('Dennis Ritchie', 'C Foundry', 'dennis@c.example', 'lost', 11000, 'Linus', '2026-11-05');

INSERT INTO revenue (month, won, pipeline) VALUES
    ('Jun', 61000, 88000), ('Jul', 72000, 94000), ('Aug', 68000, 101000),
    ('Sep', 84000, 97000), ('Oct', 91000, 118000), ('Nov', 104000, 126000);

// Drives the DB service with the official @libsql/client; prints one JSON object of findings.
// Usage: node libsql_client_suite.mjs URL TOKEN
import { createClient } from "@libsql/client";

const [url, authToken] = process.argv.slice(2);
const client = createClient({ url, authToken, intMode: "bigint" });
const out = {};
const plain = (rs) => rs.rows.map((r) => Array.from(r, (v) =>
  typeof v === "bigint" ? `${v}n` : v instanceof ArrayBuffer ? Array.from(new Uint8Array(v)) : v));

async function errorOf(fn) {
  try { await fn(); return null; } catch (e) { return { name: e.constructor.name, code: e.code, message: e.message }; }
}

await client.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, qty INTEGER, data BLOB, price REAL)");
const ins = await client.execute({ sql: "INSERT INTO items (name, qty, data, price) VALUES (?, ?, ?, ?)",
  args: ["apple", 9007199254740993n, new Uint8Array([0, 1, 2, 255]), 1.5] });
out.insert = { rowsAffected: ins.rowsAffected, lastInsertRowid: `${ins.lastInsertRowid}` };
await client.execute({ sql: "INSERT INTO items (name, qty, data, price) VALUES (:name, :qty, NULL, NULL)",
  args: { name: "pear", qty: -9223372036854775808n } });
await client.execute({ sql: "INSERT INTO items (name, qty) VALUES ($name, @qty)", args: { $name: "fig", "@qty": 3 } });
const sel = await client.execute("SELECT name, qty, data, price FROM items ORDER BY id");
out.select = { columns: sel.columns, columnTypes: sel.columnTypes, rows: plain(sel) };

out.batch = (await client.batch([
  "INSERT INTO items (name, qty) VALUES ('kiwi', 1)",
  { sql: "UPDATE items SET qty = qty + ? WHERE name = ?", args: [10, "kiwi"] },
  "SELECT qty FROM items WHERE name = 'kiwi'",
], "write")).map(plain);
out.batchError = await errorOf(() => client.batch([
  "INSERT INTO items (name, qty) VALUES ('plum', 1)",
  "INSERT INTO items (name, qty) VALUES ('plum', 2)",
], "write"));
out.plumAfterFailedBatch = plain(await client.execute("SELECT count(*) FROM items WHERE name = 'plum'"));

const tx = await client.transaction("write");
await tx.execute("INSERT INTO items (name, qty) VALUES ('committed', 1)");
out.txSeesOwnWrite = plain(await tx.execute("SELECT count(*) FROM items WHERE name = 'committed'"));
await tx.commit();
const tx2 = await client.transaction("write");
await tx2.execute("INSERT INTO items (name, qty) VALUES ('rolledback', 1)");
await tx2.rollback();
out.afterTx = plain(await client.execute(
  "SELECT name FROM items WHERE name IN ('committed', 'rolledback') ORDER BY name"));
const rtx = await client.transaction("read");
out.readTx = plain(await rtx.execute("SELECT count(*) FROM items"));
out.readTxWrite = await errorOf(() => rtx.execute("INSERT INTO items (name) VALUES ('nope')"));
await rtx.close();
const dtx = await client.transaction("deferred");
await dtx.execute("INSERT INTO items (name, qty) VALUES ('deferred', 1)");
await dtx.commit();

out.sqlError = await errorOf(() => client.execute("SELECT * FROM no_such_table"));
out.constraint = await errorOf(() => client.execute("INSERT INTO items (name) VALUES ('apple')"));
out.nulls = plain(await client.execute("SELECT NULL, NULL IS NULL, ?", [null]));
await client.executeMultiple("CREATE TABLE multi (x); INSERT INTO multi VALUES (1); INSERT INTO multi VALUES (2);");
out.multi = plain(await client.execute("SELECT sum(x) FROM multi"));
out.count = plain(await client.execute("SELECT count(*) FROM items"));
await client.migrate([
  "CREATE TABLE owners (id INTEGER PRIMARY KEY)",
  "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner REFERENCES owners (id))",
  "INSERT INTO owners VALUES (1)",
  "INSERT INTO pets VALUES (1, 1)",
]);
out.migrated = plain(await client.execute("SELECT count(*) FROM pets"));
out.foreignKeysAfterMigrate = await errorOf(() => client.execute("INSERT INTO pets VALUES (2, 99)"));
client.close();
console.log(JSON.stringify(out));

// Constraint violations through @libsql/client: what LibsqlError carries for each.
// Usage: node libsql_client_errors.mjs URL TOKEN SETUP_JSON CASES_JSON; prints one JSON object.
import { createClient } from "@libsql/client";

const [url, authToken, setupJson, casesJson] = process.argv.slice(2);
const client = createClient({ url, authToken });

function describe(e) {
  // JSON drops undefined: null says "the client did not set it".
  return {
    name: e.constructor.name,
    code: e.code ?? null,
    extendedCode: e.extendedCode ?? null,
    rawCode: e.rawCode ?? null,
    message: e.message,
  };
}

async function errorOf(fn) {
  try { await fn(); return null; } catch (e) { return describe(e); }
}

for (const sql of JSON.parse(setupJson)) await client.execute(sql);
const out = { foreignKeys: Number((await client.execute("PRAGMA foreign_keys")).rows[0][0]) };
for (const [name, sql] of Object.entries(JSON.parse(casesJson))) {
  const tx = await client.transaction("write");
  const inTransaction = await errorOf(() => tx.execute(sql));
  await tx.rollback();
  out[name] = {
    execute: await errorOf(() => client.execute(sql)),
    batch: await errorOf(() => client.batch([sql], "write")),
    transaction: inTransaction,
  };
}
client.close();
console.log(JSON.stringify(out));

// Runs esbuild for the Python builder: one JSON request on stdin, one JSON reply on stdout.
// Commands: "build" (options as given), "scan" (bare imports of some entries), "scan-build",
// "exports" (named exports of CommonJS packages, for the vendor shims),
// "incremental" (time a cold build, then rebuilds after edits; used by bench/frontend.py),
// and, given `tailwind`, a build also compiles each component's Tailwind CSS.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const request = JSON.parse(readFileSync(0, "utf8"));
const requireFrom = createRequire(request.nodeModules.replace(/\/?$/, "/"));
const esbuild = requireFrom("esbuild");

function message(m) {
  const loc = m.location;
  return {
    text: m.text,
    file: loc ? loc.file : null,
    line: loc ? loc.line : null,
    column: loc ? loc.column : null,
    lineText: loc ? loc.lineText : null,
    notes: (m.notes || []).map((n) => n.text),
  };
}

// Tenant code is bundled on the host: it may only read files under the allowed roots (the
// app's folder and its installed packages), never e.g. /etc or another app's files.
function confine(roots) {
  const inside = (path) => roots.some((root) => path === root || path.startsWith(root.endsWith("/") ? root : root + "/"));
  return {
    name: "atoll-confine",
    setup(b) {
      b.onLoad({ filter: /.*/ }, (args) => {
        if (args.namespace !== "file" || inside(args.path)) return undefined;
        return { errors: [{ text: `${args.path} is outside the app; components can only import the app's own files and its packages` }] };
      });
    },
  };
}

function withPlugins(options, extra = []) {
  const plugins = [...extra];
  if (request.allowedRoots) plugins.push(confine(request.allowedRoots));
  return plugins.length ? { ...options, plugins } : options;
}

async function build(options, extra = []) {
  try {
    const result = await esbuild.build(withPlugins({ logLevel: "silent", ...options }, extra));
    return {
      ok: true,
      errors: [],
      warnings: result.warnings.map(message),
      metafile: result.metafile || null,
    };
  } catch (err) {
    if (err && Array.isArray(err.errors)) {
      return { ok: false, errors: err.errors.map(message), warnings: (err.warnings || []).map(message) };
    }
    return { ok: false, errors: [{ text: String(err && err.message ? err.message : err) }], warnings: [] };
  }
}

async function scan(options) {
  const found = new Set();
  const plugin = {
    name: "atoll-scan",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        found.add(args.path);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({ ...options, write: false }, [plugin]);
  return { ...result, imports: [...found].sort() };
}

function exportsOf(names) {
  const out = {};
  for (const name of names) {
    out[name] = Object.keys(requireFrom(name)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== "default");
  }
  return { ok: true, exports: out };
}

async function incremental(options, edits) {
  try {
    return await timeRebuilds(options, edits);
  } catch (err) {
    return { ok: false, errors: err && Array.isArray(err.errors) ? err.errors.map(message) : [{ text: String(err) }] };
  }
}

async function timeRebuilds(options, edits) {
  const t0 = performance.now();
  const ctx = await esbuild.context({ logLevel: "silent", ...options });
  await ctx.rebuild();
  const cold = performance.now() - t0;
  const times = [];
  for (const [file, text] of edits) {
    writeFileSync(file, text);
    const t = performance.now();
    await ctx.rebuild();
    times.push(performance.now() - t);
  }
  await ctx.dispose();
  return { ok: true, coldMs: cold, rebuildMs: times };
}

// Scan, and when every bare import is one the page shares (React, @atoll/ui), build at once:
// one process instead of two for the usual app without npm packages.
async function scanThenBuild(scanOptions, buildOptions, shared) {
  const scanned = await scan(scanOptions);
  if (!scanned.ok || scanned.imports.some((i) => !shared.includes(i))) return { ...scanned, built: false };
  return { ...(await build(buildOptions)), imports: scanned.imports, built: true };
}

// The compiler's only input is the platform's own `@import "tailwindcss"`, and the only file
// it may load is that package's index.css: candidates are class names, never CSS, so nothing
// a tenant writes can reach @import, @plugin, @config or @source.
const TAILWIND_INPUT = '@import "tailwindcss";';
const TAILWIND_POLYFILLS = 2; // color-mix fallbacks; the builder replaces @property itself

function tailwindOptions() {
  const root = dirname(requireFrom.resolve("tailwindcss/package.json"));
  const index = readFileSync(join(root, "index.css"), "utf8");
  return {
    base: root,
    polyfills: TAILWIND_POLYFILLS,
    loadStylesheet: async (id) => {
      if (id !== "tailwindcss") throw new Error(`cannot import ${id}`);
      return { path: join(root, "index.css"), base: root, content: index };
    },
    loadModule: async (id) => { throw new Error(`cannot load ${id}`); },
  };
}

// A fresh compiler per component (a compiler keeps every candidate it was given). A component
// whose signals add nothing to the empty build does not use Tailwind: no CSS, no preflight.
async function tailwindFor(tw, options, { signals, candidates }, maxChars) {
  const compiler = await tw.compile(TAILWIND_INPUT, options);
  const bare = compiler.build([]);
  if (compiler.build(signals) === bare) return { css: null };
  const css = compiler.build(candidates);
  if (css.length > maxChars) return { error: `the generated CSS is ${css.length} characters, over the ${maxChars} allowed` };
  return { css };
}

// The app's own script files a component's bundle took: the metafile's inputs, walked from the
// entry (lazy imports too); packages and stylesheets are left out.
const SCRIPT = /\.(jsx|tsx|js|ts|mjs|cjs|mts|cts)$/;
function localSources(inputs, entry) {
  const seen = new Set([entry]);
  const stack = [entry];
  while (stack.length) {
    for (const imp of (inputs[stack.pop()] || {}).imports || []) {
      const path = imp.path;
      if (imp.external || seen.has(path) || !(path in inputs)) continue;
      if (path.includes("node_modules/") || !SCRIPT.test(path)) continue;
      seen.add(path);
      stack.push(path);
    }
  }
  return [...seen];
}

// Each component's words are those the builder listed for the files its bundle took.
function componentWords(inputs, entry, files) {
  const candidates = new Set();
  const signals = new Set();
  for (const path of localSources(inputs, entry)) {
    const words = files[path];
    if (!words) continue;
    words.candidates.forEach((w) => candidates.add(w));
    words.signals.forEach((w) => signals.add(w));
  }
  return { candidates: [...candidates].sort(), signals: [...signals].sort() };
}

async function tailwind(metafile, { entries, files, maxCandidates, maxChars }) {
  const tw = requireFrom("tailwindcss");
  const options = tailwindOptions();
  const out = {};
  for (const [name, entry] of Object.entries(entries)) {
    const words = componentWords(metafile.inputs, entry, files);
    if (!words.signals.length) continue;
    if (words.candidates.length > maxCandidates) {
      out[name] = { error: `this component and the modules it imports hold ${words.candidates.length} distinct class-like words; Tailwind reads at most ${maxCandidates} per component` };
      continue;
    }
    try {
      out[name] = await tailwindFor(tw, options, words, maxChars);
    } catch (err) {
      out[name] = { error: String(err && err.message ? err.message : err) };
    }
  }
  return out;
}

let reply;
if (request.cmd === "build") reply = await build(request.options);
else if (request.cmd === "scan") reply = await scan(request.options);
else if (request.cmd === "scan-build") reply = await scanThenBuild(request.scanOptions, request.options, request.shared);
else if (request.cmd === "exports") reply = exportsOf(request.names);
else if (request.cmd === "incremental") reply = await incremental(request.options, request.edits);
else reply = { ok: false, errors: [{ text: `unknown command ${request.cmd}` }] };
// In the build's own process: no second Node start, and none at all without Tailwind words.
if (reply.ok && reply.metafile && request.tailwind) reply.tailwind = await tailwind(reply.metafile, request.tailwind);
process.stdout.write(JSON.stringify(reply));

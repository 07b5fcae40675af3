// Page expressions: paths and a small operator set, evaluated by walking an AST (no eval).
// The grammar matches src/atoll/sdui/expressions.py, which checks pages at build time.
/**
 * Page expressions (`state.count > 0`, `data.todos.length`): parsed and evaluated by walking
 * an AST, never `eval`. The grammar is the page schema's (docs/reference/page-schema.md).
 *
 * @module expr
 */

/** Size limits: characters of a source, nesting depth, tokens, string length, value depth. */
export const LIMITS = Object.freeze({ source: 2000, depth: 32, tokens: 400, string: 1_000_000, value: 32 });
const FORBIDDEN = new Set(["__proto__", "prototype", "constructor"]);
const KEYWORDS = new Map([["true", true], ["false", false], ["null", null]]);
const LEVELS = [["||", "??"], ["&&"], ["==", "!="], ["<", "<=", ">", ">="], ["+", "-"], ["*", "/", "%"]];
const OPS3 = ["===", "!=="];
const OPS2 = ["==", "!=", "<=", ">=", "&&", "||", "??"];
const OPS1 = "+-*/%<>!?:.()[]";

/** An expression is malformed, too large, or reads a forbidden name. */
export class ExprError extends Error {
  /**
   * @param {string} message what is wrong
   * @param {number} [position] where in the source (0-based)
   */
  constructor(message, position) {
    super(position === undefined ? message : `${message} at character ${position}`);
    this.name = "ExprError";
  }
}

const isDigit = (c) => c >= "0" && c <= "9";
const isNameStart = (c) => /[A-Za-z_$]/.test(c);
const isNamePart = (c) => /[A-Za-z0-9_$]/.test(c);

function tokenize(src) {
  const tokens = [];
  let i = 0;
  const push = (kind, text, pos) => {
    tokens.push({ kind, text, pos });
    if (tokens.length > LIMITS.tokens) throw new ExprError(`expression has more than ${LIMITS.tokens} tokens`);
  };
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") { i++; continue; }
    const start = i;
    if (isDigit(c)) {
      while (i < src.length && isDigit(src[i])) i++;
      if (src[i] === "." && isDigit(src[i + 1] || "")) { i++; while (i < src.length && isDigit(src[i])) i++; }
      push("num", src.slice(start, i), start);
    } else if (c === '"' || c === "'") {
      let out = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new ExprError("unterminated string", start);
        const ch = src[i];
        if (ch === c) { i++; break; }
        if (ch === "\\") {
          const esc = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" }[src[i + 1]];
          if (esc === undefined) throw new ExprError(`unknown escape \\${src[i + 1] ?? ""}`, i);
          out += esc;
          i += 2;
        } else { out += ch; i++; }
      }
      push("str", out, start);
    } else if (isNameStart(c)) {
      while (i < src.length && isNamePart(src[i])) i++;
      push("name", src.slice(start, i), start);
    } else {
      const three = src.slice(i, i + 3);
      const two = src.slice(i, i + 2);
      if (OPS3.includes(three)) { push("op", three.slice(0, 2), start); i += 3; }
      else if (OPS2.includes(two)) { push("op", two, start); i += 2; }
      else if (OPS1.includes(c)) { push("op", c, start); i++; }
      else throw new ExprError(`unexpected character ${JSON.stringify(c)}`, start);
    }
  }
  tokens.push({ kind: "end", text: "", pos: src.length });
  return tokens;
}

class Parser {
  constructor(tokens) { this.tokens = tokens; this.i = 0; this.depth = 0; }
  peek() { return this.tokens[this.i]; }
  take() { return this.tokens[this.i++]; }
  isOp(text) { const t = this.peek(); return t.kind === "op" && t.text === text; }
  expect(text) {
    const t = this.take();
    if (t.kind !== "op" || t.text !== text) {
      throw new ExprError(`expected '${text}', found ${t.kind === "end" ? "end of expression" : `'${t.text}'`}`, t.pos);
    }
  }
  enter() { if (++this.depth > LIMITS.depth) throw new ExprError(`expression nests deeper than ${LIMITS.depth}`, this.peek().pos); }
  expr() {
    this.enter();
    let node = this.binary(0);
    if (this.isOp("?")) {
      this.take();
      const yes = this.expr();
      this.expect(":");
      node = ["cond", node, yes, this.expr()];
    }
    this.depth--;
    return node;
  }
  binary(level) {
    if (level === LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    while (this.peek().kind === "op" && LEVELS[level].includes(this.peek().text)) {
      const op = this.take().text;
      left = ["binary", op, left, this.binary(level + 1)];
    }
    return left;
  }
  unary() {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "!" || t.text === "-")) {
      this.take();
      this.enter();
      const operand = this.unary();
      this.depth--;
      return ["unary", t.text, operand];
    }
    return this.postfix();
  }
  postfix() {
    let node = this.primary();
    while (this.isOp(".") || this.isOp("[")) {
      if (this.take().text === ".") {
        const name = this.take();
        if (name.kind !== "name") throw new ExprError("expected a property name after '.'", name.pos);
        checkName(name);
        node = ["get", node, ["lit", name.text]];
      } else {
        const key = this.expr();
        this.expect("]");
        node = ["get", node, key];
      }
    }
    return node;
  }
  primary() {
    const t = this.take();
    if (t.kind === "num") return ["lit", Number(t.text)];
    if (t.kind === "str") return ["lit", t.text];
    if (t.kind === "name") {
      if (KEYWORDS.has(t.text)) return ["lit", KEYWORDS.get(t.text)];
      checkName(t);
      return ["name", t.text];
    }
    if (t.kind === "op" && t.text === "(") {
      const inner = this.expr();
      this.expect(")");
      return inner;
    }
    throw new ExprError(`unexpected ${t.kind === "end" ? "end of expression" : `'${t.text}'`}`, t.pos);
  }
}

function checkName(t) {
  if (FORBIDDEN.has(t.text)) throw new ExprError(`'${t.text}' is not allowed`, t.pos);
}

const cache = new Map();

/**
 * Parse an expression into an AST (cached), or throw ExprError.
 * @param {string} src
 * @returns {Array} the AST: nested arrays, `["name", "state"]`, `["get", obj, key]`, ...
 */
export function parse(src) {
  if (typeof src !== "string") throw new ExprError("an expression must be a string");
  if (src.length > LIMITS.source) throw new ExprError(`expression is longer than ${LIMITS.source} characters`);
  const hit = cache.get(src);
  if (hit) return hit;
  if (!src.trim()) throw new ExprError("expression is empty");
  const parser = new Parser(tokenize(src));
  const ast = parser.expr();
  const tail = parser.peek();
  if (tail.kind !== "end") throw new ExprError(`unexpected '${tail.text}'`, tail.pos);
  if (cache.size > 2000) cache.clear();
  cache.set(src, ast);
  return ast;
}

const isPlainObject = (v) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/**
 * Read one property the way expressions may: own data of plain objects, arrays and strings.
 * @param {unknown} obj
 * @param {string | number} key
 * @returns {unknown} the value, or undefined (prototype keys always are)
 */
export function getProp(obj, key) {
  if (obj === null || obj === undefined) return undefined;
  if (typeof key === "number") key = String(key);
  if (typeof key !== "string" || FORBIDDEN.has(key)) return undefined;
  if (Array.isArray(obj) || typeof obj === "string") {
    if (key === "length") return obj.length;
    if (/^(0|[1-9]\d*)$/.test(key)) return Number(key) < obj.length ? obj[Number(key)] : undefined;
    return undefined;
  }
  if (!isPlainObject(obj) || !Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
  const desc = Object.getOwnPropertyDescriptor(obj, key);
  return desc && "value" in desc ? desc.value : undefined;
}

const norm = (v) => (v === undefined ? null : v);

function text(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new ExprError("cannot join a list or object into text");
}

function arith(op, a, b) {
  if (typeof a !== "number" || typeof b !== "number") return null;
  let r;
  if (op === "-") r = a - b;
  else if (op === "*") r = a * b;
  else if (op === "/") r = a / b;
  else r = a % b;
  return Number.isFinite(r) ? r : null;
}

function compare(op, a, b) {
  if (!((typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string"))) return false;
  if (op === "<") return a < b;
  if (op === "<=") return a <= b;
  if (op === ">") return a > b;
  return a >= b;
}

function evalNode(node, scope) {
  switch (node[0]) {
    case "lit": return node[1];
    case "name": return getProp(scope, node[1]);
    case "get": return getProp(evalNode(node[1], scope), evalNode(node[2], scope));
    case "cond": return evalNode(node[1], scope) ? evalNode(node[2], scope) : evalNode(node[3], scope);
    case "unary": {
      const v = evalNode(node[2], scope);
      if (node[1] === "!") return !v;
      return typeof v === "number" ? -v : null;
    }
    case "binary": {
      const op = node[1];
      const a = evalNode(node[2], scope);
      if (op === "&&") return a ? evalNode(node[3], scope) : a;
      if (op === "||") return a ? a : evalNode(node[3], scope);
      if (op === "??") return a === null || a === undefined ? evalNode(node[3], scope) : a;
      const b = evalNode(node[3], scope);
      if (op === "==") return norm(a) === norm(b);
      if (op === "!=") return norm(a) !== norm(b);
      if (op === "+") {
        if (typeof a === "number" && typeof b === "number") return a + b;
        const s = text(a);
        const t = text(b);
        if (s.length + t.length > LIMITS.string) throw new ExprError(`text longer than ${LIMITS.string} characters`);
        return s + t;
      }
      if (op === "-" || op === "*" || op === "/" || op === "%") return arith(op, a, b);
      return compare(op, a, b);
    }
    default: throw new ExprError(`bad expression node ${String(node[0])}`);
  }
}

/**
 * Evaluate an expression against a scope (a plain object: data, state, item, ...).
 * @param {string} src
 * @param {Record<string, unknown>} scope
 * @returns {unknown}
 */
export function evaluate(src, scope) {
  return evalNode(parse(src), scope);
}

/**
 * The data sources an expression reads: "data.todos.length" -> ["todos"].
 * @param {string} src
 * @returns {Set<string>}
 */
export function dataDeps(src) {
  const deps = new Set();
  const stack = [parse(src)];
  while (stack.length) {
    const n = stack.pop();
    if (n[0] === "get" && n[1][0] === "name" && n[1][1] === "data" && n[2][0] === "lit") deps.add(String(n[2][1]));
    for (const child of n.slice(1)) if (Array.isArray(child)) stack.push(child);
  }
  return deps;
}

/**
 * True when a value is a binding object {"$bind": "..."}.
 * @param {unknown} v
 * @returns {boolean}
 */
export function isBinding(v) {
  return isPlainObject(v) && typeof v.$bind === "string" && Object.keys(v).length === 1;
}

/**
 * Resolve every {"$bind": expr} inside a JSON value; other values are copied as they are.
 * @param {unknown} value
 * @param {Record<string, unknown>} scope
 * @param {number} [depth=0] how deep this value is (values nest at most `LIMITS.value`)
 * @returns {unknown}
 */
export function resolve(value, scope, depth = 0) {
  if (depth > LIMITS.value) throw new ExprError(`value nests deeper than ${LIMITS.value}`);
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope, depth + 1));
  if (isPlainObject(value)) {
    if (isBinding(value)) return evaluate(value.$bind, scope);
    const out = {};
    for (const key of Object.keys(value)) {
      if (FORBIDDEN.has(key)) continue;
      out[key] = resolve(value[key], scope, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * Every data source the bindings inside a JSON value read.
 * @param {unknown} value
 * @param {Set<string>} [into] a set to add them to
 * @param {number} [depth=0]
 * @returns {Set<string>}
 */
export function valueDeps(value, into = new Set(), depth = 0) {
  if (depth > LIMITS.value) return into;
  if (Array.isArray(value)) for (const v of value) valueDeps(v, into, depth + 1);
  else if (isPlainObject(value)) {
    if (isBinding(value)) for (const d of dataDeps(value.$bind)) into.add(d);
    else for (const key of Object.keys(value)) valueDeps(value[key], into, depth + 1);
  }
  return into;
}

/**
 * A copy of `obj` with `path` (e.g. "todo.title") set to `value`; prototype keys refused.
 * @param {Record<string, unknown>} obj
 * @param {string} path dotted, with or without a leading `state.`
 * @param {unknown} value
 * @returns {Record<string, unknown>}
 */
export function setPath(obj, path, value) {
  const parts = String(path).replace(/^state\./, "").split(".");
  if (parts.some((p) => !p || FORBIDDEN.has(p))) throw new ExprError(`bad state path ${JSON.stringify(path)}`);
  const set = (target, i) => {
    const base = isPlainObject(target) ? target : {};
    const copy = {};
    for (const key of Object.keys(base)) copy[key] = base[key];
    copy[parts[i]] = i === parts.length - 1 ? value : set(getProp(base, parts[i]), i + 1);
    return copy;
  };
  return set(obj, 0);
}

/**
 * Read `path` (e.g. "state.todo.title") from a scope.
 * @param {Record<string, unknown>} scope
 * @param {string} path
 * @returns {unknown}
 */
export function getPath(scope, path) {
  let cur = scope;
  for (const part of String(path).split(".")) cur = getProp(cur, part);
  return cur;
}

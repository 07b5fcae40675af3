// Describes an app's components from their source: each default-exported component's props,
// from TypeScript types, PropTypes, JSDoc and the defaults of a destructured props parameter.
//
// Input (stdin): {"files": ["components/Card.tsx", ...], "nodeModules": "/path/node_modules"},
// paths relative to the working directory (the app's code folder). Output (stdout):
// {"components": [{name, file, description, exported, props: [{name, type, required, default,
// description, sources}]}], "notes": [{file, line, message}]}.
// Run by atoll.builder.appdocs. The files are parsed with the TypeScript compiler API (no type
// check, nothing of the app runs), so a file that does not parse still gets a best effort.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const MAX_FILE_BYTES = 512 * 1024;
const MAX_TEXT = 300;

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const ts = createRequire(path.join(input.nodeModules, "noop.js"))("typescript");
const notes = [];

function note(file, line, message) {
  if (notes.length < 200) notes.push({ part: "components", file, line, message });
}

function clip(text) {
  const t = (text || "").replace(/\s+/g, " ").trim();
  return t.length <= MAX_TEXT ? t : t.slice(0, MAX_TEXT - 1) + "…";
}

function kindOf(file) {
  if (file.endsWith(".tsx")) return ts.ScriptKind.TSX;
  if (file.endsWith(".ts")) return ts.ScriptKind.TS;
  if (file.endsWith(".jsx")) return ts.ScriptKind.JSX;
  return ts.ScriptKind.JS;
}

function hasModifier(node, kind) {
  return Boolean(ts.canHaveModifiers(node) && (ts.getModifiers(node) || []).some((m) => m.kind === kind));
}

function lineOf(sf, node) {
  return sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
}

function jsDocText(comment) {
  return clip(ts.getTextOfJSDocComment(comment) || "").replace(/^-\s*/, "");
}

/** The description a node's JSDoc gives (its comment text, without the tags). */
function docOf(node) {
  for (const doc of ts.getJSDocCommentsAndTags(node)) {
    if (ts.isJSDoc(doc) && doc.comment) return jsDocText(doc.comment);
  }
  return "";
}

/** The `//` comment lines right above a statement (when it has no JSDoc). */
function lineCommentsAbove(sf, node) {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.pos) || [];
  const lines = ranges
    .filter((r) => r.kind === ts.SyntaxKind.SingleLineCommentTrivia)
    .map((r) => sf.text.slice(r.pos + 2, r.end).trim());
  return clip(lines.join(" "));
}

/** Top-level declarations by name: functions, classes, variables, interfaces, type aliases. */
function declarations(sf) {
  const found = new Map();
  for (const stmt of sf.statements) {
    if ((ts.isFunctionDeclaration(stmt) || ts.isClassDeclaration(stmt)) && stmt.name) found.set(stmt.name.text, { node: stmt, stmt });
    else if (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) found.set(stmt.name.text, { node: stmt, stmt });
    else if (ts.isVariableStatement(stmt)) {
      for (const decl of stmt.declarationList.declarations) {
        if (ts.isIdentifier(decl.name)) found.set(decl.name.text, { node: decl, stmt });
      }
    }
  }
  return found;
}

/** The default export: its function or class node, the statement that holds it, the names it
 * goes by in the file (for `X.propTypes = ...`), and a declared `FC<Props>`-like type. */
function defaultExport(sf, decls) {
  let expr = null;
  let stmt = null;
  for (const s of sf.statements) {
    if ((ts.isFunctionDeclaration(s) || ts.isClassDeclaration(s)) && hasModifier(s, ts.SyntaxKind.DefaultKeyword)) {
      return { fn: s, stmt: s, names: s.name ? [s.name.text] : [], declaredType: null };
    }
    if (ts.isExportAssignment(s) && !s.isExportEquals) {
      expr = s.expression;
      stmt = s;
    }
    if (ts.isExportDeclaration(s) && s.exportClause && ts.isNamedExports(s.exportClause) && !s.moduleSpecifier) {
      for (const el of s.exportClause.elements) {
        if (el.name.text === "default") {
          expr = el.propertyName || el.name;
          stmt = s;
        }
      }
    }
  }
  if (!expr) return null;
  const names = [];
  let declaredType = null;
  for (let hops = 0; expr && hops < 8; hops++) {
    if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isSatisfiesExpression(expr)) expr = expr.expression;
    else if (ts.isCallExpression(expr) && expr.arguments.length) expr = expr.arguments[0]; // memo(X), forwardRef(...)
    else if (ts.isIdentifier(expr)) {
      names.push(expr.text);
      const found = decls.get(expr.text);
      if (!found) return { fn: null, stmt, names, declaredType };
      stmt = found.stmt;
      if (ts.isVariableDeclaration(found.node)) {
        declaredType = declaredType || found.node.type || null;
        expr = found.node.initializer;
      } else return { fn: found.node, stmt, names, declaredType };
    } else if (ts.isArrowFunction(expr) || ts.isFunctionExpression(expr) || ts.isClassExpression(expr)) {
      return { fn: expr, stmt, names, declaredType };
    } else break;
  }
  return { fn: null, stmt, names, declaredType };
}

function propName(name, sf) {
  if (!name) return null;
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)) return name.text;
  return name.getText(sf);
}

/** Props from a TypeScript type: a literal, an interface or alias of this file, an
 * intersection, or a wrapper such as `Readonly<P>` / `PropsWithChildren<P>`. */
function typeProps(sf, decls, type, props, depth = 0) {
  if (!type || depth > 8) return;
  if (ts.isParenthesizedTypeNode(type)) return typeProps(sf, decls, type.type, props, depth + 1);
  if (ts.isIntersectionTypeNode(type)) {
    for (const t of type.types) typeProps(sf, decls, t, props, depth + 1);
    return;
  }
  if (ts.isTypeLiteralNode(type)) return memberProps(sf, decls, type.members, props, depth);
  if (ts.isTypeReferenceNode(type)) {
    const name = ts.isIdentifier(type.typeName) ? type.typeName.text : type.typeName.right.text;
    const args = type.typeArguments || [];
    if (["Readonly", "PropsWithChildren", "Partial", "Required"].includes(name) && args.length) {
      const before = props.size;
      typeProps(sf, decls, args[0], props, depth + 1);
      if (name === "Partial") for (const p of [...props.values()].slice(before)) p.required = false;
      if (name === "PropsWithChildren") add(props, { name: "children", type: "ReactNode", required: false, sources: ["typescript"] });
      return;
    }
    const found = ts.isIdentifier(type.typeName) ? decls.get(name) : null;
    if (found && ts.isInterfaceDeclaration(found.node)) {
      for (const clause of found.node.heritageClauses || []) {
        for (const t of clause.types) {
          const base = ts.isIdentifier(t.expression) ? decls.get(t.expression.text) : null;
          if (base && ts.isInterfaceDeclaration(base.node)) memberProps(sf, decls, base.node.members, props);
          else if (base && ts.isTypeAliasDeclaration(base.node)) typeProps(sf, decls, base.node.type, props, depth + 1);
          else note(sf.fileName, lineOf(sf, t), `props type ${clip(t.getText(sf))} is not declared in this file: its props are not listed`);
        }
      }
      return memberProps(sf, decls, found.node.members, props, depth);
    }
    if (found && ts.isTypeAliasDeclaration(found.node)) return typeProps(sf, decls, found.node.type, props, depth + 1);
    note(sf.fileName, lineOf(sf, type), `props type ${clip(type.getText(sf))} is not declared in this file: its props are not listed`);
  }
}

function memberProps(sf, decls, members, props) {
  for (const m of members) {
    if (!ts.isPropertySignature(m) && !ts.isMethodSignature(m)) continue;
    const name = propName(m.name, sf);
    if (!name) continue;
    let type = m.type ? m.type.getText(sf) : "any";
    if (ts.isMethodSignature(m)) type = clip(m.getText(sf).replace(/;$/, "").slice(m.name.getText(sf).length).replace(/^\?/, ""));
    const tags = ts.getJSDocTags(m);
    const dflt = tags.find((t) => t.tagName.text === "default" || t.tagName.text === "defaultValue");
    add(props, {
      name,
      type: clip(type),
      required: !m.questionToken,
      default: dflt && dflt.comment ? jsDocText(dflt.comment) : null,
      description: docOf(m),
      sources: ["typescript"],
    });
  }
}

function add(props, prop) {
  const had = props.get(prop.name);
  if (!had) {
    props.set(prop.name, { name: prop.name, type: prop.type || "", required: prop.required ?? null, default: prop.default ?? null, description: prop.description || "", sources: [...prop.sources] });
    return;
  }
  had.type = had.type || prop.type || "";
  if (had.required === null && prop.required !== undefined) had.required = prop.required;
  had.default = had.default ?? prop.default ?? null;
  had.description = had.description || prop.description || "";
  for (const s of prop.sources) if (!had.sources.includes(s)) had.sources.push(s);
}

/** `X.propTypes = {...}` and `X.defaultProps = {...}` (and their `static` class forms). */
function propTypes(sf, fn, names, props) {
  const objects = [];
  for (const stmt of sf.statements) {
    if (!ts.isExpressionStatement(stmt) || !ts.isBinaryExpression(stmt.expression)) continue;
    const { left, right, operatorToken } = stmt.expression;
    if (operatorToken.kind !== ts.SyntaxKind.EqualsToken || !ts.isPropertyAccessExpression(left) || !ts.isObjectLiteralExpression(right)) continue;
    if (!ts.isIdentifier(left.expression) || !names.includes(left.expression.text)) continue;
    objects.push([left.name.text, right]);
  }
  if (fn && (ts.isClassDeclaration(fn) || ts.isClassExpression(fn))) {
    for (const m of fn.members) {
      if (ts.isPropertyDeclaration(m) && hasModifier(m, ts.SyntaxKind.StaticKeyword) && m.initializer && ts.isObjectLiteralExpression(m.initializer)) {
        objects.push([propName(m.name, sf), m.initializer]);
      }
    }
  }
  for (const [kind, object] of objects) {
    if (kind !== "propTypes" && kind !== "defaultProps") continue;
    for (const p of object.properties) {
      if (!ts.isPropertyAssignment(p)) continue;
      const name = propName(p.name, sf);
      const text = p.initializer.getText(sf);
      if (kind === "defaultProps") {
        add(props, { name, default: clip(text), required: false, sources: ["defaultProps"] });
        const had = props.get(name);
        had.required = false;
        continue;
      }
      const required = /\.isRequired\s*$/.test(text);
      const type = text.replace(/\.isRequired\s*$/, "").replace(/\bPropTypes\./g, "");
      add(props, { name, type: clip(type), required, description: docOf(p), sources: ["propTypes"] });
    }
  }
}

/** The `@typedef` of this file named `name`: its `@property` tags. */
function typedefProps(sf, name) {
  for (const stmt of sf.statements) {
    for (const doc of stmt.jsDoc || []) {
      for (const tag of doc.tags || []) {
        if (ts.isJSDocTypedefTag(tag) && tag.name && tag.name.text === name && tag.typeExpression && ts.isJSDocTypeLiteral(tag.typeExpression)) {
          return tag.typeExpression.jsDocPropertyTags || [];
        }
      }
    }
  }
  return null;
}

function jsDocDefault(sf, tag) {
  const m = /\[\s*[\w$.]+\s*=\s*([^\]]*)\]/.exec(tag.getText(sf));
  return m ? clip(m[1]) : null;
}

function tagProp(sf, tag, name) {
  const type = tag.typeExpression ? tag.typeExpression.type : null;
  const optional = tag.isBracketed || Boolean(type && type.kind === ts.SyntaxKind.JSDocOptionalType);
  const shown = type ? (type.kind === ts.SyntaxKind.JSDocOptionalType ? type.type.getText(sf) : type.getText(sf)) : "";
  return { name, type: clip(shown), required: !optional, default: jsDocDefault(sf, tag), description: tag.comment ? jsDocText(tag.comment) : "", sources: ["jsdoc"] };
}

/** Props from JSDoc: `@param {T} props.name` tags, or `@param {Props} props` naming a
 * `@typedef` of this file (or an inline `{{...}}` type). */
function jsDocProps(sf, decls, fn, stmt, props) {
  const tags = [...(fn ? ts.getJSDocTags(fn) : []), ...(stmt && stmt !== fn ? ts.getJSDocTags(stmt) : [])].filter(ts.isJSDocParameterTag);
  if (!tags.length) return;
  const root = tags[0].name.getText(sf);
  for (const tag of tags) {
    const full = tag.name.getText(sf);
    if (full === root) {
      const type = tag.typeExpression && tag.typeExpression.type;
      if (type && ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
        const listed = typedefProps(sf, type.typeName.text);
        if (listed) for (const p of listed) add(props, tagProp(sf, p, p.name.getText(sf)));
        else typeProps(sf, decls, type, props);
      } else if (type && (ts.isTypeLiteralNode(type) || ts.isJSDocTypeLiteral(type))) {
        if (ts.isTypeLiteralNode(type)) typeProps(sf, decls, type, props);
        else for (const p of type.jsDocPropertyTags || []) add(props, tagProp(sf, p, p.name.getText(sf).split(".").pop()));
      }
      continue;
    }
    if (full.startsWith(root + ".")) {
      const name = full.slice(root.length + 1);
      if (!name.includes(".")) add(props, tagProp(sf, tag, name));
    }
  }
}

/** Names and defaults of a destructured first parameter: `({ title, todos = [] })`. */
function destructured(sf, param, props) {
  if (!param || !ts.isObjectBindingPattern(param.name)) return;
  for (const el of param.name.elements) {
    if (el.dotDotDotToken) continue;
    const name = el.propertyName ? propName(el.propertyName, sf) : propName(el.name, sf);
    if (!name) continue;
    const dflt = el.initializer ? clip(el.initializer.getText(sf)) : null;
    add(props, { name, default: dflt, required: dflt === null ? undefined : false, sources: ["destructuring"] });
    if (dflt !== null) props.get(name).required = false;
  }
}

function describe(file) {
  const name = path.basename(file).replace(/\.(jsx|tsx|js|ts)$/, "");
  const entry = { name, file, description: "", exported: false, props: [] };
  let text;
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES) {
      note(file, null, `larger than ${MAX_FILE_BYTES / 1024} KB: its props are not listed`);
      return entry;
    }
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    note(file, null, `cannot be read: ${err.code || err.name}`);
    return entry;
  }
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kindOf(file));
  const problems = sf.parseDiagnostics || [];
  if (problems.length) {
    const first = problems[0];
    const line = first.start === undefined ? null : sf.getLineAndCharacterOfPosition(first.start).line + 1;
    note(file, line, `does not parse: ${clip(ts.flattenDiagnosticMessageText(first.messageText, " "))}; its props are not listed`);
    return entry;
  }
  const decls = declarations(sf);
  const found = defaultExport(sf, decls);
  if (!found) {
    note(file, null, "no default export: a page cannot mount it");
    return entry;
  }
  entry.exported = true;
  const { fn, stmt, names, declaredType } = found;
  entry.description = (fn && docOf(fn)) || (stmt && docOf(stmt)) || (stmt && lineCommentsAbove(sf, stmt)) || "";
  const props = new Map();
  const isClass = fn && (ts.isClassDeclaration(fn) || ts.isClassExpression(fn));
  const param = fn && !isClass ? fn.parameters[0] : null;
  if (param && param.type) typeProps(sf, decls, param.type, props);
  else if (declaredType && ts.isTypeReferenceNode(declaredType) && declaredType.typeArguments) typeProps(sf, decls, declaredType.typeArguments[0], props);
  else if (isClass) {
    for (const clause of fn.heritageClauses || []) {
      const args = clause.types[0] && clause.types[0].typeArguments;
      if (args && args.length) typeProps(sf, decls, args[0], props);
    }
  }
  if (fn && fn.name && !names.includes(fn.name.text)) names.push(fn.name.text);
  propTypes(sf, fn, names, props);
  jsDocProps(sf, decls, fn, stmt, props);
  destructured(sf, param, props);
  entry.props = [...props.values()].map((p) => ({ ...p, required: p.required === null ? false : p.required }));
  return entry;
}

const components = [];
for (const file of input.files) {
  try {
    components.push(describe(file));
  } catch (err) {
    note(file, null, `not described: ${clip(String(err && err.message))}`);
    components.push({ name: path.basename(file).replace(/\.\w+$/, ""), file, description: "", exported: false, props: [] });
  }
}
process.stdout.write(JSON.stringify({ components, notes }));

// Chart drawing (line, bar, area, pie) as plain SVG: a chunk of its own, fetched by pages with a Chart.
import { createElement as h, useLayoutEffect, useRef, useState } from "react";

const PAD = { top: 12, right: 12, bottom: 28, left: 48 };
const PALETTE = ["var(--atoll-chart-1)", "var(--atoll-chart-2)", "var(--atoll-chart-3)", "var(--atoll-chart-4)", "var(--atoll-chart-5)"];
const str = (v) => (v === null || v === undefined ? "" : String(v));
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : Number(v) || 0);

// The top of the value axis: four equal steps of a round size.
function niceMax(v) {
  if (v <= 0) return 4;
  const step = v / 4;
  const p = 10 ** Math.floor(Math.log10(step));
  return 4 * ([1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= step) ?? step);
}
const short = (v) => (Math.abs(v) >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(2)}`);

function legend(names) {
  return h("ul", { className: "atoll-chart-legend" }, names.map((n, i) => h("li", { key: i },
    h("span", { className: "atoll-chart-swatch", style: { background: PALETTE[i % PALETTE.length] } }), n)));
}

function pie(rows, x, y, height, label, W) {
  const total = rows.reduce((s, r) => s + Math.max(0, num(r[y])), 0) || 1;
  const r = height / 2 - 8;
  const cx = W / 2;
  const cy = height / 2;
  let angle = -Math.PI / 2;
  const slices = rows.map((row, i) => {
    const share = Math.max(0, num(row[y])) / total;
    const a0 = angle;
    angle += share * Math.PI * 2;
    const large = share > 0.5 ? 1 : 0;
    const p = (a) => `${cx + r * Math.cos(a)} ${cy + r * Math.sin(a)}`;
    const d = share >= 0.9999 ? `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0` : `M${cx} ${cy}L${p(a0)}A${r} ${r} 0 ${large} 1 ${p(angle)}Z`;
    return h("path", { key: i, d, fill: PALETTE[i % PALETTE.length], stroke: "var(--atoll-surface)", strokeWidth: 2 },
      h("title", null, `${str(row[x])}: ${str(row[y])}`));
  });
  return [h("svg", { key: "svg", viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label }, slices),
    h("div", { key: "legend" }, legend(rows.map((row) => `${str(row[x])} · ${Math.round((Math.max(0, num(row[y])) / total) * 100)}%`)))];
}

function cartesian(kind, rows, x, ys, height, label, W) {
  const iw = W - PAD.left - PAD.right;
  const ih = height - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => ys.map((y) => num(r[y])))));
  const yPos = (v) => PAD.top + ih - (num(v) / max) * ih;
  const n = rows.length;
  const band = iw / Math.max(1, n);
  const xPos = (i) => (kind === "bar" ? PAD.left + band * i + band / 2 : PAD.left + (n > 1 ? (iw * i) / (n - 1) : iw / 2));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => t * max);
  const every = Math.max(1, Math.ceil(n / 8));
  const parts = [];
  for (const t of ticks) {
    parts.push(h("line", { key: `g${t}`, className: "atoll-chart-grid", x1: PAD.left, x2: W - PAD.right, y1: yPos(t), y2: yPos(t) }));
    parts.push(h("text", { key: `t${t}`, className: "atoll-chart-axis", x: PAD.left - 8, y: yPos(t) + 4, textAnchor: "end" }, short(t)));
  }
  rows.forEach((r, i) => {
    if (i % every === 0) parts.push(h("text", { key: `x${i}`, className: "atoll-chart-axis", x: xPos(i), y: height - 8, textAnchor: "middle" }, str(r[x]).slice(0, 12)));
  });
  ys.forEach((y, s) => {
    const color = PALETTE[s % PALETTE.length];
    if (kind === "bar") {
      const bw = Math.max(2, (band * 0.7) / ys.length);
      rows.forEach((r, i) => {
        const top = yPos(r[y]);
        parts.push(h("rect", { key: `b${s}-${i}`, x: xPos(i) - (bw * ys.length) / 2 + bw * s, y: top, width: bw - 1, height: Math.max(0, PAD.top + ih - top), rx: 3, fill: color },
          h("title", null, `${str(r[x])}: ${str(r[y])}`)));
      });
      return;
    }
    const points = rows.map((r, i) => `${xPos(i)},${yPos(r[y])}`).join(" ");
    if (kind === "area" && n) {
      parts.push(h("polygon", { key: `a${s}`, points: `${xPos(0)},${PAD.top + ih} ${points} ${xPos(n - 1)},${PAD.top + ih}`, fill: color, fillOpacity: 0.15 }));
    }
    parts.push(h("polyline", { key: `l${s}`, points, fill: "none", stroke: color, strokeWidth: 2.25, strokeLinejoin: "round", strokeLinecap: "round" }));
    rows.forEach((r, i) => parts.push(h("circle", { key: `p${s}-${i}`, cx: xPos(i), cy: yPos(r[y]), r: 3, fill: color }, h("title", null, `${str(r[x])}: ${str(r[y])}`))));
  });
  return [h("svg", { key: "svg", viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": label }, parts),
    ys.length > 1 ? h("div", { key: "legend" }, legend(ys)) : null];
}

/** The chart itself: `kind`, `data` (a list of objects), `x` (label key), `y` (a key or keys). */
export function ChartView({ id, props }) {
  const box = useRef(null);
  const [width, setWidth] = useState(640);
  useLayoutEffect(() => {
    const measure = () => { if (box.current) setWidth(Math.max(200, Math.round(box.current.clientWidth))); };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(box.current);
    return () => observer.disconnect();
  }, []);
  const rows = (Array.isArray(props.data) ? props.data : []).filter((r) => r && typeof r === "object").slice(0, 500);
  const ys = (Array.isArray(props.y) ? props.y : [props.y]).filter((y) => typeof y === "string").slice(0, 5);
  const height = Math.min(600, Math.max(120, Number(props.height) || 220));
  const label = str(props.label || `${props.kind || "line"} chart`);
  const kind = ["line", "bar", "area", "pie"].includes(props.kind) ? props.kind : "line";
  const body = !rows.length || !ys.length ? h("p", { className: "atoll-empty" }, "No data to chart.")
    : kind === "pie" ? pie(rows, props.x, ys[0], height, label, width) : cartesian(kind, rows, props.x, ys, height, label, width);
  return h("figure", { id, ref: box, className: "atoll-chart", style: { margin: 0 }, "data-kind": kind }, body);
}

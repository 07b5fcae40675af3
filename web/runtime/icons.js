// A small bundled icon set, by name. Shapes drawn after Lucide (ISC licence), 24x24, stroked.
// A path is a string; {c: [cx, cy, r]} is a circle; {r: [x, y, w, h, rx]} a rectangle.
import { createElement as h } from "react";

const ICONS = {
  "alert-triangle": ["m21.73 18-8-14a2 2 0 0 0-3.48 0l-8 14A2 2 0 0 0 4 21h16a2 2 0 0 0 1.73-3", "M12 9v4", "M12 17h.01"],
  "arrow-right": ["M5 12h14", "m12 5 7 7-7 7"],
  "bar-chart": ["M3 3v18h18", "M18 17V9", "M13 17V5", "M8 17v-3"],
  briefcase: [{ r: [2, 7, 20, 14, 2] }, "M16 21V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v16"],
  calendar: [{ r: [3, 4, 18, 18, 2] }, "M16 2v4", "M8 2v4", "M3 10h18"],
  check: ["M20 6 9 17l-5-5"],
  "check-circle": [{ c: [12, 12, 10] }, "m9 12 2 2 4-4"],
  "check-square": ["m9 11 3 3L22 4", "M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11"],
  "chevron-down": ["m6 9 6 6 6-6"],
  "chevron-left": ["m15 18-6-6 6-6"],
  "chevron-right": ["m9 18 6-6-6-6"],
  "chevron-up": ["m18 15-6-6-6 6"],
  clock: [{ c: [12, 12, 10] }, "M12 6v6l4 2"],
  dollar: ["M12 2v20", "M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6"],
  edit: ["M17 3a2.85 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z"],
  "external-link": ["M15 3h6v6", "M10 14 21 3", "M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"],
  filter: ["M22 3H2l8 9.46V19l4 2v-8.54L22 3z"],
  home: ["m3 9 9-7 9 7v11a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z", "M9 22V12h6v10"],
  inbox: ["M22 12h-6l-2 3h-4l-2-3H2", "M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z"],
  info: [{ c: [12, 12, 10] }, "M12 16v-4", "M12 8h.01"],
  layout: [{ r: [3, 3, 7, 9, 1] }, { r: [14, 3, 7, 5, 1] }, { r: [14, 12, 7, 9, 1] }, { r: [3, 16, 7, 5, 1] }],
  mail: [{ r: [2, 4, 20, 16, 2] }, "m22 7-8.97 5.7a1.94 1.94 0 0 1-2.06 0L2 7"],
  package: ["M21 8a2 2 0 0 0-1-1.73l-7-4a2 2 0 0 0-2 0l-7 4A2 2 0 0 0 3 8v8a2 2 0 0 0 1 1.73l7 4a2 2 0 0 0 2 0l7-4A2 2 0 0 0 21 16Z", "m3.3 7 8.7 5 8.7-5", "M12 22V12"],
  plus: ["M5 12h14", "M12 5v14"],
  refresh: ["M3 12a9 9 0 0 1 9-9 9.75 9.75 0 0 1 6.74 2.74L21 8", "M21 3v5h-5", "M21 12a9 9 0 0 1-9 9 9.75 9.75 0 0 1-6.74-2.74L3 16", "M8 16H3v5"],
  search: [{ c: [11, 11, 8] }, "m21 21-4.3-4.3"],
  star: ["M12 2l3.09 6.26L22 9.27l-5 4.87 1.18 6.88L12 17.77l-6.18 3.25L7 14.14 2 9.27l6.91-1.01L12 2z"],
  trash: ["M3 6h18", "M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6", "M8 6V4c0-1 1-2 2-2h4c1 0 2 1 2 2v2"],
  "trending-down": ["M22 17 13.5 8.5 8.5 13.5 2 7", "M16 17h6v-6"],
  "trending-up": ["M22 7 13.5 15.5 8.5 10.5 2 17", "M16 7h6v6"],
  user: ["M19 21v-2a4 4 0 0 0-4-4H9a4 4 0 0 0-4 4v2", { c: [12, 7, 4] }],
  users: ["M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2", { c: [9, 7, 4] }, "M22 21v-2a4 4 0 0 0-3-3.87", "M16 3.13a4 4 0 0 1 0 7.75"],
  x: ["M18 6 6 18", "m6 6 12 12"],
  "x-circle": [{ c: [12, 12, 10] }, "m15 9-6 6", "m9 9 6 6"],
};

/** Names of the bundled icons. */
export const ICON_NAMES = Object.keys(ICONS);

function shape(s, i) {
  if (typeof s === "string") return h("path", { key: i, d: s });
  if (s.c) return h("circle", { key: i, cx: s.c[0], cy: s.c[1], r: s.c[2] });
  return h("rect", { key: i, x: s.r[0], y: s.r[1], width: s.r[2], height: s.r[3], rx: s.r[4] });
}

/** An icon by name (decorative unless given a label); an unknown name draws a small square. */
export function icon(name, { label, size, className } = {}) {
  const shapes = Object.prototype.hasOwnProperty.call(ICONS, name) ? ICONS[name] : [{ r: [5, 5, 14, 14, 2] }];
  const a11y = label ? { role: "img", "aria-label": String(label) } : { "aria-hidden": "true" };
  const style = size ? { width: `${size}px`, height: `${size}px` } : undefined;
  return h("svg", {
    className: className ? `atoll-icon ${className}` : "atoll-icon", viewBox: "0 0 24 24", fill: "none", stroke: "currentColor",
    strokeWidth: 2, strokeLinecap: "round", strokeLinejoin: "round", focusable: "false", style, ...a11y,
  }, shapes.map(shape));
}

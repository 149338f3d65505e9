/**
 * Files from the current view: the JSON document (the same as `python -m attnviz --format json`
 * for the same request, see attnviz/export.py), a CSV of the current head, and the heatmap as
 * PNG or as SVG (vector, for papers). Everything is made in the page: no request leaves it.
 */
import { VIRIDIS } from "../colormap.js";
import { maxOf } from "../heatmap.js";
import { headMatrix, roleOf, stackOf } from "../widgets/common.js";

export const DOCUMENT_FORMAT = "attnviz-result";

/** Tensors ({data, shape}) to nested arrays; -inf/nan to null, as JSON has no such numbers. */
function plain(value) {
  if (value && value.data instanceof Float32Array && Array.isArray(value.shape)) return nest(value.data, value.shape, 0);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  if (typeof value === "number" && !Number.isFinite(value)) return null;
  return value;
}

function nest(data, shape, offset) {
  if (shape.length === 0) return Number.isFinite(data[offset]) ? data[offset] : null;
  if (shape.length === 1) return Array.from(data.subarray(offset, offset + shape[0]), (v) => (Number.isFinite(v) ? v : null));
  const stride = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(data, shape.slice(1), offset + i * stride));
}

/** The keys of the analysis results, in attnviz.export.ANALYSIS_KEYS's order. */
const ANALYSIS_KEYS = ["roles", "roles_about", "roles_best", "roles_probe", "rollout", "flow", "value_norm", "ablate",
  "neuron", "qk_map"];

/**
 * The exportable document of a result (keys in the same order as attnviz.export.to_json_document).
 * @param {object} result @param {string} version @param {object} schemaDoc the model index's result_schema
 */
export function jsonDocument(result, version, schemaDoc) {
  const doc = { format: DOCUMENT_FORMAT, attnviz: version, schema: result.schema, schema_doc: schemaDoc,
    options: result.request, model: result.model, tokens: result.tokens, attention: result.attention,
    built_roles: result.built_roles, metrics: result.metrics, overview: result.overview, notes: result.notes };
  for (const extra of ["trace", "trace_tokens", "next_tokens", "translation", "generated", ...ANALYSIS_KEYS]) {
    if (extra in result) doc[extra] = result[extra];
  }
  return plain(doc);
}

/**
 * The head in view (the request's stack, layer and head): its weights, tokens and a title that
 * numbers layers and heads from 1 as the page does, like attnviz.export.head_in_view.
 * @param {object} result
 */
export function headInView(result) {
  const req = result.request;
  const s = stackOf(result, req.stack);
  const role = roleOf(result, req.head, req.stack);
  const where = `${s.weights.shape[0] > 1 ? `layer ${req.layer + 1} ` : ""}head ${req.head + 1}`;
  const stackName = Object.keys(result.attention).length > 1 || req.stack !== "self" ? ` ${req.stack}` : "";
  return { w: headMatrix(s.weights, req.layer, req.head), q: s.query, k: s.key,
    title: `${result.model.label}${stackName} ${where}${role ? ` (${role.role})` : ""}` };
}

/** A file name for the head in view, numbered as the page numbers it. @param {object} result */
export function baseName(result) {
  const req = result.request;
  const layered = stackOf(result).weights.shape[0] > 1;
  return `attention-${result.model.name}${req.stack !== "self" ? `-${req.stack}` : ""}` +
    `${layered ? `-layer${req.layer + 1}` : ""}-head${req.head + 1}`;
}

/** CSV cell quoting (RFC 4180). */
function csvCell(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The head in view as a labelled matrix, like attnviz.export.to_csv. */
export function csv(result) {
  const { w, q, k: keys } = headInView(result);
  const k = keys.length;
  const lines = [["query \\ key", ...keys.map((t) => t.text)].map(csvCell).join(",")];
  q.forEach((t, i) => {
    const row = Array.from(w.subarray(i * k, (i + 1) * k), (v) => String(Number(v.toPrecision(6))));
    lines.push([csvCell(t.text), ...row].join(","));
  });
  return lines.join("\n") + "\n";
}

/** Escape text for XML. */
export function xmlEscape(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function hex(t) {
  const i = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
  return `#${[0, 1, 2].map((c) => VIRIDIS[i + c].toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A vector heatmap with labels, title and legend, like attnviz.export.to_svg.
 * @param {object} result @param {{rowScale?: boolean, vmax?: number}} [opts] vmax: the top of the
 *   colour scale, as on the page (default: the head's largest weight)
 */
export function svg(result, { rowScale = false, vmax: top = 0 } = {}) {
  const { w, q, k, title } = headInView(result);
  const cell = 18;
  const longest = Math.max(...q.concat(k).map((t) => Array.from(t.text).length));
  const margin = 16 + 7 * Math.min(longest, 24);
  const vmax = top || maxOf(w) || 1;
  const width = margin + k.length * cell + 90, height = margin + q.length * cell + 40;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${xmlEscape(title)}</title>`, `<text x="4" y="14" font-size="13">${xmlEscape(title)}</text>`];
  q.forEach((t, i) => out.push(`<text x="${margin - 4}" y="${(margin + i * cell + cell * 0.7).toFixed(1)}" text-anchor="end">${xmlEscape(t.text)}</text>`));
  k.forEach((t, j) => out.push(`<text transform="translate(${(margin + j * cell + cell * 0.7).toFixed(1)},${margin - 4}) rotate(-60)">${xmlEscape(t.text)}</text>`));
  for (let i = 0; i < q.length; i++) {
    const rowMax = rowScale ? maxOf(w.subarray(i * k.length, (i + 1) * k.length)) || 1 : vmax;
    for (let j = 0; j < k.length; j++) {
      const v = w[i * k.length + j];
      out.push(`<rect x="${margin + j * cell}" y="${margin + i * cell}" width="${cell}" height="${cell}" fill="${hex(v / rowMax)}"><title>${xmlEscape(q[i].text)} → ${xmlEscape(k[j].text)}: ${v.toFixed(4)}</title></rect>`);
    }
  }
  const lx = margin + k.length * cell + 24, span = q.length * cell;
  for (let s = 0; s < 64; s++) {
    out.push(`<rect x="${lx}" y="${(margin + (s * span) / 64).toFixed(2)}" width="14" height="${(span / 64 + 0.5).toFixed(2)}" fill="${hex(1 - s / 63)}"/>`);
  }
  out.push(`<text x="${lx + 18}" y="${margin + 8}">${rowScale ? "Row max" : Number(vmax.toPrecision(3))}</text>`);
  out.push(`<text x="${lx + 18}" y="${margin + span}">0</text>`, "</svg>");
  return out.join("\n");
}

const PNG_FONT = "12px system-ui, sans-serif";

/**
 * A PNG of a heatmap as the page shows it: a title, the cells with their labels, and the legend
 * with the scale it names, on the page's background.
 * @param {import("../heatmap.js").Heatmap} heatmap @param {string} title
 * @param {string} background @param {string} color the text colour
 * @returns {Promise<Blob>}
 */
export function png(heatmap, title, background, color) {
  const cells = heatmap.canvas, legend = heatmap.legend;
  const dpr = cells.width / parseFloat(cells.style.width) || 1; // css px -> device px of the page's canvases
  const pad = 10, titleHeight = 24, legendText = heatmap.scaleText();
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = `bold ${PNG_FONT}`;
  const titleWidth = measure.measureText(title).width;
  measure.font = PNG_FONT;
  const cssWidth = parseFloat(cells.style.width), cssHeight = parseFloat(cells.style.height);
  const legendWidth = parseFloat(legend.style.width), legendHeight = parseFloat(legend.style.height);
  const width = Math.ceil(2 * pad + Math.max(cssWidth, titleWidth, legendWidth, measure.measureText(legendText).width));
  const height = Math.ceil(pad + titleHeight + cssHeight + 6 + legendHeight + 18 + pad);
  const out = document.createElement("canvas");
  out.width = Math.round(width * dpr);
  out.height = Math.round(height * dpr);
  const ctx = out.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = color;
  ctx.textBaseline = "top";
  ctx.font = `bold ${PNG_FONT}`;
  ctx.fillText(title, pad, pad);
  let y = pad + titleHeight;
  ctx.drawImage(cells, pad, y, cssWidth, cssHeight);
  y += cssHeight + 6;
  ctx.drawImage(legend, pad, y, legendWidth, legendHeight);
  ctx.font = PNG_FONT;
  ctx.fillText(legendText, pad, y + legendHeight + 2);
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG encoding failed"))), "image/png"));
}

/** Offer data as a file download. @param {Blob|string} data */
export function download(data, filename, type) {
  const blob = data instanceof Blob ? data : new Blob([data], { type });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

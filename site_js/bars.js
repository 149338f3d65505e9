/**
 * A small bar chart on canvas (labels drawn as canvas text), for the softmax and variance demos and
 * the analyses (a token's rollout over the input; a head's q and k dimension by dimension, signed).
 */
import { cssColor, divergingColor } from "./colormap.js";

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{label: string, value: number, colour?: string}[]} bars
 * @param {{max?: number, height?: number, format?: (v: number) => string, signed?: boolean,
 *   values?: boolean, labelEvery?: number, maxWidth?: number, name?: string}} [opts]
 *   signed: bars go up or down from a zero line; values: write each bar's value (default true);
 *   labelEvery: write every n-th label only (many bars); name: what the chart shows, for its label
 */
export function drawBars(canvas, bars, opts = {}) {
  const { height = 180, format = (v) => v.toFixed(3), signed = false, values = true, labelEvery = 1, maxWidth = 640 } = opts;
  const max = opts.max ?? Math.max(1e-9, ...bars.map((b) => Math.abs(b.value)));
  const width = Math.max(240, Math.min(maxWidth, canvas.parentElement.clientWidth - 4));
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const fg = getComputedStyle(canvas.parentElement).color;
  const top = 18, bottom = 22, slot = width / Math.max(1, bars.length), barW = Math.max(1, Math.min(56, slot * 0.7));
  const span = height - top - bottom;
  const zero = signed ? top + span / 2 : height - bottom; // y of the value 0
  const scale = signed ? span / 2 / max : span / max;
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  if (signed) {
    ctx.fillStyle = fg;
    ctx.fillRect(0, zero, width, 1);
  }
  bars.forEach((b, i) => {
    const v = signed ? b.value : Math.max(0, b.value);
    const h = v * scale;
    const x = i * slot + (slot - barW) / 2;
    ctx.fillStyle = b.colour || (signed ? divergingColor(0.25 * Math.sign(v) + 0.75 * (v / max)) : cssColor(0.25 + 0.6 * (v / max)));
    ctx.fillRect(x, h >= 0 ? zero - h : zero, barW, Math.abs(h));
    ctx.fillStyle = fg;
    if (values) ctx.fillText(format(b.value), x + barW / 2, h >= 0 ? zero - h - 5 : zero - h + 13);
    if (i % labelEvery === 0) ctx.fillText(b.label, x + barW / 2, height - 6);
  });
  canvas.setAttribute("role", "img");
  const described = bars.map((b) => `${b.label}: ${format(b.value)}`).join(", ");
  canvas.setAttribute("aria-label", opts.name ? `${opts.name}. ${described}` : described);
}

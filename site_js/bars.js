/**
 * A small bar chart on canvas (labels drawn as canvas text), for the softmax and variance demos.
 */
import { cssColor } from "./colormap.js";

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{label: string, value: number, colour?: string}[]} bars
 * @param {{max?: number, height?: number, format?: (v: number) => string}} [opts]
 */
export function drawBars(canvas, bars, opts = {}) {
  const { height = 180, format = (v) => v.toFixed(3) } = opts;
  const max = opts.max ?? Math.max(1e-9, ...bars.map((b) => b.value));
  const width = Math.max(240, Math.min(640, canvas.parentElement.clientWidth - 4));
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const fg = getComputedStyle(canvas.parentElement).color;
  const top = 18, bottom = 22, slot = width / bars.length, barW = Math.min(56, slot * 0.7);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  bars.forEach((b, i) => {
    const h = Math.max(0, (b.value / max) * (height - top - bottom));
    const x = i * slot + (slot - barW) / 2;
    ctx.fillStyle = b.colour || cssColor(0.25 + 0.6 * (b.value / max));
    ctx.fillRect(x, height - bottom - h, barW, h);
    ctx.fillStyle = fg;
    ctx.fillText(format(b.value), x + barW / 2, height - bottom - h - 5);
    ctx.fillText(b.label, x + barW / 2, height - 6);
  });
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", bars.map((b) => `${b.label}: ${format(b.value)}`).join(", "));
}

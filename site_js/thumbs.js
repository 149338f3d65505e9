/**
 * Small heatmap thumbnails: one pixel per cell into an offscreen canvas, scaled to a fixed size
 * with smoothing off. Used by grids of many heads, where labels would not fit anyway.
 */
import { VIRIDIS } from "./colormap.js";
import { maxOf } from "./heatmap.js";

/**
 * @param {HTMLCanvasElement} canvas @param {Float32Array} weights (rows * cols)
 * @param {number} rows @param {number} cols @param {number} size css pixels
 * @param {number} [vmax] the top of the colour scale (default: the head's own maximum; see scale.js)
 */
export function drawThumb(canvas, weights, rows, cols, size, vmax = maxOf(weights) || 1) {
  const off = document.createElement("canvas");
  off.width = cols;
  off.height = rows;
  const octx = off.getContext("2d");
  const img = octx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const lut = Math.round(Math.min(1, Math.max(0, weights[i] / vmax)) * 255) * 3;
    img.data[i * 4] = VIRIDIS[lut];
    img.data[i * 4 + 1] = VIRIDIS[lut + 1];
    img.data[i * 4 + 2] = VIRIDIS[lut + 2];
    img.data[i * 4 + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  const dpr = window.devicePixelRatio || 1;
  const scale = size / Math.max(rows, cols);
  canvas.width = Math.round(cols * scale * dpr);
  canvas.height = Math.round(rows * scale * dpr);
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

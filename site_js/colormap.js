/**
 * Viridis, the perceptually uniform, colour-blind-safe map (van der Walt & Smith), as a 256-entry
 * lookup table. The polynomial fit reproduces the published table to within about 1/255.
 */
const C = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/** @type {Uint8ClampedArray} (256 * 3) RGB bytes */
export const VIRIDIS = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = i / 255;
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    for (let p = C.length - 1; p >= 0; p--) v = v * t + C[p][ch];
    VIRIDIS[i * 3 + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
}

/** @param {number} t in [0, 1] @returns {string} css colour */
export function cssColor(t) {
  const i = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
  return `rgb(${VIRIDIS[i]}, ${VIRIDIS[i + 1]}, ${VIRIDIS[i + 2]})`;
}

/** RdBu's stops (ColorBrewer, colour-blind safe), blue for negative through white to red for
 * positive: for signed values such as the change an ablation makes. */
const DIVERGING_STOPS = [[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247], [253, 219, 199], [239, 138, 98], [178, 24, 43]];

/** @type {Uint8ClampedArray} (256 * 3) RGB bytes: index 0 is -max, 128 about 0, 255 +max */
export const DIVERGING = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const x = (i / 255) * (DIVERGING_STOPS.length - 1);
  const j = Math.min(DIVERGING_STOPS.length - 2, Math.floor(x)), f = x - j;
  for (let ch = 0; ch < 3; ch++) DIVERGING[i * 3 + ch] = Math.round(DIVERGING_STOPS[j][ch] * (1 - f) + DIVERGING_STOPS[j + 1][ch] * f);
}

/** @param {number} t in [-1, 1] @returns {string} css colour of the diverging map */
export function divergingColor(t) {
  const i = Math.round((Math.min(1, Math.max(-1, t)) + 1) * 127.5) * 3;
  return `rgb(${DIVERGING[i]}, ${DIVERGING[i + 1]}, ${DIVERGING[i + 2]})`;
}

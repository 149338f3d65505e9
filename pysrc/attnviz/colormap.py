"""Viridis (perceptually uniform, colour-blind safe) as a 256-entry table: the same polynomial fit
as site_js/colormap.js, so exported images match the page."""
from __future__ import annotations

import numpy as np

_COEFFS = np.array([  # (7, 3) polynomial in t, lowest power first, per RGB channel
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
])


def _table() -> np.ndarray:
    t = np.arange(256) / 255  # (256,)
    powers = t[:, None] ** np.arange(7)[None, :]  # (256, 7)
    rgb = np.clip(powers @ _COEFFS, 0, 1)  # (256, 3)
    return np.floor(rgb * 255 + 0.5).astype(np.uint8)  # round half up, like Math.round


VIRIDIS = _table()  # (256, 3) uint8


def colours(values: np.ndarray, vmax: float) -> np.ndarray:
    """values (...,) in [0, vmax] -> (..., 3) uint8 RGB."""
    t = np.clip(values / vmax if vmax > 0 else np.zeros_like(values), 0, 1)
    return VIRIDIS[np.floor(t * 255 + 0.5).astype(int)]


def hex_colour(rgb: np.ndarray) -> str:
    return "#%02x%02x%02x" % tuple(int(c) for c in rgb)

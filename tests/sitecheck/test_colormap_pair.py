"""The viridis fit exists twice, once per language: colormap.py for exported PNG/SVG and
colormap.js for the canvas. They must be the same numbers, or exports would not match the page."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from attnviz.colormap import _COEFFS

COLORMAP_JS = Path(__file__).resolve().parents[2] / "site_js" / "colormap.js"


def test_canvas_and_export_use_the_same_viridis_fit():
    table = re.search(r"const C = (\[.*?\]);", COLORMAP_JS.read_text(), re.S).group(1)
    js_coeffs = np.array(json.loads(re.sub(r",\s*\]", "]", table)))  # (7, 3)
    np.testing.assert_array_equal(js_coeffs, _COEFFS)

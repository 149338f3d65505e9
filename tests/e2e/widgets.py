"""Helpers for widget tests: find the built page that holds a widget, read heatmap cells."""
from __future__ import annotations

import re
from pathlib import Path

SITE = Path(__file__).resolve().parents[2] / "site"


def page_with_widget(name: str, options: str = "", under: str = "") -> str:
    """Site-relative URL of the first built page (in the folder `under`) that has a
    `data-attnviz="name"` placeholder whose data-options contain the text `options`."""
    pattern = rf"""data-attnviz="{re.escape(name)}"[^>]*data-options='[^']*{re.escape(options)}"""
    for html in sorted((SITE / under).rglob("index.html")):
        if re.search(pattern if options else rf'data-attnviz="{re.escape(name)}"', html.read_text(encoding="utf-8")):
            rel = html.parent.relative_to(SITE).as_posix()
            return "" if rel == "." else rel + "/"
    raise AssertionError(f"no built page under {under or '/'} has a {name!r} widget with {options!r}")


def cell_colours(page, host_selector: str, index: int = 0) -> list[list[tuple[int, int, int]]]:
    """The colour at the centre of every cell of the index-th heatmap inside host_selector."""
    return page.evaluate("""([sel, index]) => {
        const canvas = document.querySelectorAll(sel + ' .av-heatmap__cells')[index];
        const g = JSON.parse(canvas.dataset.geom);
        const dpr = canvas.width / parseFloat(canvas.style.width);
        const ctx = canvas.getContext('2d');
        const out = [];
        for (let r = 0; r < g.rows; r++) {
            const row = [];
            for (let c = 0; c < g.cols; c++) {
                const x = Math.floor((g.left + (c + 0.5) * g.cell) * dpr), y = Math.floor((g.top + (r + 0.5) * g.cell) * dpr);
                const d = ctx.getImageData(x, y, 1, 1).data;
                row.push([d[0], d[1], d[2]]);
            }
            out.push(row);
        }
        return out;
    }""", [host_selector, index])

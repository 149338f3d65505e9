"""Take the home page's gallery: screenshots of the site's own views, computed live in headless
Chromium from the built site, saved small (WebP, at most 720 px wide) in docs/assets/gallery/.

usage: python tools/gallery.py [--site DIR]     (after `make site`; rebuild the site afterwards)
"""
from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import launch  # noqa: E402
from tests.support.server import SiteServer  # noqa: E402

OUT = ROOT / "docs" / "assets" / "gallery"
SENTENCE = "The%20doctor%20asked%20the%20nurse%20a%20question%20because%20she%20was%20unsure."
READY = "[data-attnviz][data-ready='true']"

# name -> (page, widget to capture (the index-th of the selector), part of it or None, what to do first)
SHOTS = {
    "explorer": (f"explorer/#text={SENTENCE}&token=8", "[data-attnviz='explorer']", 0, None, None),
    "steps": ("explorer/#text=The%20cat%20sat%20on%20the%20mat.&step=1&stage=3", "[data-attnviz='explorer']", 0,
              ".av-steps", None),
    "model-view": ("model/", "[data-attnviz='model-view']", 0, None, None),
    "head-view": ("model/", "[data-attnviz='head-view']", 0, None, None),
    "induction": ("learn/11-language-model/", "[data-attnviz='model-view']", 1, ".av-detail-caption + div", "consent"),
}

TO_WEBP = """async ([src, width]) => {
  const img = new Image(); img.src = src; await img.decode();
  const scale = Math.min(1, width / img.width);
  const c = document.createElement('canvas');
  c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
  const g = c.getContext('2d'); g.imageSmoothingQuality = 'high';
  g.drawImage(img, 0, 0, c.width, c.height);
  return c.toDataURL('image/webp', 0.82).split(',')[1];
}"""


def capture(browser, server, name: str, width: int = 720) -> Path:
    path, selector, index, part, before = SHOTS[name]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1.5,
                                  color_scheme="light")
    page = context.new_page()
    page.goto(server.url + path)
    if before == "consent":  # the language model asks before its download
        page.click("[data-action=consent]", timeout=120_000)
    widget = page.locator(selector).nth(index)
    view = widget.locator(part).first if part else widget
    widget.scroll_into_view_if_needed()
    # Drawn, and nothing more on its way (the status line says nothing).
    widget.evaluate("(w) => new Promise((resolve) => { const check = () => w.dataset.ready === 'true' && "
                    "!w.querySelector('.av-status__text')?.textContent ? resolve() : setTimeout(check, 100); check(); })")
    # Material's sticky header and tabs would sit over the view (styles set by script pass the policy).
    page.evaluate("document.querySelectorAll('.md-header, .md-tabs').forEach((e) => { e.style.display = 'none'; })")
    view.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the last frame drawn
    png = view.screenshot()
    blank = context.new_page()  # encode in a page of its own, outside the site's policy
    webp = base64.b64decode(blank.evaluate(TO_WEBP, ["data:image/png;base64," + base64.b64encode(png).decode(), width]))
    context.close()
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"{name}.webp"
    out.write_bytes(webp)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("names", nargs="*", default=list(SHOTS), help=f"views to take (default all: {', '.join(SHOTS)})")
    args = parser.parse_args()
    with SiteServer(args.site, "/") as server, sync_playwright() as pw:
        browser = launch(pw)
        for name in args.names:
            out = capture(browser, server, name)
            print(f"{out.relative_to(ROOT)}: {out.stat().st_size / 1e3:.0f} kB")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of the built site for a visual check: the home page, the Explorer (light and dark)
and the articles that carry each kind of widget, full page, plus each live widget on its own so it can be read at full size.

The site in site/ is served on 127.0.0.1 and opened in Debian's Chromium; every widget is given
time to draw before the shot. PNGs go to test-artifacts/screenshots/ (not committed).

usage: python tools/screenshots.py [--out DIR] [--width PX]      (after `make site`)
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import launch  # noqa: E402
from tests.support.server import SiteServer  # noqa: E402

WIDGETS_DRAWN = 180_000  # ms; MiniLM downloads and runs its weights on the first visit


@dataclass(frozen=True)
class Shot:
    name: str
    path: str  # site-relative URL
    scheme: str = "light"


SHOTS = [
    Shot("home", ""),
    Shot("explorer-light", "explorer/"),
    Shot("explorer-dark", "explorer/", "dark"),
    Shot("article-01", "learn/01-what-is-attention/"),
    Shot("article-03", "learn/03-scaled-dot-product/"),
    Shot("article-04", "learn/04-masking/"),
    Shot("article-05", "learn/05-multi-head/"),
    Shot("article-06", "learn/06-self-vs-cross/"),
    Shot("article-07", "learn/07-reading-heatmaps/"),
    Shot("article-08", "learn/08-real-models/"),
]


def wait_for_widgets(page: Page) -> list[str]:
    """Wait until every widget has drawn or shown an error; the names of those that did neither."""
    try:
        page.wait_for_function("""() => [...document.querySelectorAll('[data-attnviz]')].every(
            (w) => w.dataset.ready === 'true' || w.dataset.waiting === 'consent'
                   || w.querySelector('.av-status--error'))""", timeout=WIDGETS_DRAWN)
    except Exception:  # shoot anyway: an empty widget is what the screenshot should show
        pass
    return page.eval_on_selector_all("[data-attnviz]", """(ws) => ws
        .filter((w) => w.dataset.ready !== 'true').map((w) => w.dataset.attnviz)""")


def take(page: Page, base: str, shot: Shot, out: Path) -> list[Path]:
    """The full page, then each widget; returns the files written."""
    page.goto(base + shot.path)
    not_drawn = wait_for_widgets(page)
    if not_drawn:
        print(f"{shot.name}: not drawn: {', '.join(not_drawn)}", file=sys.stderr)
    page.evaluate("document.fonts.ready")
    files = [out / f"{shot.name}.png"]
    page.screenshot(path=str(files[0]), full_page=True, animations="disabled")
    # Material's sticky header would cover the top of a widget scrolled into view.
    # (A constructed stylesheet: the page's CSP rightly refuses an inline <style>.)
    page.evaluate("""() => { const sheet = new CSSStyleSheet();
        sheet.replaceSync('.md-header, .md-tabs { visibility: hidden; }');
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]; }""")
    for i, widget in enumerate(page.locator("[data-attnviz]").all()):
        files.append(out / f"{shot.name}-widget-{i + 1}.png")
        widget.screenshot(path=str(files[-1]), animations="disabled")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    if not (ROOT / "site" / "index.html").exists():
        print("The site is not built: run `make site` first.", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with SiteServer(ROOT / "site") as server, sync_playwright() as pw:
        browser = launch(pw)
        # One browser context per colour scheme: Material remembers the palette it first used in
        # localStorage, so a dark shot needs a context that never saw the light one. Within a
        # context the runtime and the model download once, as for a reader.
        pages: dict[str, Page] = {}
        for shot in SHOTS:
            if shot.scheme not in pages:
                context = browser.new_context(viewport={"width": args.width, "height": 900}, color_scheme=shot.scheme)
                pages[shot.scheme] = context.new_page()
            for f in take(pages[shot.scheme], server.url, shot, args.out):
                print(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

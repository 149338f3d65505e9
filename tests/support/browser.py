"""Launch Debian's Chromium through Playwright, with the flags this closed network needs."""
from __future__ import annotations

import re
import shutil

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: run `make test` (it installs Debian's chromium) "
                           "or `apt-get install chromium`.")
    return path


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def without_built_answers(context) -> None:
    """Serve kept-answers.js with no answers from the build (attnviz/mkdocs/built_answers.py): every
    first view is then computed by Python in the browser, as on a site built without them."""
    def serve(route) -> None:
        response = route.fetch()
        body = re.sub(r"const BUILT = new Set\(\[[^\]]*\]\);", "const BUILT = new Set([]);", response.text(), count=1)
        route.fulfill(response=response, body=body)
    context.route("**/js/kept-answers.js", serve)

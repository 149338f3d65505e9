"""A static file server for the built site, on 127.0.0.1, optionally under a sub-path.

Serving under a prefix (e.g. /attention-visualizer/) is how GitHub Pages serves a project site;
anything outside the prefix is a 404, so an absolute URL in the site shows up as a failed request.
"""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    prefix = "/"
    extra_headers: dict[str, str] = {}

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "__outside_the_site__")
        return super().translate_path("/" + path[len(self.prefix):])

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass


class SiteServer:
    """Serve `root` at http://127.0.0.1:<free port><prefix> in a background thread, optionally
    sending extra headers with every response."""

    def __init__(self, root: Path, prefix: str = "/", handler_base: type = SiteHandler,
                 headers: dict[str, str] | None = None) -> None:
        handler = type("Handler", (handler_base,), {"prefix": prefix, "extra_headers": headers or {}})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.origin + prefix
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SiteServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

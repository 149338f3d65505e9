"""attnviz in any MkDocs site: `plugins: [attnviz]` (plugin.py), with the runtime (runtime.py), the
build steps (hooks.py) and the Markdown syntax of widgets (markdown.py)."""

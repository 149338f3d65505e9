"""The attention view where people already work: a notebook output (`attnviz.show`), a
self-contained HTML file (`attnviz.save_html`, `python -m attnviz ... --format html`), from an
attnviz result or any model's attention arrays, drawn by the site's own browser modules."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from . import page, payload

TABS = page.TABS


class AttentionView:
    """One interactive view: a heatmap (stack, layer and head pickers, hover, PNG/SVG/CSV/JSON
    exports), the model view and the head view. Shown by a notebook as its output."""

    def __init__(self, result: dict, *, tab: str = "heatmap", layer: int = 0, head: int = 0,
                 heads: Sequence[int] | None = None, stack: str | None = None):
        if tab not in TABS:
            raise ValueError(f"tab must be one of {', '.join(TABS)}; got {tab!r}.")
        self.result = payload.view_result(result)
        stack = stack or self.result["request"]["stack"]
        if stack not in self.result["attention"]:
            raise ValueError(f"stack must be one of {', '.join(self.result['attention'])}; got {stack!r}.")
        layers, n_heads = self.result["attention"][stack]["weights"].shape[:2]
        if not (0 <= layer < layers and 0 <= head < n_heads):
            raise ValueError(f"layer and head must be within {layers} layers and {n_heads} heads (from 0).")
        self.view = {"tab": tab, "stack": stack, "layer": layer, "head": head,
                     "heads": list(heads) if heads is not None else []}  # none: the head in view

    def payload(self) -> dict:
        return {"result": payload.encode(self.result), "view": self.view, "index": payload.model_index(self.result)}

    def title(self) -> str:
        return f"{self.result['model']['label']}: attention"

    def html(self) -> str:
        """The whole page (see save)."""
        return page.document(self.payload(), self.title())

    def save(self, path: str | Path) -> Path:
        """Write one HTML file that opens from disk, offline, under a strict CSP."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return page.fragment(self.payload())

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self._repr_html_(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        shape = " × ".join(str(n) for n in self.result["attention"][self.view["stack"]]["weights"].shape)
        return f"<attnviz view: {self.result['model']['label']}, {self.view['stack']} attention ({shape})>"


def view(data: Any, tokens: Sequence[str] | None = None, source_tokens: Sequence[str] | None = None, *,
         label: str = "Attention", batch: int = 0, **options) -> AttentionView:
    """An AttentionView of an attnviz result, or of attention arrays with their tokens (bertviz's
    call: `view(outputs.attentions, tokens)`); with source_tokens, cross-attention from tokens to
    source_tokens. options: tab ("heatmap", "model", "head"), layer, head, heads, stack."""
    if isinstance(data, dict) and "attention" in data and "tokens" in data:
        if tokens is not None or source_tokens is not None:
            raise ValueError("An attnviz result carries its own tokens: give no tokens with it.")
        return AttentionView(data, **options)
    if tokens is None:
        raise ValueError("Give the tokens of the attention: view(attentions, tokens).")
    return AttentionView(payload.from_arrays(data, tokens, source_tokens, label=label, batch=batch), **options)


def show(data: Any, tokens: Sequence[str] | None = None, source_tokens: Sequence[str] | None = None, **options) -> None:
    """Display the view in the running notebook (Jupyter, VS Code); see view for the arguments."""
    shown = view(data, tokens, source_tokens, **options)
    try:
        from IPython.display import display
    except ImportError as exc:
        raise RuntimeError("attnviz.show needs a notebook (IPython); use attnviz.save_html to write a file.") from exc
    display(shown)


def save_html(data: Any, path: str | Path, tokens: Sequence[str] | None = None,
              source_tokens: Sequence[str] | None = None, **options) -> Path:
    """Write the view as one self-contained HTML file (see view for the arguments)."""
    return view(data, tokens, source_tokens, **options).save(path)

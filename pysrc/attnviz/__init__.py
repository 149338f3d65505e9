"""attnviz: the attention mechanism in pure Python + numpy, the same code in CPython and Pyodide.

    import attnviz
    result = attnviz.attention("The cat sat on the mat.", heads=4, causal=True)
    result["attention"]["self"]["weights"]  # float32 (layers, heads, q, k), every row sums to 1
    result["roles"]["self"][1]["role"]      # what the synthetic model's head 1 was built to do

The building blocks are public too: `tokenize`, `softmax`, `scaled_dot_product` (one head with
every intermediate), `multi_head`, and the metrics in `attnviz.metrics`.
"""
from __future__ import annotations

__version__ = "0.1.0"  # before the imports below: api reports it

from .api import run
from .attention import causal_mask, multi_head, padding_mask, scaled_dot_product, softmax
from .errors import RequestError
from .tokenizers.words import Token, tokenize

__all__ = ["attention", "run", "show", "view", "save_html", "Result", "tokenize", "Token", "softmax", "scaled_dot_product", "multi_head",
           "causal_mask", "padding_mask", "RequestError", "__version__"]


class Result(dict):
    """A result (a plain dict, see api.py) that a notebook shows as the interactive view."""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return view(self)._repr_mimebundle_(include, exclude)

    def _repr_html_(self) -> str:
        return view(self)._repr_html_()


def view(data, tokens=None, source_tokens=None, **options):
    """The interactive view (heatmap, model view, head view) of a result or of attention arrays
    with their tokens; see attnviz.notebook.view."""
    from .notebook import view as make_view  # not at import: the browser's worker never needs it
    return make_view(data, tokens, source_tokens, **options)


def show(data, tokens=None, source_tokens=None, **options) -> None:
    """Show the view in a notebook: `attnviz.show(outputs.attentions, tokens)`, like bertviz's
    head_view; see attnviz.notebook.view for the options."""
    from .notebook import show as show_view
    show_view(data, tokens, source_tokens, **options)


def save_html(data, path, tokens=None, source_tokens=None, **options):
    """Write the view as one HTML file that opens from disk, offline; see attnviz.notebook.view."""
    from .notebook import save_html as save
    return save(data, path, tokens, source_tokens, **options)


def attention(text: str, *, source: str | None = None, model: str = "synthetic", heads: int = 8,
              causal: bool = False, temperature: float = 1.0, seed: int = 0, intermediates: bool = False,
              layer: int = 0, head: int = 0, weights_dir: str | None = None, **options) -> dict:
    """Attention weights, tokens, head roles and metrics for text (see api.py for the result).

    source: a second text for cross-attention (queries from text, keys and values from source).
    model: a name in attnviz.models.MODULES: "synthetic" (1 layer, 1-16 heads with known roles),
    "minilm" (real, 6 x 12 heads), ...
    intermediates: also return the trace (X, W_Q, Q, ..., softmax, A·V) of head (layer, head).
    weights_dir: where the model's weights are, if not in the installed model package.
    Raises RequestError with a readable message for bad input. A notebook shows the result as the
    interactive view (attnviz.view).
    """
    request = {"text": text, "model": model, "causal": causal, "temperature": temperature,
               "intermediates": intermediates, "layer": layer, "head": head, **options}
    request.update(heads=heads, seed=seed)  # reset, with a note, for a model they do not apply to
    if source is not None:
        request.update(mode="cross", source=source)
    result = run(request, weights_dir=weights_dir)
    if not result["ok"]:
        raise RequestError(result["error"]["message"], result["error"]["field"])
    return Result(result)

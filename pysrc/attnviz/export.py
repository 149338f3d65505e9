"""Results as files: the JSON document (the same one the Explorer's export writes), a CSV of one
head's weights, and PNG / SVG heatmaps written with numpy and the standard library only."""
from __future__ import annotations

import csv
import io
import json
import math
import struct
import zlib
from xml.sax.saxutils import escape

import numpy as np

from . import __version__
from .colormap import colours, hex_colour

DOCUMENT_FORMAT = "attnviz-result"


def _plain(value):
    """numpy values -> JSON values (nested lists of floats for arrays; inf and nan as null)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# Written into every JSON export, so a file says how to read itself.
DOCUMENT_SCHEMA = {
    "tokens": "{side: [{text, start, end, special, id?, hidden?}]}: each token list by its side's name; spans index "
              "the original text; id is the vocabulary id of a real model's token; hidden marks the tokens the "
              "request's hide names",
    "attention": "{stack: {weights: [layer][head][query][key], query: side, key: side}}: every row sums to 1 "
                 "(0 for a fully masked or hidden row; hidden tokens' columns are 0); query and key name the token "
                 "lists of its rows and columns",
    "built_roles": "{stack: [{role, role_id, description}] per head}: the roles the synthetic model's heads were "
                   "built with (schema 2 called this roles)",
    "metrics": "the head in view (stack, layer, head): summary numbers, row entropy in bits, top (query, key, weight) pairs",
    "overview": "{stack: {entropy_bits: [layer][head], max_weight: [layer][head], overall}}",
    "trace": "the named intermediates (x_query, q, k, v, scores, scaled, mask, masked, pattern, z, ...) of the head "
             "in view, when asked; trace_tokens names its rows' and columns' tokens",
}
# The analyses' results (request field `analysis`), each under its own name beside the attention.
ANALYSIS_SCHEMA = {
    "roles": "{role: [layer][head]}: scores in [0, 1] of the stack in view for previous_token, next_token, self, sink, "
             "duplicate, induction and broad, measured on a repeated sequence of seeded random tokens; roles_about "
             "{role: its one-line definition}, roles_best {role: [layer, head]}, roles_probe {tokens, start, length}",
    "rollout": "[layer][query][key]: attention rollout up to and including each layer, R_l = (0.5·mean_h A_l + "
               "0.5·I)·R_(l-1), rows renormalised; with rollout_heads \"each\" [layer][head][query][key]",
    "flow": "[layer][query][key]: attention flow, the maximum flow from each token after layer l to each input token "
            "through the graph of 0.5·mean_h A + 0.5·I, each row divided by its sum",
    "value_norm": "[layer][head][query][key]: ‖α_ij · v_j W_O^h‖, the size of what each head moves",
    "ablate": "{what: token (side, token, replaced, replacement) | head (stack, layer, head), attention: {stack: "
              "{weights: [layer][head][query][key] after the ablation, query, key}}, difference: {stack: "
              "[layer][head][query][key] after minus before}, notes, next_tokens (after), translation (after)}",
    "neuron": "{stack, layer, head, query, key, tokens, q: [d_head], k: [d_head], product: [d_head], score (the sum "
              "of product), scaled (score / sqrt(d_head)), weight, masked, temperature, rotary, and for rotary models "
              "q_unrotated: [d_head], k_unrotated: [d_head], about}",
    "qk_map": "{stack, layer, head, sentences: [text], tokens: [{sentence, index, text}], queries: [n_q][2], "
              "keys: [n_k][2], key_tokens (a cross stack), pairs: [[query point, key point, weight]], "
              "explained: [share of variance of each axis]}",
}
DOCUMENT_SCHEMA.update(ANALYSIS_SCHEMA)
ANALYSIS_KEYS = ("roles", "roles_about", "roles_best", "roles_probe", "rollout", "flow", "value_norm", "ablate",
                 "neuron", "qk_map")


def to_json_document(result: dict) -> dict:
    """The exportable document of a successful result (schema 3): tokens, options, every attention
    stack, built roles, metrics, notes, the trace when the request asked for it, and the result of
    the analysis it asked for."""
    doc = {
        "format": DOCUMENT_FORMAT, "attnviz": __version__, "schema": result["schema"], "schema_doc": DOCUMENT_SCHEMA,
        "options": result["request"], "model": result["model"], "tokens": result["tokens"],
        "attention": result["attention"], "built_roles": result["built_roles"], "metrics": result["metrics"],
        "overview": result["overview"], "notes": result["notes"],
    }
    for extra in ("trace", "trace_tokens", "next_tokens", "translation", "generated") + ANALYSIS_KEYS:
        if extra in result:
            doc[extra] = result[extra]
    return _plain(doc)


def to_json(result: dict) -> str:
    return json.dumps(to_json_document(result), ensure_ascii=False, indent=1)


def head_in_view(result: dict) -> tuple[np.ndarray, list[dict], list[dict], str]:
    """(q, k) float32 weights of the head the request named, its query and key tokens, and a title
    that numbers layers and heads from 1, as the page does."""
    req = result["request"]
    stack = result["attention"][req["stack"]]
    w = stack["weights"][req["layer"], req["head"]]
    roles = result["built_roles"].get(req["stack"])
    role = roles[req["head"]]["role"] if roles else None
    layers = stack["weights"].shape[0]
    where = (f"layer {req['layer'] + 1} " if layers > 1 else "") + f"head {req['head'] + 1}"
    stack_name = f" {req['stack']}" if len(result["attention"]) > 1 or req["stack"] != "self" else ""
    title = f"{result['model']['label']}{stack_name} {where}" + (f" ({role})" if role else "")
    return w, result["tokens"][stack["query"]], result["tokens"][stack["key"]], title


def to_csv(result: dict) -> str:
    """The head in view as a matrix: a header of key tokens, then one row per query token."""
    w, q_tokens, k_tokens, _ = head_in_view(result)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query \\ key"] + [t["text"] for t in k_tokens])
    for tok, row in zip(q_tokens, w):
        writer.writerow([tok["text"]] + [f"{float(v):.6g}" for v in row])
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def to_png(result: dict, cell: int = 12) -> bytes:
    """The head in view as an RGB PNG, each weight a cell x cell square (viridis, 0 -> max weight)."""
    w = head_in_view(result)[0]
    rgb = colours(w, float(w.max()))  # (q, k, 3)
    image = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)  # (q * cell, k * cell, 3)
    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(height))  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 9)) + _png_chunk(b"IEND", b""))


def to_svg(result: dict, cell: int = 18) -> str:
    """The head in view as a vector heatmap with row and column labels, a title and a 0 -> max legend."""
    w, q_tokens, k_tokens, title = head_in_view(result)
    vmax = float(w.max())
    rgb = colours(w, vmax)
    longest = max(len(t["text"]) for t in q_tokens + k_tokens)
    margin = 16 + 7 * min(longest, 24)
    n_q, n_k = w.shape
    width, height = margin + n_k * cell + 90, margin + n_q * cell + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f"<title>{escape(title)}</title>",
             f'<text x="4" y="14" font-size="13">{escape(title)}</text>']
    for i, tok in enumerate(q_tokens):  # row labels: the queries
        parts.append(f'<text x="{margin - 4}" y="{margin + i * cell + cell * 0.7:.1f}" text-anchor="end">'
                     f"{escape(tok['text'])}</text>")
    for j, tok in enumerate(k_tokens):  # column labels, rotated
        x, y = margin + j * cell + cell * 0.7, margin - 4
        parts.append(f'<text transform="translate({x:.1f},{y}) rotate(-60)">{escape(tok["text"])}</text>')
    for i in range(n_q):
        for j in range(n_k):
            parts.append(f'<rect x="{margin + j * cell}" y="{margin + i * cell}" width="{cell}" height="{cell}" '
                         f'fill="{hex_colour(rgb[i, j])}"><title>{escape(q_tokens[i]["text"])} → '
                         f'{escape(k_tokens[j]["text"])}: {float(w[i, j]):.4f}</title></rect>')
    lx = margin + n_k * cell + 24
    for s in range(64):  # legend: max at the top, 0 at the bottom
        t = 1 - s / 63
        parts.append(f'<rect x="{lx}" y="{margin + s * n_q * cell / 64:.2f}" width="14" '
                     f'height="{n_q * cell / 64 + 0.5:.2f}" fill="{hex_colour(colours(np.array(t), 1.0))}"/>')
    parts.append(f'<text x="{lx + 18}" y="{margin + 8}">{vmax:.3g}</text>')
    parts.append(f'<text x="{lx + 18}" y="{margin + n_q * cell}">0</text>')
    parts.append("</svg>")
    return "\n".join(parts)

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


def to_json_document(result: dict) -> dict:
    """The exportable document of a successful result: tokens, options, weights[layer][head][q][k],
    head roles, metrics, notes, and the intermediates when the request asked for them."""
    doc = {
        "format": DOCUMENT_FORMAT, "attnviz": __version__, "schema": result["schema"],
        "options": result["request"], "model": result["model"],
        "query_tokens": result["query_tokens"], "key_tokens": result["key_tokens"],
        "weights": result["weights"].astype(np.float32),
        "heads": result["heads"], "metrics": result["metrics"], "notes": result["notes"],
    }
    if "intermediates" in result:
        doc["intermediates"] = result["intermediates"]
    return _plain(doc)


def to_json(result: dict) -> str:
    return json.dumps(to_json_document(result), ensure_ascii=False, indent=1)


def head_weights(result: dict, layer: int, head: int) -> np.ndarray:
    """(q, k) float32 weights of one head."""
    return result["weights"][layer, head]


def to_csv(result: dict, layer: int, head: int) -> str:
    """One head as a matrix: a header of key tokens, then one row per query token."""
    w = head_weights(result, layer, head)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["query \\ key"] + [t["text"] for t in result["key_tokens"]])
    for tok, row in zip(result["query_tokens"], w):
        writer.writerow([tok["text"]] + [f"{float(v):.6g}" for v in row])
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def to_png(result: dict, layer: int, head: int, cell: int = 12) -> bytes:
    """A heatmap as an RGB PNG, each weight a cell x cell square (viridis, 0 -> max weight)."""
    w = head_weights(result, layer, head)
    rgb = colours(w, float(w.max()))  # (q, k, 3)
    image = np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)  # (q * cell, k * cell, 3)
    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(height))  # filter byte 0 per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 9)) + _png_chunk(b"IEND", b""))


def to_svg(result: dict, layer: int, head: int, cell: int = 18) -> str:
    """A vector heatmap with row and column labels, a title and a 0 -> max legend."""
    w = head_weights(result, layer, head)
    vmax = float(w.max())
    rgb = colours(w, vmax)
    q_tokens, k_tokens = result["query_tokens"], result["key_tokens"]
    longest = max(len(t["text"]) for t in q_tokens + k_tokens)
    margin = 16 + 7 * min(longest, 24)
    n_q, n_k = w.shape
    width, height = margin + n_k * cell + 90, margin + n_q * cell + 40
    info = result["heads"][layer * result["model"]["heads"] + head]
    title = f"{result['model']['name']} layer {layer} head {head}" + (f" ({info['role']})" if info.get("role") else "")
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

"""attnviz.export: the JSON document, CSV, PNG and SVG files."""
from __future__ import annotations

import json
import re
import struct
import zlib

import numpy as np

from attnviz import api, export
from attnviz.colormap import VIRIDIS

TEXT = 'Say "<b>hi</b>" & go'


def result(**options):
    r = api.run({"text": TEXT, "heads": 3, **options})
    assert r["ok"], r
    return r


def test_json_document_carries_everything_as_plain_json():
    r = result(intermediates=True, causal=True, head=1)
    doc = json.loads(export.to_json(r))
    assert doc["format"] == "attnviz-result" and doc["schema"] == 3 and doc["options"]["causal"] is True
    assert set(doc["schema_doc"]) >= {"tokens", "attention", "built_roles", "metrics", "overview", "trace"}
    assert doc["model"]["name"] == "synthetic" and doc["options"]["head"] == 1
    assert [t["text"] for t in doc["tokens"]["text"]] == [t["text"] for t in r["tokens"]["text"]]
    assert doc["attention"]["self"]["query"] == doc["attention"]["self"]["key"] == "text"
    np.testing.assert_allclose(np.array(doc["attention"]["self"]["weights"]), r["attention"]["self"]["weights"],
                               atol=1e-7)
    assert len(doc["built_roles"]["self"]) == 3 and doc["built_roles"]["self"][0]["role"]
    assert doc["trace"]["masked"][0][1] is None  # -inf (masked) becomes null
    np.testing.assert_allclose(np.array(doc["trace"]["pattern"]), r["attention"]["self"]["weights"][0, 1], atol=1e-7)
    assert doc["trace_tokens"]["query"] == doc["tokens"]["text"]
    assert (doc["metrics"]["stack"], doc["metrics"]["layer"], doc["metrics"]["head"]) == ("self", 0, 1)
    assert np.array(doc["metrics"]["row_entropy_bits"]).shape == (len(r["tokens"]["text"]),)
    assert np.array(doc["overview"]["self"]["entropy_bits"]).shape == (1, 3)
    assert "timings" not in doc


def test_csv_is_a_labelled_matrix():
    r = result(head=1)
    lines = export.to_csv(r).splitlines()
    n = len(r["tokens"]["text"])
    assert len(lines) == n + 1 and lines[0].startswith("query \\ key,Say,")
    assert '"""' in lines[0]  # the quote token is CSV-escaped
    row = [float(v) for v in lines[1].split(",")[1:]]
    np.testing.assert_allclose(row, r["attention"]["self"]["weights"][0, 1, 0], atol=1e-5)  # the head asked for


def decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height = size
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].reshape(height, width, 3)


def test_png_cells_have_the_colour_of_their_weight():
    r = result(head=2)
    w = r["attention"]["self"]["weights"][0, 2]
    image = decode_png(export.to_png(r, cell=4))
    n_q, n_k = w.shape
    assert image.shape == (n_q * 4, n_k * 4, 3)
    i, j = np.unravel_index(w.argmax(), w.shape)
    assert tuple(image[i * 4 + 2, j * 4 + 2]) == tuple(VIRIDIS[255])
    i, j = np.unravel_index(w.argmin(), w.shape)
    assert tuple(image[i * 4, j * 4]) == tuple(VIRIDIS[round(float(w.min() / w.max()) * 255)])


def test_svg_has_escaped_labels_and_one_rect_per_cell():
    r = result(head=2)
    svg = export.to_svg(r)
    n = len(r["tokens"]["text"])
    assert svg.startswith("<svg") and svg.count("<rect") == n * n + 64
    assert "&lt;" in svg and "<b>" not in svg and "&amp;" in svg
    # the title names the head the request asked for (numbered from 1) and its role, no other head's
    roles = [h["role"] for h in r["built_roles"]["self"]]
    assert f"<title>Synthetic head 3 ({roles[2]})</title>" in svg
    assert all(role not in svg for role in roles[:2])
    # and the cells are that head's weights
    w = r["attention"]["self"]["weights"][0, 2]
    cells = [float(v) for v in re.findall(r": ([0-9.]+)</title></rect>", svg)]
    np.testing.assert_allclose(cells, w.ravel(), atol=5e-5)

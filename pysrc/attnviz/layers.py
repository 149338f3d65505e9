"""The layers real transformers are built from, once, in numpy float32: linear maps, layer and RMS
norms, activations, and position codes (rotary and sinusoidal). Every real model in
`attnviz.models` uses these; nothing here knows about a particular model.

Weights are kept in (out, in) order, as the weight files store them: Pyodide's numpy has no BLAS,
and `einsum("tk,nk->tn")` over (out, in) weights measured about 5 x faster there than
`x @ W.T` on pre-transposed copies.
"""
from __future__ import annotations

import math

import numpy as np


def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x Wᵀ + b. x: (t, in), weight: (out, in), bias: (out,) -> (t, out)."""
    y = np.einsum("tk,nk->tn", x, weight)
    return y + bias if bias is not None else y


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Normalise each row to mean 0 and variance 1, then scale and shift. x: (t, d)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * gain + bias


def rms_norm(x: np.ndarray, gain: np.ndarray, eps: float) -> np.ndarray:
    """Divide each row by its root mean square, then scale (Llama's norm: no mean, no bias). x: (t, d)."""
    rms = np.sqrt((x * x).mean(axis=-1, keepdims=True) + np.float32(eps))
    return x / rms * gain


def erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7, under float32's
    resolution of GELU's output); numpy has no erf and math.erf per element is too slow."""
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (np.sign(x) * (1.0 - poly * np.exp(-a * a))).astype(x.dtype)


def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU (BERT's): x Φ(x) = x (1 + erf(x / √2)) / 2."""
    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))


def silu(x: np.ndarray) -> np.ndarray:
    """x σ(x), the gate of SwiGLU feed-forwards."""
    return x / (1.0 + np.exp(-x))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def rope_angles(n: int, d_head: int, base: float, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotary angles for positions start..start+n-1: each (n, d_head), in the
    rotate-half layout (frequency f at columns f and f + d_head/2)."""
    inv_freq = 1.0 / base ** (np.arange(0, d_head, 2, dtype=np.float64) / d_head)  # (d_head/2,)
    angles = np.arange(start, start + n, dtype=np.float64)[:, None] * inv_freq[None, :]  # (n, d_head/2)
    angles = np.concatenate([angles, angles], axis=-1)  # (n, d_head)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def rotate_half(x: np.ndarray) -> np.ndarray:
    """(…, d) -> (…, d): (x1, x2) -> (-x2, x1), the 90° turn of every (f, f + d/2) pair."""
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate each (f, f + d/2) pair of x by its position's angle. x: (heads, n, d), cos/sin: (n, d).
    After this, q_i · k_j depends on the positions only through i − j."""
    return x * cos + rotate_half(x) * sin


def sinusoidal_positions(n: int, d_model: int, start: int = 0) -> np.ndarray:
    """(n, d_model) the Transformer's fixed position code, sines in the first half and cosines in
    the second (Marian's layout; "Attention Is All You Need" interleaves them instead)."""
    half = d_model // 2
    freq = np.exp(np.arange(half, dtype=np.float64) * -(math.log(10000.0) / (half - 1)))  # (half,)
    angles = np.arange(start, start + n, dtype=np.float64)[:, None] * freq[None, :]  # (n, half)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1).astype(np.float32)

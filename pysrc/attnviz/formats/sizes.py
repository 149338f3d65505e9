"""The one check of a stored array's shape against the bytes that hold it, for every reader."""
from __future__ import annotations


def nbytes(shape, itemsize: float, limit: int) -> int | None:
    """Bytes an array of this shape takes, or None when it, or the shape with its zero sizes left
    out, would pass `limit` bytes: no file can hold it, and numpy may not even describe it (a
    (0, 2**62) array is refused, and in Pyodide an array's bytes must fit in 31 bits). Stops
    multiplying once past the limit, so a hostile shape of many huge sizes costs no long
    big-integer product. itemsize may be a fraction (4-bit values)."""
    n = itemsize
    for d in shape:
        if d < 0:
            return None
        n *= d or 1
        if n > limit:
            return None
    return 0 if 0 in shape else int(n)

"""Vectorised helpers for the sample-data generator (numpy grouping, Arrow string/money/time).

All helpers work on whole columns; nothing loops over rows in Python.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.contract import MONEY, TS

US_PER_DAY = 86_400_000_000

_HEX_LUT = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


# --- numpy grouping -----------------------------------------------------------------------
def expand(counts: np.ndarray) -> np.ndarray:
    """Index of the parent row for every child row (`np.repeat(arange, counts)`)."""
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def rank_in_group(counts: np.ndarray) -> np.ndarray:
    """0..count-1 for every child row, given per-parent child counts (children contiguous)."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def group_starts(keys: np.ndarray) -> np.ndarray:
    """Boolean mask: True where a new group starts in an array sorted by `keys`."""
    out = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        out[1:] = keys[1:] != keys[:-1]
    return out


def grouped_cumsum(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group of equal consecutive `keys`."""
    cs = np.cumsum(values)
    starts = np.flatnonzero(group_starts(keys))
    before = np.concatenate([[0], cs[starts[1:] - 1]]) if len(starts) else np.zeros(0)
    counts = np.diff(np.append(starts, len(values)))
    return cs - np.repeat(before, counts)


def group_first_index(keys: np.ndarray, n_groups: int) -> np.ndarray:
    """Index of the first row per key value 0..n_groups-1 (keys sorted); -1 if absent."""
    out = np.full(n_groups, -1, dtype=np.int64)
    starts = np.flatnonzero(group_starts(keys))
    out[keys[starts]] = starts
    return out


def bijection(idx: np.ndarray, mult: int, add: int, modulus: int) -> np.ndarray:
    """A permutation of 0..modulus-1 (mult coprime with modulus): unique, random-looking."""
    return (idx.astype(np.int64) * mult + add) % modulus


# --- arrow builders -----------------------------------------------------------------------
def s(values: np.ndarray | pa.Array) -> pa.Array:
    """Any integer array -> utf8 Arrow array of its decimal digits."""
    return pc.cast(pa.array(values), pa.string())


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literals."""
    return pc.binary_join_element_wise(*parts, "")


def padded_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return join(prefix, pc.utf8_lpad(s(numbers), width=width, padding="0"))


def hex_ids(prefix: str, rand: np.ndarray) -> pa.Array:
    """prefix + 16 hex digits from uint64 random values."""
    raw = np.ascontiguousarray(rand.astype(np.uint64)).view(np.uint8).reshape(-1, 8)
    hexed = np.ascontiguousarray(_HEX_LUT[raw]).view("S16").ravel()
    return join(prefix, pc.cast(pa.array(hexed, type=pa.binary()), pa.string()))


def pick(pool: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """Strings from a small pool by index."""
    return pa.array(list(pool), type=pa.string()).take(pa.array(idx))


def null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """Replace values with null where mask is True."""
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def choose(which: np.ndarray, *options: pa.Array) -> pa.Array:
    return pc.choose(pa.array(which.astype(np.int8)), *options)


def money(cents: np.ndarray) -> pa.Array:
    """int64 cents -> decimal128(18, 2) without going through floats."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words.tobytes())])


def timestamps(start_us: int, days: np.ndarray) -> pa.Array:
    """Days (float) since `start_us` -> UTC microsecond timestamps."""
    us = start_us + np.round(days * US_PER_DAY).astype(np.int64)
    return pa.array(us, type=TS)

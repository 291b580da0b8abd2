"""Near-duplicates: a passage repeating a better-ranked one is not shown again.

Two passages repeat each other when they hold the same terms, or (both having at least
`MIN_WORDS` terms) when `OVERLAP` of the smaller one's terms, weighted by idf, are in the other:
a summary bullet and the paragraph it summarises, or a paragraph an article quotes twice. The
idf weighting keeps apart two passages of one biography, which share their general terms (年,
任, 中共) but not the specific ones that make each an answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Passages sharing this share of the smaller one's idf-weighted terms count as one.
OVERLAP = 0.7
# A short line shares most of its few terms with many passages without repeating any.
MIN_WORDS = 10


def repeats(a: frozenset[int], b: frozenset[int], idf: Callable[[frozenset[int]], float]) -> bool:
    """Whether two passages' term sets repeat each other; idf(terms) sums the terms' idf."""
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_WORDS:
        return False
    smaller = a if idf(a) <= idf(b) else b
    return idf(a & b) / idf(smaller) >= OVERLAP


def signatures(terms: np.ndarray, starts: np.ndarray, block_rows: int = 1 << 14) -> np.ndarray:
    """A 64-bit fingerprint of each passage's set of terms: equal sets, equal fingerprints."""
    rows = len(starts) - 1
    sums = np.zeros(rows, dtype=np.uint64)
    lengths = np.diff(starts)
    with np.errstate(over="ignore"):
        # Two multiplicative hashes of each term id, summed per row (wrapping). Block by rows so
        # the 64-bit temporaries stay small however big the corpus.
        for first in range(0, rows, block_rows):
            last = min(first + block_rows, rows)
            base, end = starts[first], starts[last]
            if end == base:
                continue
            ids = terms[base:end].astype(np.uint64) + np.uint64(1)
            mixed = ids * np.uint64(0x9E3779B97F4A7C15) ^ (ids * ids) * np.uint64(0xC2B2AE3D27D4EB4F)
            # reduceat needs strictly valid offsets: sum only the rows that hold terms.
            filled = np.flatnonzero(lengths[first:last]) + first
            sums[filled] = np.add.reduceat(mixed, starts[filled] - base)
        return sums + lengths.astype(np.uint64) * np.uint64(0x165667B19E3779F9)

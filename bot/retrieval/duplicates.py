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


# A ratio of idf sums added up in another order than repeats' own may miss it by a few units in
# the last place; one this close to OVERLAP is decided by repeats itself.
_MARGIN = 1e-9


class Candidates:
    """repeats(a, b) of many passages a against one passage b at a time, vectorised.

    For passages whose term sets differ from b's (callers skip exact repeats by signature first):
    repeats is then whether both hold MIN_WORDS terms and the shared terms' idf is OVERLAP of the
    smaller one's. The sums here are added in another order than repeats' own, so a ratio within
    _MARGIN of OVERLAP is left to repeats itself: the answers are exactly repeats'.
    """

    def __init__(self, lengths: np.ndarray, terms: np.ndarray, idf: np.ndarray) -> None:
        """lengths: each passage's number of distinct terms; terms: the terms of those holding
        MIN_WORDS or more, one passage after the other (the others can repeat no passage);
        idf: every term's idf."""
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self._long = np.flatnonzero(self.lengths >= MIN_WORDS)
        held = self.lengths[self._long]
        self._terms = np.asarray(terms, dtype=np.intp)
        self._starts = np.concatenate(([0], np.cumsum(held)[:-1])).astype(np.intp)
        self._idf = idf
        self._weights = np.asarray(idf[self._terms], dtype=np.float64)
        self._sums = np.add.reduceat(self._weights, self._starts) if len(held) else np.zeros(0)

    def repeating(self, b: frozenset[int], b_idf: float, exact: Callable[[int], bool]) -> np.ndarray:
        """Whether each passage repeats b (b_idf: idf(b) as repeats computes it); exact(n) is
        repeats(passage n, b), asked only for ratios too close to OVERLAP to tell here."""
        out = np.zeros(len(self.lengths), dtype=bool)
        if len(b) < MIN_WORDS or not len(self._long):
            return out
        shared = np.zeros(len(self._idf), dtype=bool)
        shared[np.fromiter(b, dtype=np.intp, count=len(b))] = True
        overlap = np.add.reduceat(np.where(shared[self._terms], self._weights, 0.0), self._starts)
        ratio = overlap / np.minimum(self._sums, b_idf)
        out[self._long] = ratio >= OVERLAP
        for n in self._long[np.abs(ratio - OVERLAP) <= _MARGIN].tolist():
            out[n] = exact(n)
        return out


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

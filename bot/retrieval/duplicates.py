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


def repeats(a: frozenset[int], b: frozenset[int], idf: Callable[[frozenset[int]], float],
            rough: Callable[[frozenset[int]], float] | None = None) -> bool:
    """Whether two passages' term sets repeat each other; idf(terms) sums the terms' idf. rough,
    when given, sums them too in another order (a cheaper sum, a few units in the last place
    off): its ratio answers unless it comes within _MARGIN of OVERLAP, where idf's own sums
    decide, so the answer is always idf's. (The smaller one's sum is the lesser of the two
    either way: the lesser of two rough sums is as near the exact lesser one as they are.)"""
    if not a or not b:
        return False
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_WORDS:
        return False
    shared = a & b
    if rough is not None:
        ratio = rough(shared) / min(rough(a), rough(b))
        if abs(ratio - OVERLAP) > _MARGIN:
            return ratio >= OVERLAP
    smaller = a if idf(a) <= idf(b) else b
    return idf(shared) / idf(smaller) >= OVERLAP


# A ratio of idf sums added up in another order than repeats' own may miss it by a few units in
# the last place; one this close to OVERLAP is decided by repeats itself.
_MARGIN = 1e-9
# Candidates.repeating asks the columns of b's rarest terms holding this much of b's idf beyond
# OVERLAP: a near-copy still holds them all (a copy that lost a sentence may miss one).
_SPARE = 0.15


class Candidates:
    """repeats(a, b) of many passages a against one passage b at a time, vectorised.

    For passages whose term sets differ from b's (callers skip exact repeats by signature first):
    repeats is then whether both hold MIN_WORDS terms and the shared terms' idf is OVERLAP of the
    smaller one's. The sums here are added in another order than repeats' own, so a ratio within
    _MARGIN of OVERLAP is left to repeats itself: the answers are exactly repeats'.

    A passage's own terms are read only when b's cannot decide: given `held` (which passages
    hold some of b's terms, from the index columns of terms no head holds, where a column's
    passages are those holding the term themselves), a passage holding OVERLAP of b's idf
    repeats b whatever else it holds, since the smaller one's idf is at most b's. In a big
    library's deep pools most candidates are such near-copies of one kept passage.
    """

    def __init__(self, lengths: np.ndarray, terms: np.ndarray | Callable[[np.ndarray], np.ndarray],
                 idf: np.ndarray, held: Callable[[list[int], np.ndarray], np.ndarray] | None = None,
                 exact_terms: np.ndarray | None = None) -> None:
        """lengths: each passage's number of distinct terms; terms: the terms of those holding
        MIN_WORDS or more, one passage after the other (the others can repeat no passage), or
        read(places): the terms of the passages at those places, one after the other; idf:
        every term's idf; held(terms, places): terms x places, whether each of those passages
        holds each term, asked only for terms whose exact_terms is True."""
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self._long = np.flatnonzero(self.lengths >= MIN_WORDS)
        self._idf = idf
        self._held, self._exact_terms = held, exact_terms
        self._read = terms if callable(terms) else None
        # The passages read so far, in batches: (places, their terms, each one's start, weights, sums).
        self._batches: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._unread = np.ones(len(self.lengths), dtype=bool)
        if self._read is None:
            self._add(self._long, np.asarray(terms, dtype=np.intp))

    def _add(self, places: np.ndarray, terms: np.ndarray) -> None:
        """Keep the terms of the long passages at places (their terms one after the other)."""
        if not len(places):
            return
        terms = np.asarray(terms, dtype=np.intp)
        starts = np.concatenate(([0], np.cumsum(self.lengths[places])[:-1])).astype(np.intp)
        weights = np.asarray(self._idf[terms], dtype=np.float64)
        self._batches.append((places, terms, starts, weights, np.add.reduceat(weights, starts)))
        self._unread[places] = False

    def repeating(self, b: frozenset[int], b_idf: float, exact: Callable[[int], bool],
                  settled: np.ndarray | None = None) -> np.ndarray:
        """Whether each passage repeats b (b_idf: idf(b) as repeats computes it); exact(n) is
        repeats(passage n, b), asked only for ratios too close to OVERLAP to tell here. Passages
        settled (already known to repeat another) are answered False without a look."""
        out = np.zeros(len(self.lengths), dtype=bool)
        if len(b) < MIN_WORDS or not len(self._long):
            return out
        todo = self._long if settled is None else self._long[~settled[self._long]]
        if self._held is not None and len(todo) and b_idf > 0:
            # b's rarest terms, to OVERLAP of its idf and some to spare: a near-copy holds them
            # all, and a rare term's column is short to search.
            terms = [t for t in b if self._exact_terms[t]]
            weights = np.asarray(self._idf[terms], dtype=np.float64)
            order = np.argsort(-weights, kind="stable")
            enough = int(np.searchsorted(np.cumsum(weights[order]), min(1.0, OVERLAP + _SPARE) * b_idf)) + 1
            terms, weights = [terms[i] for i in order[:enough].tolist()], weights[order[:enough]]
            if terms and weights.sum() >= OVERLAP * b_idf * (1 - 1e-6):
                overlap = weights @ self._held(terms, todo)
                sure = overlap >= (OVERLAP + _MARGIN) * b_idf
                out[todo[sure]] = True
                todo = todo[~sure]
        if not len(todo):
            return out
        if self._read is not None:
            unread = todo[self._unread[todo]]
            if len(unread):
                self._add(unread, self._read(unread))
        shared = np.zeros(len(self._idf), dtype=bool)
        shared[np.fromiter(b, dtype=np.intp, count=len(b))] = True
        wanted = np.zeros(len(self.lengths), dtype=bool)
        wanted[todo] = True
        for places, terms, starts, weights, sums in self._batches:
            mine = wanted[places]
            if not mine.any():
                continue
            overlap = np.add.reduceat(np.where(shared[terms], weights, 0.0), starts)
            ratio = overlap / np.minimum(sums, b_idf)
            out[places[mine]] = (ratio >= OVERLAP)[mine]
            for n in places[mine & (np.abs(ratio - OVERLAP) <= _MARGIN)].tolist():
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

"""BM25F scores over the two representations, as precomputed sparse term columns.

For one representation (words or bigrams) and a term t of passage d:
    tf~(t, d) = tf_body(t, d) / B_body(d) + head_weight * tf_head(t, d) / B_head(d)
    B_f(d)    = 1 - b_f + b_f * len_f(d) / mean len_f
    w(t, d)   = idf(t) * tf~ * (k1 + 1) / (tf~ + k1)
    idf(t)    = ln(1 + (N - n_t + 0.5) / (n_t + 0.5))      n_t: passages holding t in any field
This is BM25F (Robertson, Zaragoza & Taylor 2004): the fields' frequencies are combined before
the saturation, so a title word counts as evidence of the passage's subject without counting
twice when the body repeats it. With head_weight 0 it is plain BM25 (Okapi) of the body. With
separate_head the fields are saturated apart and added (BM25 per field): the head then gives every
passage of an article the same bonus and leaves the body to decide among them, which suits titles
full of the article's common words; which one a library's kind prefers is fitted.

A passage's score is  words(d) + bigram_weight * bigrams(d), each the sum over the question's
terms of its weight times w(t, d). The weights are stored per term column (CSC), so a question
costs only the columns of its own terms, whatever the library's size.

The idf rule is BM25Okapi's made positive the way Lucene does it, instead of rank-bm25's epsilon
floor: that floor gives every word found in more than half the passages the same idf, which can
exceed the idf of a real topic word just under the half-way mark; ours falls strictly as a word
gets commoner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from bot.retrieval.index import FieldCounts


# A column of at least this many passages (a common term) also keeps its high tier apart: the
# biggest 1/HIGH_TIER_SHARE of its weights, so a question reads the rest only when it must.
LONG_COLUMN = 4096
HIGH_TIER_SHARE = 16


@dataclass(frozen=True)
class FieldParams:
    """BM25F settings of one representation."""
    k1: float
    b: float             # length normalization of the body
    head_weight: float   # a head (title, section) occurrence counts this many body occurrences
    head_b: float        # length normalization of the head
    separate_head: bool = False  # saturate body and head apart and add them, instead of BM25F


def bm25_idf(df: np.ndarray | float, n: int) -> np.ndarray | float:
    """Our idf rule: ln(1 + (N - n + 0.5) / (n + 0.5)), positive and falling as n grows."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n - df + 0.5) / (df + 0.5))


class TermColumns:
    """One representation's BM25F weights, one sparse column per term, with its idf."""

    def __init__(self, counts: FieldCounts, params: FieldParams, long_column: int = LONG_COLUMN) -> None:
        self.vocab: dict[str, int] = {t: j for j, t in enumerate(counts.vocab)}
        n = counts.body.shape[0]
        self.passages = n
        combined = _combined_frequency(counts, params)
        df = np.diff(combined.indptr)
        self.idf = bm25_idf(df, n) if n else np.zeros(0)
        self.unseen_idf = float(bm25_idf(0, max(n, 1)))
        # In place, in float32: at 200,000 passages each temporary is tens of MB, and float32's
        # 7 digits rank as float64 does.
        weights = combined.data
        if not (params.separate_head and params.head_weight > 0):
            weights *= np.float32(params.k1 + 1) / (weights + np.float32(params.k1))
        weights *= np.repeat(self.idf.astype(np.float32), df)
        self.matrix = combined
        # Each column's largest weight: the bound of what the term gives a passage (bot.retrieval.topk).
        self.peak_values = _column_peaks(combined)
        self._high, self._high_rows, self._high_values = _high_tiers(combined, long_column)
        # Weight per unit idf of a term held once in body and head of a passage of average length.
        k1, h = params.k1, params.head_weight
        once = (k1 + 1) / (1 + k1)
        self.peak = once * (1 + h) if params.separate_head else (1 + h) * (k1 + 1) / (1 + h + k1)

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, weights) of term column j; rows are sorted."""
        m = self.matrix
        start, end = m.indptr[j], m.indptr[j + 1]
        return m.indices[start:end], m.data[start:end]

    def high_tier(self, j: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        """A long column's high tier: (sorted rows, weights) of its biggest weights, and the
        largest weight outside it; None for a column shorter than LONG_COLUMN."""
        tier = self._high.get(j)
        if tier is None:
            return None
        start, end, cut = tier
        return self._high_rows[start:end], self._high_values[start:end], cut

    def length(self, j: int) -> int:
        """How many passages term column j holds."""
        return int(self.matrix.indptr[j + 1] - self.matrix.indptr[j])

    def present(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Whether term column j holds each of rows."""
        column = self.column(j)[0]
        if len(column) == 0:
            return np.zeros(len(rows), dtype=bool)
        # Same dtype as the column, or numpy would copy the whole column to compare.
        at = np.minimum(np.searchsorted(column, rows.astype(column.dtype)), len(column) - 1)
        return column[at] == rows

    def add_to(self, scores: np.ndarray, weights: dict[int, float]) -> None:
        """scores += sum of weight x column, for {column: weight}."""
        for j, weight in weights.items():
            rows, values = self.column(j)
            # Rows within one column are unique, so fancy-index addition is exact.
            scores[rows] += weight * values


def _high_tiers(matrix: sp.csc_matrix, long_column: int) -> tuple[dict[int, tuple[int, int, float]], np.ndarray, np.ndarray]:
    """Each long column's high tier, for impact-ordered pruning (bot.retrieval.topk)."""
    lengths = np.diff(matrix.indptr)
    tiers: dict[int, tuple[int, int, float]] = {}
    rows, values, at = [], [], 0
    for j in np.flatnonzero(lengths >= long_column).tolist():
        start, end = matrix.indptr[j], matrix.indptr[j + 1]
        data = matrix.data[start:end]
        size = max(long_column // 4, len(data) // HIGH_TIER_SHARE)
        threshold = np.partition(data, len(data) - size)[len(data) - size]
        high = data >= threshold
        low = data[~high]
        held = matrix.indices[start:end][high]
        rows.append(held)
        values.append(data[high])
        tiers[j] = (at, at + len(held), float(low.max()) if len(low) else 0.0)
        at += len(held)
    if not rows:
        return tiers, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    return tiers, np.concatenate(rows), np.concatenate(values)


def _column_peaks(matrix: sp.csc_matrix) -> np.ndarray:
    """The largest value of each column (0 for an empty one), float32."""
    peaks = np.zeros(matrix.shape[1], dtype=np.float32)
    lengths = np.diff(matrix.indptr)
    filled = np.flatnonzero(lengths)
    if len(filled):
        peaks[filled] = np.maximum.reduceat(matrix.data, matrix.indptr[filled])
    return peaks


def _combined_frequency(counts: FieldCounts, params: FieldParams) -> sp.csc_matrix:
    """tf~ of every (passage, term): body and head frequencies over their length norms (float32)."""
    body = _normalized(counts.body, counts.body_len, params.b)
    if params.head_weight <= 0 or counts.head.nnz == 0:
        return body
    head = _normalized(counts.head, counts.head_len, params.head_b)
    if params.separate_head:
        k1 = np.float32(params.k1)
        body.data = body.data * (k1 + 1) / (body.data + k1)
        head.data = head.data * (k1 + 1) / (head.data + k1)
    head.data *= np.float32(params.head_weight)
    combined = (body + head).tocsc()
    combined.sort_indices()
    return combined


def _normalized(matrix: sp.csc_matrix, lengths: np.ndarray, b: float) -> sp.csc_matrix:
    """A count matrix divided row-wise by 1 - b + b * len / mean len, in float32."""
    mean = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
    norm = (1 - b + b * lengths / mean).astype(np.float32)
    data = matrix.data.astype(np.float32)
    data /= norm[matrix.indices]
    out = sp.csc_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)
    out.has_sorted_indices = matrix.has_sorted_indices
    return out

"""BM25F scores over the two representations, as precomputed sparse term columns.

For one representation (words or bigrams) and a term t of passage d:
    tf~(t, d) = tf_body(t, d) / B_body(d) + head_weight * tf_head(t, d) / B_head(d)
    B_f(d)    = 1 - b_f + b_f * len_f(d) / mean len_f       (for the head: / head_ref, if set)
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

import functools
from dataclasses import dataclass

import numpy as np

from bot.retrieval.index import FieldCounts


# A column of at least this many passages (a common term) also keeps its high tier apart: the
# biggest 1/HIGH_TIER_SHARE of its weights, so a question reads the rest only when it must.
LONG_COLUMN = 4096
HIGH_TIER_SHARE = 16
# present_many searches the columns' postings at once up to this many, one column at a time beyond.
_BATCHED_POSTINGS = 65_536


@dataclass(frozen=True)
class FieldParams:
    """BM25F settings of one representation."""
    k1: float
    b: float             # length normalization of the body
    head_weight: float   # a head (title, section) occurrence counts this many body occurrences
    head_b: float        # length normalization of the head
    separate_head: bool = False  # saturate body and head apart and add them, instead of BM25F
    # The head length its normalization is relative to, in terms; 0: the library's mean head. A
    # fixed length makes a long title weaker evidence of each of its words in any library (a
    # headline of twenty words says less of each than a two-word article name), where the mean
    # only compares a library's heads with one another.
    head_ref: float = 0.0


def bm25_idf(df: np.ndarray | float, n: int) -> np.ndarray | float:
    """Our idf rule: ln(1 + (N - n + 0.5) / (n + 0.5)), positive and falling as n grows."""
    df = np.asarray(df, dtype=np.float64)
    return np.log1p((n - df + 0.5) / (df + 0.5))


class TermColumns:
    """One representation's BM25F weights, one sparse column per term, with its idf.

    Built from the counts, or from `arrays()` of an earlier build (memory-mapped from the index
    cache: a column's pages are read from disk the first time a question needs them).
    """

    def __init__(self, counts: FieldCounts | None, params: FieldParams, long_column: int = LONG_COLUMN,
                 arrays: dict[str, np.ndarray] | None = None, vocab: tuple[str, ...] | None = None) -> None:
        """Weights of counts; or, with counts None, the arrays and vocab saved from such a build."""
        if counts is not None:
            vocab = counts.vocab
            arrays = _weights(counts, params, long_column)
        self.vocab: dict[str, int] = {t: j for j, t in enumerate(vocab)}
        self._arrays = arrays
        self.passages = int(arrays["passages"][0])
        self.indptr, self.indices, self.data = arrays["indptr"], arrays["indices"], arrays["data"]
        self.idf = arrays["idf"]
        # Terms no passage's head holds: their columns' passages are those whose body holds them.
        self.headless = np.asarray(arrays["head_df"]) == 0
        self.unseen_idf = float(bm25_idf(0, max(self.passages, 1)))
        # Each column's largest weight: the bound of what the term gives a passage (bot.retrieval.topk).
        self.peak_values = arrays["peaks"]
        self._high = {int(j): (int(a), int(b), float(c)) for j, a, b, c in
                      zip(arrays["high_columns"], arrays["high_start"], arrays["high_end"], arrays["high_cut"])}
        self._high_rows, self._high_values = arrays["high_rows"], arrays["high_values"]
        # Weight per unit idf of a term held once in body and head of a passage of average length.
        k1, h = params.k1, params.head_weight
        once = (k1 + 1) / (1 + k1)
        self.peak = once * (1 + h) if params.separate_head else (1 + h) * (k1 + 1) / (1 + h + k1)

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the weights are made of, to save and load again."""
        return dict(self._arrays)

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows, weights) of term column j; rows are sorted."""
        start, end = self.indptr[j], self.indptr[j + 1]
        return self.indices[start:end], self.data[start:end]

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
        return int(self.indptr[j + 1] - self.indptr[j])

    def present(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Whether term column j holds each of rows."""
        column = self.column(j)[0]
        if len(column) == 0:
            return np.zeros(len(rows), dtype=bool)
        # Same dtype as the column, or numpy would copy the whole column to compare.
        at = np.minimum(np.searchsorted(column, rows.astype(column.dtype)), len(column) - 1)
        return column[at] == rows

    def present_many(self, columns: list[int], rows: np.ndarray) -> np.ndarray:
        """len(columns) x len(rows): whether each term column holds each of rows (as present)."""
        out = np.zeros((len(columns), len(rows)), dtype=bool)
        if not columns or not len(rows):
            return out
        if self._compiled is not None:
            # One binary search a row and column in compiled code, where numpy's calls cost more
            # than the searches (some 0.37 ms a question at 200,000 passages, by hand).
            bounds = self._bounds
            self._compiled.held(self.indices, [(bounds[j], bounds[j + 1]) for j in columns],
                                np.ascontiguousarray(rows, dtype=np.int64), out)
            return out
        if len(columns) == 1:
            out[0] = self.present(columns[0], rows)
            return out
        starts, ends = self.indptr[columns], self.indptr[np.asarray(columns) + 1]
        if int((ends - starts).sum()) > _BATCHED_POSTINGS:
            for n, j in enumerate(columns):
                out[n] = self.present(j, rows)
            return out
        # One search over all the columns' postings, each keyed by (column's place, row).
        place = np.repeat(np.arange(len(columns), dtype=np.int64), ends - starts)
        held = np.concatenate([self.indices[a:b] for a, b in zip(starts.tolist(), ends.tolist())])
        keys = place * self.passages + held
        wanted = (np.arange(len(columns), dtype=np.int64)[:, None] * self.passages + np.asarray(rows, dtype=np.int64)[None, :])
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        return keys[at] == wanted if len(keys) else out

    @functools.cached_property
    def _compiled(self):
        """The compiled loops (bot.retrieval.topk._loops) for a library of topk.COMPILED_FROM
        passages or more, else None: a small library keeps numpy's searches."""
        from bot.retrieval import topk

        return topk._loops() if self.passages >= topk.COMPILED_FROM else None

    @functools.cached_property
    def _bounds(self) -> list[int]:
        """indptr as Python ints (a question reads a few dozen)."""
        return self.indptr.tolist()

    def add_to(self, scores: np.ndarray, weights: dict[int, float]) -> None:
        """scores += sum of weight x column, for {column: weight}."""
        for j, weight in weights.items():
            rows, values = self.column(j)
            # Rows within one column are unique, so fancy-index addition is exact.
            scores[rows] += weight * values


def _weights(counts: FieldCounts, params: FieldParams, long_column: int) -> dict[str, np.ndarray]:
    """The BM25F weight columns of counts, their idf, peaks and high tiers, as named arrays."""
    from bot.retrieval.cache import ArraysWriter
    writer = ArraysWriter(None, "", "weights")
    write_weights(counts, params, writer, "", long_column)
    return writer.finish()[0]


def write_weights(counts, params: FieldParams, writer, prefix: str, long_column: int = LONG_COLUMN) -> None:
    """Write the BM25F weight columns of counts (a FieldCounts or a build's index.FieldBuild), their
    idf, peaks and high tiers, a block of columns at a time, as the arrays TermColumns reads.

    Each block is computed as the whole matrix would be, element by element in float32, so the
    weights are the same whatever the blocks; idf (a logarithm) is computed over all columns at once.
    """
    import scipy.sparse as sp  # a build's: a start from the cache never needs scipy
    from bot.retrieval.cache import column_blocks

    n = len(counts.body_len)
    head = counts.head
    with_head = params.head_weight > 0 and head.nnz > 0
    body_norm = _norm(counts.body_len, params.b)
    head_norm = _norm(counts.head_len, params.head_b, params.head_ref) if with_head else None
    head_df = np.diff(head.indptr)
    blocks = column_blocks(counts.body_df + head_df if with_head else counts.body_df)

    def block(first: int, last: int, pattern: bool = False) -> sp.csc_matrix:
        """tf~ of columns first..last-1 (or, with pattern, only where it is non-zero)."""
        indptr, rows, data = counts.body_block(first, last)
        shape = (n, last - first)
        body = sp.csc_matrix((np.ones(len(rows), np.int8) if pattern else _divided(data, rows, body_norm),
                              rows, indptr), shape=shape)
        body.has_sorted_indices = True
        if not with_head:
            return body
        start, end = int(head.indptr[first]), int(head.indptr[last])
        rows = head.indices[start:end]
        values = np.ones(len(rows), np.int8) if pattern else _divided(head.data[start:end], rows, head_norm)
        own = sp.csc_matrix((values, rows, head.indptr[first:last + 1] - start), shape=shape)
        own.has_sorted_indices = True
        if not pattern:
            if params.separate_head:
                k1 = np.float32(params.k1)
                body.data = body.data * (k1 + 1) / (body.data + k1)
                own.data = own.data * (k1 + 1) / (own.data + k1)
            own.data *= np.float32(params.head_weight)
        combined = (body + own).tocsc()
        combined.sort_indices()
        return combined

    # Passages holding each term in any field: the union of the body's and the head's rows.
    df = np.concatenate([np.diff(block(a, b, pattern=True).indptr) for a, b in blocks]) if with_head \
        else counts.body_df.copy()
    df = df.astype(np.int64) if len(df) else np.zeros(0, dtype=np.int64)
    idf = bm25_idf(df, n) if n else np.zeros(0)
    writer.add(prefix + "passages", np.array([n], dtype=np.int64))
    writer.add(prefix + "indptr", np.concatenate(([0], np.cumsum(df))).astype(np.int64))
    writer.add(prefix + "idf", idf)
    # Passages holding each term in their head: where it is 0, a column's passages are exactly
    # those whose body holds the term (bot.retrieval.duplicates reads body terms so).
    writer.add(prefix + "head_df", head_df.astype(np.int64) if with_head else np.zeros(len(df), dtype=np.int64))
    for name, dtype in (("indices", np.int32), ("data", np.float32), ("peaks", np.float32),
                        ("high_columns", np.int64), ("high_start", np.int64), ("high_end", np.int64),
                        ("high_cut", np.float32), ("high_rows", np.int32), ("high_values", np.float32)):
        writer.declare(prefix + name, dtype)
    idf32 = idf.astype(np.float32)
    held = 0
    for first, last in blocks:
        combined = block(first, last)
        lengths = np.diff(combined.indptr)
        # In place, in float32: float32's 7 digits rank as float64 does.
        weights = combined.data
        if not (params.separate_head and params.head_weight > 0):
            weights *= np.float32(params.k1 + 1) / (weights + np.float32(params.k1))
        weights *= np.repeat(idf32[first:last], lengths)
        writer.append(prefix + "indices", combined.indices)
        writer.append(prefix + "data", weights)
        writer.append(prefix + "peaks", _column_peaks(combined))
        tiers = _high_tiers(combined, long_column, first, held)
        for name, array in tiers.items():
            writer.append(prefix + name, array)
        held += len(tiers["high_rows"])
        del combined, weights


def _norm(lengths: np.ndarray, b: float, ref: float = 0.0) -> np.ndarray:
    """Each row's length norm 1 - b + b * len / mean len (or / ref), float32."""
    mean = ref if ref > 0 else float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
    return (1 - b + b * lengths / mean).astype(np.float32)


def _divided(counts: np.ndarray, rows: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Counts as float32, each divided by its row's norm."""
    data = counts.astype(np.float32)
    data /= norm[rows]
    return data


def _high_tiers(matrix: sp.csc_matrix, long_column: int, first: int = 0, held: int = 0) -> dict[str, np.ndarray]:
    """Each long column's high tier, for impact-ordered pruning (bot.retrieval.topk); the matrix's
    columns are the library's from first on, and held tier entries come before its own."""
    lengths = np.diff(matrix.indptr)
    columns, starts, ends, cuts = [], [], [], []
    rows, values, at = [], [], held
    for j in np.flatnonzero(lengths >= long_column).tolist():
        start, end = matrix.indptr[j], matrix.indptr[j + 1]
        data = matrix.data[start:end]
        size = max(long_column // 4, len(data) // HIGH_TIER_SHARE)
        threshold = np.partition(data, len(data) - size)[len(data) - size]
        high = data >= threshold
        low = data[~high]
        kept = matrix.indices[start:end][high]
        rows.append(kept)
        values.append(data[high])
        columns.append(first + j)
        starts.append(at)
        ends.append(at + len(kept))
        cuts.append(float(low.max()) if len(low) else 0.0)
        at += len(kept)
    return {"high_columns": np.array(columns, dtype=np.int64), "high_start": np.array(starts, dtype=np.int64),
            "high_end": np.array(ends, dtype=np.int64), "high_cut": np.array(cuts, dtype=np.float32),
            "high_rows": np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32),
            "high_values": np.concatenate(values) if values else np.zeros(0, dtype=np.float32)}


def _column_peaks(matrix: sp.csc_matrix) -> np.ndarray:
    """The largest value of each column (0 for an empty one), float32."""
    peaks = np.zeros(matrix.shape[1], dtype=np.float32)
    lengths = np.diff(matrix.indptr)
    filled = np.flatnonzero(lengths)
    if len(filled):
        peaks[filled] = np.maximum.reduceat(matrix.data, matrix.indptr[filled])
    return peaks

"""The best-scoring passages of a question, exactly, at the cost of the postings it touches.

The score of a passage (bot.retrieval.retriever, `Retriever.scores`) is a sum of parts, one per
word of the question and one for its character pairs, times the passage's boost (at least 1):
    word g     the best of its forms' weights plus TIE_SHARE of the others' (0 without the word)
    pairs      bigram_weight x the sum of the pairs' weights                  (0 without a pair)
Every passage's score is computed, but each part only for the passages holding its terms (adding
0.0 or multiplying by 1.0 leaves a float as it is). It is computed by the bot's compiled loop
(bot/retrieval/_scatter.c, built at install when a C compiler is there): one call a question, a
tile of passages at a time; a small library's too, where numpy's calls a term column would cost
more than the adding (the bundled library's 200 sentence questions: 9.8 % fewer instructions a
search, valgrind --tool=callgrind). Without it, numpy's: one scatter-add per run of term columns
(scipy's compiled loop in a large library, _compiled_scatter) and a few passes over the library
per question. A library of PARALLEL_FROM passages or more is scored in two halves at once, one in
a worker thread (those calls release the GIL; a passage's operations are the same whichever
range it is scored in). Then the k best
are selected from the passages at or above a floor the blocks' peaks give, never by
partitioning the library.

The scores are the same floating-point numbers as the dense formula's, operation for operation,
and the same passages win, ties going to the lower row (tests/test_topk.py checks it on random
questions). Measured at 200,000 passages (bench/README.md, issue 9): MaxScore pruning over these
columns (Turtle & Flood 1995), which this replaced, kept most of a sentence question's postings
essential (the synthetic library's common words weigh near their peak in every passage) and paid
a numpy call per unit and candidate batch for them; the walk below costs less.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from bot.retrieval.scoring import TermColumns

# _select's blocks hold at most this many passages: with at least 4 k blocks, the k-th best
# block peak leaves some 4 k passages or fewer above it on a library without many ties.
_BLOCK = 256
# A library of at least this many passages has its columns added by scipy's compiled loop
# (_compiled_scatter); a smaller one's by np.add.at, which needs no scipy (its import would be
# a tenth of the bundled library's start-up).
COMPILED_FROM = 65_536
# A library of at least this many passages is scored in two ranges at once (_parts). Measured by
# hand, top 32 of the 200 sentence questions: at 1M p50 17.1 -> 14.7 ms, mean 19.7 -> 16.1 ms with
# the other core idle; at 200k 2.76 -> 2.73 ms idle but 3.62 -> 4.75 ms with the other core busy
# (the worker's range waits for it), so below this the caller scores every passage itself.
PARALLEL_FROM = 500_000


@dataclass(frozen=True)
class TopScores:
    """The best passages, best first (ties by lower row), with their scores."""
    rows: np.ndarray      # int64 passage rows, only scores above zero
    scores: np.ndarray    # float64 scores of rows
    more: bool            # whether other passages score above zero too
    # Every passage's score, when they were all computed: a deeper top k is then only selected.
    every: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, rows) -> np.ndarray:
        """The scores of some of rows, as a dense array of every passage's score would give them."""
        return np.array([self.by_row[int(i)] for i in np.atleast_1d(rows)], dtype=np.float64)

    @functools.cached_property
    def by_row(self) -> dict[int, float]:
        """row -> score."""
        return dict(zip(self.rows.tolist(), self.scores.tolist()))


class Scorer:
    """The ranking score over the words and bigrams term columns: every passage's, or the top k."""

    def __init__(self, words: TermColumns, bigrams: TermColumns, bigram_weight: float,
                 tie_share: float, boost: np.ndarray | None = None, parts: int | None = None,
                 compiled: bool | None = None, kernel: bool | None = None) -> None:
        """parts: how many ranges of passages are scored at once (default _parts: one per core,
        up to two, for a library of PARALLEL_FROM passages or more); compiled: whether columns are
        added by scipy's loop (default: for a library of COMPILED_FROM passages or more, and always
        when in ranges) or by np.add.at a column, over the whole library (_dense_each: the same
        floats); kernel: whether a range is scored by the bot's own compiled loop instead, in one
        call (_dense_kernel; default: when it was built; True without it raises ImportError)."""
        if boost is not None and len(boost) != words.passages:
            raise ValueError("a boost is a factor per passage")
        self.words = words
        self.bigrams = bigrams
        self.bigram_weight = bigram_weight
        self.tie_share = tie_share
        self.passages = words.passages
        # Each passage's score is multiplied by its boost (an article's lead scores more).
        self.boost = boost
        self._boosted = np.flatnonzero(boost != 1.0) if boost is not None else None
        self._boosts = boost[self._boosted] if boost is not None else None
        if compiled is None:
            compiled = self.passages >= COMPILED_FROM
        parts = _parts(self.passages, PARALLEL_FROM) if parts is None else max(1, min(parts, self.passages))
        compiled = compiled or parts > 1   # ranges are scored by _dense_range, with scipy's loop
        if kernel is None:
            kernel = _loops() is not None
        self._loops = self._kernel = None
        if kernel:
            self._loops = _loops()
            if self._loops is None:
                raise ImportError("bot.retrieval._scatter is not built (pip install -e . builds it)")
            self._kernel = self._loops.score_range
            # The compiled loop boosts too: these rows (sorted) by these factors.
            self._boosted_rows = np.zeros(0, dtype=np.int64) if boost is None else self._boosted.astype(np.int64)
            self._boosts_given = np.zeros(0) if boost is None else np.ascontiguousarray(self._boosts, dtype=np.float64)
            # The columns' bounds as Python ints: a question reads a few dozen of them.
            self._word_bounds = words.indptr.tolist()
            self._pair_bounds = bigrams.indptr.tolist()
            # Read once here, not on every question: each column's rows increase within the
            # library (the 200k library's top 32: 1.65 -> 1.51 ms a question, in one process). An
            # index that fails leaves the compiled loop checking each call, which then says what is wrong.
            self._checked = all(self._loops.check_columns(c.indices, c.indptr, self.passages) for c in (words, bigrams))
        self._add = functools.partial(_add_columns, scatter=_compiled_scatter()) if compiled and not kernel else None
        # The ranges' bounds: lo of each, then the library's end.
        self._bounds = tuple(self.passages * p // parts for p in range(parts + 1))

    def top(self, word_weights, bigram_weights: dict[int, float], k: int) -> TopScores:
        """The k best-scoring passages (fewer when fewer score above zero), exactly as dense would rank them."""
        held = self._terms(word_weights, bigram_weights)
        if k <= 0 or not held:
            return TopScores(np.zeros(0, dtype=np.int64), np.zeros(0), held)
        if self._kernel is None:
            return _select(self._dense(word_weights, bigram_weights), k)
        # The compiled loop finds the selection's block peaks while each tile is in the cache.
        size = _block_size(self.passages, k)
        scores, found = self._scored(word_weights, bigram_weights, size if size > 1 else 0)
        return _select(scores, k, self._loops, found)

    def deeper(self, top: TopScores, word_weights, bigram_weights: dict[int, float], k: int) -> TopScores:
        """top(word_weights, bigram_weights, k) for the question top was ranked for: from its
        scores when it kept them, instead of scoring again."""
        if top.every is not None:
            return _select(top.every, k, self._loops)
        return self.top(word_weights, bigram_weights, k)

    def _terms(self, word_weights, bigram_weights: dict[int, float]) -> bool:
        """Whether some term of the question can raise a score."""
        return any(w > 0 for forms in word_weights for w in forms.values()) or (
            self.bigram_weight > 0 and any(w > 0 for w in bigram_weights.values()))

    def _dense(self, word_weights, bigram_weights: dict[int, float]) -> np.ndarray:
        """Every passage's score: the formula as it stands (Retriever.scores), the same floats.

        A passage's score is a sequence of float64 additions, one per part, in the formula's
        order: adding 0.0 (a part the passage lacks) or multiplying by a boost of 1.0 leaves a
        float as it is, so each part is added to the passages holding it only. Each passage's
        operations are its own, so ranges of passages are scored apart, at once (_parts).
        """
        if self._kernel is None and self._add is None:
            return self._dense_each(word_weights, bigram_weights)
        return self._scored(word_weights, bigram_weights, 0)[0]

    def _scored(self, word_weights, bigram_weights: dict[int, float],
                size: int) -> tuple[np.ndarray, tuple[int, np.ndarray, int] | None]:
        """_dense's scores in ranges (by the compiled loop, or numpy's through _dense_range), and
        with the compiled loop what _select reads of them: (size, the largest score of each
        complete block of size passages, how many score above zero)."""
        if self._kernel is None:
            scores = np.zeros(self.passages)
            score_range = functools.partial(self._dense_range, scores, word_weights, bigram_weights)
        else:
            # The compiled loop zeroes each tile as it scores it: a large library's scores are not
            # streamed through memory twice (200k passages: measured in bench/README.md, issue 9).
            scores = np.empty(self.passages)
            score_range = functools.partial(self._dense_kernel, scores, word_weights, bigram_weights, size)
        bounds = self._bounds
        if len(bounds) == 2:
            found = [score_range(0, self.passages)]
        else:
            # The compiled loops release the GIL (numpy's scatter-adds and passes, and ours), so
            # the worker threads' ranges and the caller's own are scored on as many cores.
            ranges = list(zip(bounds[1:-1], bounds[2:]))
            pending = [_workers(len(ranges)).submit(score_range, lo, hi) for lo, hi in ranges]
            found = [score_range(bounds[0], bounds[1])]
            for future, (lo, hi) in zip(pending, ranges):
                # A range no worker has begun yet (every core busy, or another question's range
                # ahead of it) is scored here rather than waited for.
                found.append(score_range(lo, hi) if future.cancel() else future.result())
        if self._kernel is None:
            return scores, None
        # A block across two ranges has a peak from each: the larger is its peak (a maximum is
        # exact, in any order).
        peaks = functools.reduce(np.maximum, [peaks for peaks, _ in found])
        return scores, (size, peaks, sum(positives for _, positives in found))

    def _dense_kernel(self, scores: np.ndarray, word_weights, bigram_weights: dict[int, float], size: int,
                      lo: int, hi: int) -> tuple[np.ndarray, int]:
        """_dense_range by the compiled loop (bot/retrieval/_scatter.c) in one call: for each
        passage the same operations in the same order, each rounded as numpy rounds it, a tile
        of passages at a time (every column's postings of the tile in turn), without gathering
        the columns or passing over the library; the boost too. Returns the largest score of
        each complete block of size passages from row 0 (-inf for a block outside lo..hi) and
        how many of lo..hi-1 score above zero."""
        bounds = self._word_bounds
        words = [[(bounds[j], bounds[j + 1], weight) for j, weight in forms.items()] for forms in word_weights if forms]
        pairs = []
        if bigram_weights and self.bigram_weight > 0:
            bounds = self._pair_bounds
            pairs = [(bounds[j], bounds[j + 1], weight) for j, weight in bigram_weights.items()]
        peaks = np.full(self.passages // size, -np.inf) if size > 0 else np.empty(0)
        positives = self._kernel(scores, (self.words.indices, self.words.data, words),
                                 (self.bigrams.indices, self.bigrams.data, pairs), self.bigram_weight,
                                 self.tie_share, lo, hi, self._boosted_rows, self._boosts_given, size, peaks,
                                 self._checked)
        return peaks, positives

    def _dense_each(self, word_weights, bigram_weights: dict[int, float]) -> np.ndarray:
        """_dense by np.add.at over the whole library, in one range, a small library's without
        the compiled loop: one call for each run of one-form words, each word of several forms
        and the pairs, over their columns' postings in order, which adds to each passage what one
        call a column adds, in the same order (ufunc.at adds unbuffered, one posting after
        another). Measured on the bundled library's 200 sentence questions of
        bench/bench_retrieval.py, instructions of a warm search by valgrind --tool=callgrind: 1.3 %
        fewer than one call a column."""
        n = self.passages
        scores = np.zeros(n)
        singles: list[tuple[int, float]] = []   # a run of one-form words, added in one call
        for forms in word_weights:
            if len(forms) == 1:
                singles.extend(forms.items())
            elif forms:
                if singles:
                    np.add.at(scores, *_postings(self.words, singles))
                    singles = []
                self._add_word_each(scores, forms)
        if singles:
            np.add.at(scores, *_postings(self.words, singles))
        if bigram_weights and self.bigram_weight > 0:
            bigram = np.zeros(n)
            np.add.at(bigram, *_postings(self.bigrams, list(bigram_weights.items())))
            bigram *= self.bigram_weight
            scores += bigram
        if self.boost is not None:
            scores[self._boosted] *= self._boosts
        return scores

    def _add_word_each(self, scores: np.ndarray, forms: dict[int, float]) -> None:
        """_add_word over the whole library by np.add.at (_dense_each's)."""
        n = self.passages
        best = np.zeros(n)
        total = np.zeros(n)
        rows, contributions = _postings(self.words, list(forms.items()))
        np.add.at(total, rows, contributions)
        np.maximum.at(best, rows, contributions)
        total -= best
        total *= self.tie_share
        total += best
        scores += total

    def _dense_range(self, scores: np.ndarray, word_weights, bigram_weights: dict[int, float],
                     lo: int, hi: int) -> None:
        """The formula's scores of passages lo..hi-1 into scores[lo:hi] (zeros), no other element
        touched: each term column's postings of these rows (a column's rows are sorted) and the
        passes over the library over this range only, the same operations for each passage."""
        singles: list[tuple[int, float]] = []   # a run of one-form words, added in one product
        for forms in word_weights:
            if len(forms) == 1:
                singles.extend(forms.items())
            elif forms:
                self._add(scores, self.words, singles, lo, hi)
                singles = []
                self._add_word(scores, forms, lo, hi)
        self._add(scores, self.words, singles, lo, hi)
        if bigram_weights and self.bigram_weight > 0:
            bigram = np.zeros(self.passages)
            self._add(bigram, self.bigrams, list(bigram_weights.items()), lo, hi)
            part = bigram[lo:hi]
            part *= self.bigram_weight
            scores[lo:hi] += part
        self._boost(scores, lo, hi)

    def _boost(self, scores: np.ndarray, lo: int, hi: int) -> None:
        """scores[lo:hi] times each passage's boost, the formula's last operation."""
        if self.boost is not None:
            boosted, boosts = self._boosted, self._boosts
            if lo > 0 or hi < self.passages:
                first, last = np.searchsorted(boosted, (lo, hi))
                boosted, boosts = boosted[first:last], boosts[first:last]
            scores[boosted] *= boosts

    def _add_word(self, scores: np.ndarray, forms: dict[int, float], lo: int, hi: int) -> None:
        """scores[lo:hi] += a word of several forms' part: its best form's weight plus TIE_SHARE
        of the others' (computed as the formula does: the forms' weights added in their order,
        the largest kept), the same operations as over the passages holding a form alone
        (addition and product commute exactly): one lacking every form gets 0.0 + TIE_SHARE x
        (0.0 - 0.0) = 0.0, which leaves its score (never -0.0) as it is. A few passes over the
        range cost less than gathering and scattering each place (a row once per form holding
        it: some 61,000 places a word at 200,000 passages, 0.76 -> 0.55 ms a word by hand)."""
        n = self.passages
        # Full-size arrays touched in lo..hi only: np.zeros's pages outside it are never written.
        best = np.zeros(n)
        total = np.zeros(n)
        places, contributions = self._add(total, self.words, list(forms.items()), lo, hi)
        rows, contributions = np.concatenate(places), np.concatenate(contributions)
        # The largest is the largest in any order (no rounding): ufunc.at's fast loop needs intp rows.
        np.maximum.at(best, rows.astype(np.intp), contributions)
        total, best = total[lo:hi], best[lo:hi]
        total -= best
        total *= self.tie_share
        total += best
        scores[lo:hi] += total


def _add_columns(out: np.ndarray, columns: TermColumns, weights: list[tuple[int, float]],
                 lo: int, hi: int, scatter) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """out += weight x column for each (column, weight) in turn, over the rows in lo..hi-1; the
    rows and float64 contributions added ([concatenated], [in that order]).

    Each contribution is the formula's float32 product widened to float64 (exactly), and scatter
    (_compiled_scatter()) adds the concatenated columns' in one call, in order: a row's additions
    are those, in the order, of one scatter-add per column."""
    parts = [(_rows_within(*columns.column(j), lo, hi, len(out)), weight) for j, weight in weights]
    if not parts:
        return [], []
    rows = np.concatenate([part_rows for (part_rows, _), _ in parts])
    offsets = np.zeros(len(parts) + 1, dtype=rows.dtype)
    np.cumsum([len(part_rows) for (part_rows, _), _ in parts], out=offsets[1:])
    contributions = np.empty(len(rows))
    for ((_, values), weight), start, end in zip(parts, offsets[:-1].tolist(), offsets[1:].tolist()):
        # weight * values computed in float32 (the formula's product), written widened.
        np.multiply(values, weight, out=contributions[start:end], dtype=np.float32)
    scatter(out, offsets, rows, contributions)
    return [rows], [contributions]


def _postings(columns: TermColumns, weights: list[tuple[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The rows and contributions of weight x column for each (column, weight) in turn, concatenated:
    each contribution the formula's product (float32 for a float weight) widened to float64
    (exactly), the rows as intp (ufunc.at takes its fast loop only for intp rows and float64 values)."""
    rows, products = [], []
    for j, weight in weights:
        column_rows, values = columns.column(j)
        rows.append(column_rows)
        products.append(weight * values)
    return np.concatenate(rows).astype(np.intp), np.concatenate(products).astype(np.float64)


def _compiled_scatter():
    """out[rows] += contributions, one at a time in order, by scipy's compiled CSC product of the
    columns (offsets: where each starts in rows) and a vector of ones, in place: for each column
    in order, out[row] += contribution x 1.0, which is out[row] + contribution whether or not the
    compiler fuses it. It takes the index's int32 rows as they are and releases the GIL, where
    np.add.at needs intp rows and holds it (71 against 115 us for 60,000 postings into 200,000
    scores). Imported here: a small library's start never loads scipy."""
    try:
        from scipy.sparse._sparsetools import csc_matvec
    except ImportError:
        # A private module: a scipy without it gets np.add.at over the same concatenated rows,
        # which adds one at a time in order too (the same floats, slower).
        def add_at(out: np.ndarray, offsets: np.ndarray, rows: np.ndarray, contributions: np.ndarray) -> None:
            np.add.at(out, rows, contributions)
        return add_at

    def scatter(out: np.ndarray, offsets: np.ndarray, rows: np.ndarray, contributions: np.ndarray) -> None:
        columns = len(offsets) - 1
        csc_matvec(len(out), columns, offsets, rows, contributions, np.ones(columns), out)
    return scatter


def compiled_loops():
    """bot/retrieval/_scatter.c's module when it was built, else None (_loops, for the retriever's own loops)."""
    return _loops()


@functools.lru_cache(maxsize=1)
def _loops():
    """The compiled loops (bot/retrieval/_scatter.c, built by setup.py when a C compiler is
    there): scoring a range in one call, and _select's passes over the scores; or None: then
    numpy's loops do it (the same floats, the same passages)."""
    try:
        from bot.retrieval import _scatter
    except ImportError:
        return None
    return _scatter


def _rows_within(rows: np.ndarray, values: np.ndarray, lo: int, hi: int, passages: int) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, values) of a column (rows sorted) whose rows are in lo..hi-1."""
    first = int(rows.searchsorted(lo)) if lo > 0 else 0
    last = int(rows.searchsorted(hi)) if hi < passages else len(rows)
    return rows[first:last], values[first:last]


def _parts(passages: int, parallel_from: int) -> int:
    """How many ranges of passages a question's scores are computed in at once: one per core,
    up to two (the scatter-adds share the memory bus), from parallel_from passages on."""
    if passages < max(parallel_from, 2):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return max(1, min(cores, 2))


_POOL_LOCK = threading.Lock()
_POOL: tuple[int, int, ThreadPoolExecutor] | None = None   # (process id, threads, pool)


def _workers(threads: int) -> ThreadPoolExecutor:
    """The worker threads scoring ranges of passages, shared by every Scorer of the process (a
    forked child makes its own: the parent's threads are not in it)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < threads:
            _POOL = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="topk"))
        return _POOL[2]


def _block_size(passages: int, k: int) -> int:
    """How many passages _select's blocks hold for the k best (at most _BLOCK, at least 4 k blocks)."""
    return min(_BLOCK, passages // (4 * k)) if k > 0 else 0


def _select(scores: np.ndarray, k: int, loops=None, found: tuple[int, np.ndarray, int] | None = None) -> TopScores:
    """The k best of every passage's scores (fewer when fewer are above zero), best first.

    The largest score of each of at least k blocks of passages says where the k-th best lies at
    the lowest: k passages score at least the k-th largest of those peaks. Only the passages at
    or above it are sorted, not the library. loops: the compiled loops (_loops()), which read
    only the blocks whose peak reaches that floor; found: what the compiled scoring found of
    these scores, (block size, each block's peak, how many score above zero).
    """
    n = len(scores)
    size = _block_size(n, k)
    floor = 0.0
    rows = None
    peaks, positives = None, None
    if found is not None and found[0] == size:
        _, peaks, positives = found
    if size > 1:
        blocks = n // size
        if peaks is None and loops is not None:
            peaks = np.empty(blocks)
            loops.block_peaks(scores, size, peaks)
        elif peaks is None:
            peaks = scores[:blocks * size].reshape(blocks, size).max(axis=1)
        floor = float(np.partition(peaks, blocks - k)[blocks - k])
    if loops is None:
        candidates = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    else:
        # A place per passage, but only the pages the candidates are written to are touched
        # (33 at the median for the first pool of the 200k library's sentence questions).
        candidates = np.empty(n, dtype=np.int64)
        if size > 1:
            count = loops.rows_at_least(scores, floor, candidates, size, peaks)
        else:
            count = loops.rows_at_least(scores, floor, candidates, 0, np.empty(0))
        if count <= _SORTED_UP_TO * max(k, 1):
            # A few candidates a row asked for: sorted whole in one compiled call, not by numpy's
            # five (most of a small library's selection).
            rows = candidates[:loops.best_first(scores, candidates, count, k)].copy()
        candidates = candidates[:count]
    if rows is None:
        rows = candidates[_best(scores[candidates], candidates, k)]
    if positives is None and floor > 0 and len(candidates) <= len(rows):
        positives = int(np.count_nonzero(scores > 0))
    more = len(candidates) > len(rows) or (floor > 0 and positives > len(rows))
    return TopScores(rows, scores[rows], more, every=scores)


# _select sorts its candidates whole in compiled code (best_first) when there are at most this
# many a row asked for; more (a deep pool over a library without blocks) are partitioned first
# (_best), so a sort never costs more than a few times the rows asked. Not tuned: the bundled
# library's first pools (134 candidates at most for 32 rows) and the 200k library's (some 33 at
# the median) are far below it.
_SORTED_UP_TO = 8


def _best(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores, best first, ties by lower row."""
    if len(scores) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        positions = np.flatnonzero(scores >= threshold)
    else:
        positions = np.arange(len(scores))
    order = np.lexsort((rows[positions], -scores[positions]))
    return positions[order][:k]

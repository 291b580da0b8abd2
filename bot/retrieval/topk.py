"""The best-scoring passages of a question, exactly, at the cost of the postings it touches.

The score of a passage (bot.retrieval.retriever, `Retriever.scores`) is a sum of parts, one per
word of the question and one for its character pairs, times the passage's boost (at least 1):
    word g     the best of its forms' weights plus TIE_SHARE of the others' (0 without the word)
    pairs      bigram_weight x the sum of the pairs' weights                  (0 without a pair)
Every passage's score is computed, but each part only for the passages holding its terms (adding
0.0 or multiplying by 1.0 leaves a float as it is): one scatter-add per term column, a few
numpy passes over the library per question. Then the k best are selected from the passages at or
above a floor the blocks' peaks give, never by partitioning the library.

The scores are the same floating-point numbers as the dense formula's, operation for operation,
and the same passages win, ties going to the lower row (tests/test_topk.py checks it on random
questions). Measured at 200,000 passages (bench/README.md, issue 9): MaxScore pruning over these
columns (Turtle & Flood 1995), which this replaced, kept most of a sentence question's postings
essential (the synthetic library's common words weigh near their peak in every passage) and paid
a numpy call per unit and candidate batch for them; the walk below costs less.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from bot.retrieval.scoring import TermColumns

# _select's blocks hold at most this many passages: with at least 4 k blocks, the k-th best
# block peak leaves some 4 k passages or fewer above it on a library without many ties.
_BLOCK = 256


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
                 tie_share: float, boost: np.ndarray | None = None) -> None:
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

    def top(self, word_weights, bigram_weights: dict[int, float], k: int) -> TopScores:
        """The k best-scoring passages (fewer when fewer score above zero), exactly as dense would rank them."""
        held = self._terms(word_weights, bigram_weights)
        if k <= 0 or not held:
            return TopScores(np.zeros(0, dtype=np.int64), np.zeros(0), held)
        return _select(self._dense(word_weights, bigram_weights), k)

    def deeper(self, top: TopScores, word_weights, bigram_weights: dict[int, float], k: int) -> TopScores:
        """top(word_weights, bigram_weights, k) for the question top was ranked for: from its
        scores when it kept them, instead of scoring again."""
        if top.every is not None:
            return _select(top.every, k)
        return self.top(word_weights, bigram_weights, k)

    def _terms(self, word_weights, bigram_weights: dict[int, float]) -> bool:
        """Whether some term of the question can raise a score."""
        return any(w > 0 for forms in word_weights for w in forms.values()) or (
            self.bigram_weight > 0 and any(w > 0 for w in bigram_weights.values()))

    def _dense(self, word_weights, bigram_weights: dict[int, float]) -> np.ndarray:
        """Every passage's score: the formula as it stands (Retriever.scores), the same floats.

        A passage's score is a sequence of float64 additions, one per part, in the formula's
        order: adding 0.0 (a part the passage lacks) or multiplying by a boost of 1.0 leaves a
        float as it is, so each part is added to the passages holding it only.
        """
        n = self.passages
        scores = np.zeros(n)
        for forms in word_weights:
            if len(forms) == 1:
                for j, weight in forms.items():
                    rows, values = self.words.column(j)
                    # Rows within one column are unique: unbuffered addition is the formula's.
                    # ufunc.at takes its fast loop only for intp rows and float64 values (the
                    # float32 products widen exactly).
                    np.add.at(scores, rows.astype(np.intp), (weight * values).astype(np.float64))
            elif forms:
                self._add_word(scores, forms)
        if bigram_weights and self.bigram_weight > 0:
            bigram = np.zeros(n)
            for j, weight in bigram_weights.items():
                rows, values = self.bigrams.column(j)
                np.add.at(bigram, rows.astype(np.intp), (weight * values).astype(np.float64))
            bigram *= self.bigram_weight
            scores += bigram
        if self.boost is not None:
            scores[self._boosted] *= self._boosts
        return scores

    def _add_word(self, scores: np.ndarray, forms: dict[int, float]) -> None:
        """scores += a word of several forms' part: its best form's weight plus TIE_SHARE of the
        others' (computed as the formula does: the forms' weights added in their order, the
        largest kept), the same operations as over the passages holding a form alone (addition
        and product commute exactly): one lacking every form gets 0.0 + TIE_SHARE x (0.0 - 0.0) =
        0.0, which leaves its score (never -0.0) as it is. A few passes over the library cost less
        than gathering and scattering each place (a row once per form holding it: some 61,000
        places a word at 200,000 passages, 0.76 -> 0.55 ms a word by hand)."""
        n = self.passages
        best = np.zeros(n)
        total = np.zeros(n)
        places, contributions = [], []
        for j, weight in forms.items():
            rows, values = self.words.column(j)
            places.append(rows.astype(np.intp))
            contributions.append((weight * values).astype(np.float64))
        rows, contributions = np.concatenate(places), np.concatenate(contributions)
        np.add.at(total, rows, contributions)
        np.maximum.at(best, rows, contributions)
        total -= best
        total *= self.tie_share
        total += best
        scores += total


def _select(scores: np.ndarray, k: int) -> TopScores:
    """The k best of every passage's scores (fewer when fewer are above zero), best first.

    The largest score of each of at least k blocks of passages says where the k-th best lies at
    the lowest: k passages score at least the k-th largest of those peaks. Only the passages at
    or above it are sorted, not the library.
    """
    n = len(scores)
    size = min(_BLOCK, n // (4 * k)) if k > 0 else 0
    floor = 0.0
    if size > 1:
        blocks = n // size
        peaks = scores[:blocks * size].reshape(blocks, size).max(axis=1)
        floor = float(np.partition(peaks, blocks - k)[blocks - k])
    candidates = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    order = _best(scores[candidates], candidates, k)
    rows = candidates[order]
    more = len(candidates) > len(rows) or (floor > 0 and int(np.count_nonzero(scores > 0)) > len(rows))
    return TopScores(rows, scores[rows], more, every=scores)


def _best(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores, best first, ties by lower row."""
    if len(scores) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        positions = np.flatnonzero(scores >= threshold)
    else:
        positions = np.arange(len(scores))
    order = np.lexsort((rows[positions], -scores[positions]))
    return positions[order][:k]

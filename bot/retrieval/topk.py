"""The best-scoring passages of a question, exactly, at the cost of what the question touches.

The score of a passage (bot.retrieval.retriever, `Retriever.scores`) is a sum of parts, one per
word of the question and one per character pair, times the passage's boost (at least 1):
    word g     the best of its forms' weights plus TIE_SHARE of the others' (0 without the word)
    pair j     bigram_weight x the pair's weight                              (0 without the pair)
Only passages holding one of the question's terms can score above zero, so those are the only
candidates; and every part is at most its bound, computed from each term column's largest weight
(`TermColumns.peak_values`). That makes MaxScore (Turtle & Flood 1995) exact here: order the parts by
bound, and once some k passages are known to score at least θ, the parts whose bounds sum to less
than θ ("non-essential", typically the common words and pairs) cannot lift a passage that holds
nothing else into the top k. Their long columns are then never walked: they are only looked up
for the few candidates that might still reach θ.

The scores of the passages returned are computed with the same operations, in the same order, as
the dense formula over every passage, so they are the same floating-point numbers and the same
passages win, ties going to the lower row (tests/test_topk.py checks it on random questions).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bot.retrieval.scoring import TermColumns

# Bounds and partial sums are float sums in another order than the formula's, of products that
# may be rounded to float32: they may miss the formula's figure by a few units in the float32 last
# place. This relative slack (some 20 such units) keeps every comparison safe; it costs nothing real.
_SLACK = 1e-6
# Up to this many passages the top k is taken from every passage's score: at the bundled library's
# size, pruning's bookkeeping costs more than it saves.
SMALL_LIBRARY = 5_000
# The first estimate of θ reads the strongest parts until they hold this many postings per
# passage asked for (or all parts).
_FIRST_POSTINGS = 4


@dataclass(frozen=True)
class Unit:
    """A list of postings the pruning reads or skips as one: a term column, or its high tier."""
    part: int          # the part of the score it belongs to (a word of the question, or a pair)
    bigram: bool       # a pair's column (bigrams) or a word's form (words)
    column: int
    weight: float      # the question's weight of the term
    high: bool         # only the column's high tier (TermColumns.high), not the whole column
    bound: float       # no passage gets more from this term through these postings
    postings: int
    cut: float = 0.0   # for a high tier: the largest weight of the column outside it


@dataclass(frozen=True)
class TopScores:
    """The best passages, best first (ties by lower row), with their scores."""
    rows: np.ndarray      # int64 passage rows, only scores above zero
    scores: np.ndarray    # float64 scores of rows
    more: bool            # whether other passages score above zero too
    pruned: bool = False  # whether some parts' columns were only looked up, never walked

    def __getitem__(self, rows) -> np.ndarray:
        """The scores of some of rows, as a dense array of every passage's score would give them."""
        return np.array([self.by_row[int(i)] for i in np.atleast_1d(rows)], dtype=np.float64)

    @functools.cached_property
    def by_row(self) -> dict[int, float]:
        """row -> score."""
        return dict(zip(self.rows.tolist(), self.scores.tolist()))


class Scorer:
    """The ranking score over the words and bigrams term columns: dense, or the exact top k."""

    def __init__(self, words: TermColumns, bigrams: TermColumns, bigram_weight: float,
                 tie_share: float, boost: np.ndarray | None = None) -> None:
        if bigram_weight < 0 or not 0 <= tie_share <= 1:
            raise ValueError("the exact top k needs terms that never lower a score, and TIE_SHARE ≤ 1")
        if boost is not None and (len(boost) != words.passages or float(boost.min(initial=1.0)) < 1.0):
            raise ValueError("a boost is a factor of at least 1 per passage")
        self.words = words
        self.bigrams = bigrams
        self.bigram_weight = bigram_weight
        self.tie_share = tie_share
        self.passages = words.passages
        # Each passage's score is multiplied by its boost (an article's lead scores more): the
        # bounds are the largest boost times the terms' own.
        self.boost = boost
        self.max_boost = float(boost.max(initial=1.0)) if boost is not None else 1.0

    # --- the exact top k ------------------------------------------------------------------

    def top(self, word_weights, bigram_weights: dict[int, float], k: int) -> TopScores:
        """The k best-scoring passages (fewer when fewer score above zero), exactly as dense would rank them."""
        units = self.units(word_weights, bigram_weights)
        if not units or k <= 0:
            return TopScores(np.zeros(0, dtype=np.int64), np.zeros(0), bool(units))
        if self.passages <= SMALL_LIBRARY:
            # A few thousand passages: the formula over all of them costs less than any bookkeeping.
            scores = self._dense(word_weights, bigram_weights)
            positive = np.flatnonzero(scores > 0)
            order = _best(scores[positive], positive, k)
            rows = positive[order]
            return TopScores(rows, scores[rows], len(positive) > len(rows))
        # θ, a first estimate: the k-th best score of the passages holding the strongest units
        # (rare terms, the likely winners, and common terms' high tiers).
        first, postings = [], 0
        for u in sorted(range(len(units)), key=lambda u: -units[u].bound):
            if postings >= _FIRST_POSTINGS * k:
                break
            first.append(u)
            postings += units[u].postings
        first.sort()
        rows = self._rows(units, first)
        # The whole scores of the best of them by those units: the k-th is a score k passages
        # really have.
        if len(rows) >= k:
            held = _Held(len(rows), self.tie_share, self.bigram_weight)
            at = self._at(rows)
            for u in first:
                held.add(units[u], *at.find(*self._postings(units[u])), None)
            likely = rows[_best(held.lower, rows, _FIRST_POSTINGS * k)]
            likely.sort()
            theta = _kth(self._evaluate(word_weights, bigram_weights, self._at(likely)), k) * (1 - _SLACK)
        else:
            theta = 0.0
        essential = self._essential(units, theta)
        pruned = len(essential) < len(units)
        candidates = rows if essential == first else self._rows(units, essential)
        chosen = candidates
        if pruned:
            chosen, at = self._refine(units, essential, candidates, theta, k)
        else:
            at = self._at(chosen)
        scores = self._evaluate(word_weights, bigram_weights, at)
        order = _best(scores, chosen, k)
        top_rows, top_scores = chosen[order], scores[order]
        keep = top_scores > 0
        top_rows, top_scores = top_rows[keep], top_scores[keep]
        if pruned:
            # Every candidate scores above zero; so may passages holding only non-essential units.
            more = len(candidates) > len(top_rows) or self._outside(units, essential, candidates)
        else:
            more = int(np.count_nonzero(scores > 0)) > len(top_rows)
        return TopScores(top_rows, top_scores, more, pruned)

    def units(self, word_weights, bigram_weights: dict[int, float]) -> list[Unit]:
        """The postings lists of the terms that can raise a score, each with its bound.

        A word's part is at most the sum of its forms' weights (TIE_SHARE ≤ 1), so each form is a
        unit of its own; a long column is two: its high tier, bounded by the column's peak, and
        the whole column, bounded by the highest weight outside the tier.
        """
        out = []
        pairs = [(bigram_weights, True)] if self.bigram_weight > 0 else []
        groups = [(forms, False) for forms in word_weights] + pairs
        for part, (weights, bigram) in enumerate(groups):
            columns = self.bigrams if bigram else self.words
            scale = (self.bigram_weight if bigram else 1.0) * self.max_boost
            for j, w in weights.items():
                if w <= 0:
                    continue
                peak = scale * w * float(columns.peak_values[j])
                tier = columns.high_tier(j)
                if tier is None:
                    out.append(Unit(part, bigram, j, w, False, peak, columns.length(j)))
                    continue
                high_rows, _, cut = tier
                out.append(Unit(part, bigram, j, w, True, peak, len(high_rows), cut))
                out.append(Unit(part, bigram, j, w, False, scale * w * cut, columns.length(j)))
        return out

    # --- steps ----------------------------------------------------------------------------

    def _at(self, rows: np.ndarray) -> "_Rows":
        return _Rows(rows, self.passages)

    @staticmethod
    def _essential(units: list[Unit], theta: float) -> list[int]:
        """The units a passage must hold to reach θ: all but the weakest whose bounds sum below θ."""
        if theta <= 0:
            return list(range(len(units)))
        by_bound = sorted(range(len(units)), key=lambda u: units[u].bound)
        total, skipped = 0.0, 0
        for u in by_bound:
            total += units[u].bound
            if total * (1 + _SLACK) >= theta:
                break
            skipped += 1
        return sorted(by_bound[skipped:])

    def _postings(self, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
        """(sorted rows, weights) of a unit."""
        columns = self.bigrams if unit.bigram else self.words
        if unit.high:
            rows, values, _ = columns.high_tier(unit.column)
            return rows, values
        return columns.column(unit.column)

    def _rows(self, units: list[Unit], chosen: list[int]) -> np.ndarray:
        """The sorted distinct passages holding any of the chosen units' postings."""
        pieces = [self._postings(units[u])[0] for u in chosen]
        total = sum(len(x) for x in pieces)
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        if total * 32 > self.passages:
            # Many postings: a mark per passage is cheaper than sorting them.
            mark = np.zeros(self.passages, dtype=bool)
            for piece in pieces:
                mark[piece] = True
            return np.flatnonzero(mark)
        rows = np.sort(np.concatenate(pieces)).astype(np.int64)
        distinct = np.ones(len(rows), dtype=bool)
        distinct[1:] = rows[1:] != rows[:-1]
        return rows[distinct]

    def _refine(self, units: list[Unit], essential: list[int], candidates: np.ndarray, theta: float,
                k: int) -> tuple[np.ndarray, "_Rows"]:
        """The candidates that may still reach θ once the non-essential units are counted.

        A candidate's score is at least what the units read so far give it, and at most that plus
        the bounds of the units not read yet. The essential units are read whole; then the others
        one by one, strongest first, looked up for the candidates left only, each dropping those
        that can no longer reach θ (which rises as the lower bounds do).
        """
        at = self._at(candidates)
        held = _Held(len(candidates), self.tie_share, self.bigram_weight)
        whole = {(units[u].bigram, units[u].column) for u in essential if not units[u].high}
        # High tiers read (term -> the largest weight outside the tier): their postings are
        # counted once, when the whole column is read later.
        tiers: dict[tuple[bool, int], float] = {}
        for u in essential:
            unit = units[u]
            if unit.high and (unit.bigram, unit.column) in whole:
                continue
            held.add(unit, *at.find(*self._postings(unit)), None)
            if unit.high:
                tiers[unit.bigram, unit.column] = unit.cut
        read = set(essential)
        later = sorted((u for u in range(len(units)) if u not in read), key=lambda u: -units[u].bound)
        rest = sum(units[u].bound for u in later)
        for u in [None] + later:
            if u is not None:
                unit = units[u]
                key = (unit.bigram, unit.column)
                held.add(unit, *at.find(*self._postings(unit)), None if unit.high else tiers.get(key))
                if unit.high:
                    tiers[key] = unit.cut
                rest -= unit.bound
            if u is None or len(at) < known:
                # θ rises as the lower bounds do; looked at again once the candidates thinned.
                theta = max(theta, _kth(held.lower, k) * (1 - _SLACK))
                known = len(at)
            # held.lower is what the units read give, before the boost; the bounds (rest) carry it.
            lower = held.lower if self.boost is None else held.lower * self.boost[at.rows]
            reach = (lower + max(rest, 0.0)) * (1 + _SLACK) >= theta
            # Copying the arrays costs as much as reading a unit for all: only when it pays.
            if reach.mean() < 0.75:
                held.keep(reach)
                at = self._at(at.rows[reach])
        return at.rows, at

    def _outside(self, units: list[Unit], essential: list[int], candidates: np.ndarray) -> bool:
        """Whether some passage holds a non-essential unit's postings and no essential one's."""
        held = set(essential)
        for u, unit in enumerate(units):
            if u in held:
                continue
            rows = self._postings(unit)[0]
            at = np.searchsorted(candidates, rows)
            inside = at < len(candidates)
            inside[inside] = candidates[at[inside]] == rows[inside]
            if not inside.all():
                return True
        return False

    def _dense(self, word_weights, bigram_weights: dict[int, float]) -> np.ndarray:
        """Every passage's score: the formula as it stands (Retriever.scores)."""
        scores = np.zeros(self.passages)
        for forms in word_weights:
            if len(forms) == 1:
                self.words.add_to(scores, forms)
                continue
            best = np.zeros(self.passages)
            total = np.zeros(self.passages)
            for j, weight in forms.items():
                rows, values = self.words.column(j)
                contribution = weight * values
                total[rows] += contribution
                best[rows] = np.maximum(best[rows], contribution)
            scores += best + self.tie_share * (total - best)
        if bigram_weights and self.bigram_weight > 0:
            bigram = np.zeros(self.passages)
            self.bigrams.add_to(bigram, bigram_weights)
            scores += self.bigram_weight * bigram
        if self.boost is not None:
            scores *= self.boost
        return scores

    def _evaluate(self, word_weights, bigram_weights: dict[int, float], rows: "_Rows") -> np.ndarray:
        """The formula for rows, operation for operation as the dense sum over every passage."""
        size = len(rows)
        scores = np.zeros(size)
        for forms in word_weights:
            if len(forms) == 1:
                for j, weight in forms.items():
                    at, values = rows.find(*self.words.column(j))
                    # Rows within one column are unique, so fancy-index addition is exact.
                    scores[at] += weight * values
                continue
            best = np.zeros(size)
            total = np.zeros(size)
            for j, weight in forms.items():
                at, values = rows.find(*self.words.column(j))
                contribution = weight * values
                total[at] += contribution
                best[at] = np.maximum(best[at], contribution)
            scores += best + self.tie_share * (total - best)
        if bigram_weights and self.bigram_weight > 0:
            bigram = np.zeros(size)
            for j, weight in bigram_weights.items():
                at, values = rows.find(*self.bigrams.column(j))
                bigram[at] += weight * values
            scores += self.bigram_weight * bigram
        if self.boost is not None:
            scores *= self.boost[rows.rows]
        return scores


class _Held:
    """What the units read so far give each candidate: per word its best form and their total."""

    def __init__(self, size: int, tie_share: float, bigram_weight: float) -> None:
        self.size = size
        self.tie = tie_share
        self.bigram_weight = bigram_weight
        self.best: dict[int, np.ndarray] = {}
        self.total: dict[int, np.ndarray] = {}
        # Each candidate's score as far as the units read tell (a lower bound of it).
        self.lower = np.zeros(size)

    def add(self, unit: Unit, at: np.ndarray, values: np.ndarray, counted: float | None) -> None:
        """Count a unit's weights of the candidates at positions at."""
        if counted is not None:
            fresh = values <= counted
            at, values = at[fresh], values[fresh]
        contribution = unit.weight * values
        if unit.bigram:
            self.lower[at] += self.bigram_weight * contribution
            return
        if unit.part not in self.best:
            # The word's first form read: its part is this form's weight.
            self.best[unit.part] = best = np.zeros(self.size)
            self.total[unit.part] = total = np.zeros(self.size)
            best[at] = contribution
            total[at] = contribution
            self.lower[at] += contribution
            return
        best, total = self.best[unit.part], self.total[unit.part]
        before = best[at] + self.tie * (total[at] - best[at])
        total[at] += contribution
        best[at] = np.maximum(best[at], contribution)
        # Added up in another order than the formula's: _SLACK covers the difference.
        self.lower[at] += best[at] + self.tie * (total[at] - best[at]) - before

    def keep(self, mask: np.ndarray) -> None:
        """Drop the candidates where mask is False."""
        self.lower = self.lower[mask]
        self.best = {p: a[mask] for p, a in self.best.items()}
        self.total = {p: a[mask] for p, a in self.total.items()}
        self.size = int(mask.sum())


class _Rows:
    """Sorted passage rows, and where a posting's row stands among them."""

    # From this many rows on, a slot per passage of the library finds them faster than a search.
    MAPPED = 2048

    def __init__(self, rows: np.ndarray, passages: int) -> None:
        self.rows = rows
        self.slot = None
        if len(rows) >= self.MAPPED:
            # calloc'd: only the pages the rows and postings fall on are ever touched.
            self.slot = np.zeros(passages, dtype=np.int32)
            self.slot[rows] = np.arange(1, len(rows) + 1, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, held: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions among the rows, weights) of the postings (held, values) on one of the rows."""
        rows = self.rows
        if len(held) <= len(rows):
            if self.slot is not None:
                at = self.slot[held]
                found = at > 0
                return at[found] - 1, values[found]
            at = np.searchsorted(rows, held)
            found = at < len(rows)
            found[found] = rows[at[found]] == held[found]
            return at[found], values[found]
        at = np.searchsorted(held, rows)
        found = at < len(held)
        found[found] = held[at[found]] == rows[found]
        return np.flatnonzero(found), values[at[found]]


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th largest of scores, 0 when there are fewer than k."""
    if len(scores) < k:
        return 0.0
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _best(scores: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best scores, best first, ties by lower row."""
    if len(scores) > k:
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        positions = np.flatnonzero(scores >= threshold)
    else:
        positions = np.arange(len(scores))
    order = np.lexsort((rows[positions], -scores[positions]))
    return positions[order][:k]

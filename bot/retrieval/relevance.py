"""Decide whether a passage answers a question, or whether the honest reply is "nothing relevant".

BM25 always ranks something first; whether that first passage is an answer is a separate
question. It is answered by a logistic model over features of the question and of each candidate
passage, fitted by bench/fit_ranking.py on questions whose answer is known to be in the library
and questions whose answer is known not to be (see bot/retrieval/model.py). A word of the
question counts as held by a passage when the passage has one of its forms, or (for a share of
it) its character pairs: jieba may cut a name differently in the article and in the question.

  coverage          share of the question's weight the passage holds, each word weighted by its
                    informativeness (idf in the library) times its necessity
                    (bot.retrieval.necessity): a missing 原因 costs little, a missing 年纪 much
  sentence_coverage the same within the passage's best sentence (or two adjacent ones): an
                    answer says what was asked in one place, a chance match scatters the words
  head_coverage     the same within the passage's head (its article's title and its section): an
                    answer is usually in the article about what the question names
  article_coverage  the same within the passage's whole article: the article an answer comes
                    from speaks of what the question asks, one a chance match comes from does not
  topic_coverage    the same over the words that are not names (the library's own names and terms,
                    Latin names): what is asked about a name ("李彦宏多大年纪" asks 年纪 of 李彦宏)
  plain_coverage    the same without necessity
  rarity_coverage   the same with each word weighted by how rare it is in general Chinese times
                    its necessity: matching 开源 and 智商税 is evidence, matching 今天 and 技术 is not
  bigram_coverage   share of the question's character pairs (idf-weighted) the passage holds
  missing           share of the question's necessity-weighted weight that no passage of the
                    whole library holds: a name or topic the articles never mention
  missing_rarity    the rarest necessary word the passage lacks (rarity x necessity, 0 to 1)
  found_rarity      the rarest word the passage holds (0 to 1)
  score_ratio       the passage's score over that of an ideal passage holding every term once
  found_words       how many of the question's necessary words the passage holds (log1p)
  specific_found    whether it holds one of the library's own names or terms
  anaphoric         whether the question names its subject only by 该 / 此 / 其 / 这个 (该书讲述了
                    什么？): it gives the words less to go on, which is no sign of another topic
  number_missing    whether the question asks a number or a date (多少, 几个, 多大, 什么时候, how
                    many) and the passage holds no numeral (for a price, 多少钱, no sum of money:
                    两种 is no price): such an answer is a number (李彦宏多大年纪 finds only
                    passages that name him)

The question is answered when the best of the first few candidates reaches `threshold`. Which
passages are then shown, on the first page and on the pages 更多 brings, is a looser and cheaper
test: the passage must cover `page_coverage` of the question (the "coverage" above), the share
that nearly every passage answering a question in the fitting data reaches.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bot.retrieval.model import RelevanceParams
from bot.retrieval.topk import compiled_loops

FEATURES = ("coverage", "sentence_coverage", "head_coverage", "article_coverage", "topic_coverage",
            "plain_coverage", "rarity_coverage", "bigram_coverage", "missing",
            "missing_rarity", "found_rarity", "score_ratio", "found_words", "specific_found", "anaphoric",
            "number_missing")
# A word counts as asked for (found_words) when its necessity is at least this: an even chance
# that the answer holds it.
NECESSARY = 0.5
# Up to this many candidate rows, the model's sum is taken over lists: numpy's cost per call
# is most of the time for a question's five (bot.retrieval.retriever.JUDGED).
_FEW_ROWS = 16


@dataclass(frozen=True)
class Word:
    """One word of a question as the relevance model sees it."""
    informative: float                        # idf of its best form in the library, or unseen idf
    necessity: float                          # probability the answer holds it
    rarity: float                             # how rare in general Chinese, 0 (common) to 1 (unknown)
    forms: tuple[tuple[int, float], ...]      # (word column, idf x weight) of forms in the library
    form_shares: tuple[tuple[str, float], ...]  # (form, share of the word it stands for)
    pairs: tuple[int, ...]                    # bigram columns of those of its pairs the library has
    pair_count: int                           # how many character pairs it has (0: not Chinese)
    pair_texts: tuple[str, ...]               # those pairs
    specific: bool                            # one of the library's own names or terms
    weak: bool = False                        # a lone general character: evidence of nothing
    name: bool = False                        # a name: the library's own, or a Latin one

    @functools.cached_property
    def share_spec(self) -> tuple[tuple[tuple[str, float], ...], tuple[str, ...], int]:
        """What a text's share of the word is read from: its forms' shares, largest first, its
        pairs and their count (bot.retrieval.retriever._shares_in)."""
        return tuple(sorted(self.form_shares, key=lambda form: -form[1])), self.pair_texts, self.pair_count

    @functools.cached_property
    def form_share_values(self) -> tuple[float, ...]:
        """Each form's share of the word, in forms' order: min(idf x weight, informative) / informative."""
        return tuple(min(value, self.informative) / self.informative for _, value in self.forms)

    @functools.cached_property
    def facts(self) -> tuple[float, float, float, float, float, bool, float, bool, float]:
        """What feature_lists reads of the word alone, computed once for the word (words recur):
        its necessity, informativeness and rarity (0.0 for a weak word), weight (informative x
        necessity), rare (rarity x necessity), whether necessary, its topic weight (0.0 for a
        name), whether specific, and 1.0 when no passage holds it (else 0.0)."""
        informative = 0.0 if self.weak else self.informative
        rarity = 0.0 if self.weak else self.rarity
        weight = informative * self.necessity
        return (self.necessity, informative, rarity, weight, rarity * self.necessity,
                self.necessity >= NECESSARY and not self.weak, 0.0 if self.name else weight, self.specific,
                0.0 if self.in_library else 1.0)

    @functools.cached_property
    def in_library(self) -> bool:
        """Whether some passage holds it: a form standing for at least half of it (not a lone
        character of it, which every library holds), or most of its character pairs."""
        return (max((share for _, share in self.form_shares), default=0.0) >= 0.5
                or (self.pair_count > 0 and len(self.pairs) / self.pair_count > 0.5))


@dataclass(frozen=True)
class Evidence:
    """What the features are computed from, for a set of candidate rows."""
    covered: np.ndarray        # rows x words: share of each word's weight the passage holds
    windows: list[np.ndarray]  # per row, windows x words: the same within each sentence window
    head: np.ndarray           # rows x words: the same within the passage's head
    article: np.ndarray        # rows x words: the same within the passage's whole article
    bigram_coverage: np.ndarray
    scores: np.ndarray         # the candidates' ranking scores
    ideal_score: float         # score of a passage holding every term of the question once
    anaphoric: bool = False    # the question names its subject only by a demonstrative
    number_missing: np.ndarray | None = None  # the question asks a number or date, the passage has none


def features(words: list[Word], evidence: Evidence) -> dict[str, np.ndarray]:
    """Every feature of every candidate row, by name."""
    rows = evidence.covered.shape[0]

    def column(values) -> np.ndarray:
        return np.array(values, dtype=np.float64) if words else np.zeros(0)

    def flags(values) -> np.ndarray:
        return np.array(values, dtype=bool) if words else np.zeros(0, dtype=bool)

    weak = flags([w.weak for w in words])
    necessity = column([w.necessity for w in words])
    informative = column([0.0 if w.weak else w.informative for w in words])
    rarity = column([0.0 if w.weak else w.rarity for w in words])
    in_library = flags([w.in_library for w in words])
    specific = flags([w.specific for w in words])
    covered = evidence.covered
    found = covered >= 0.5
    necessary = (necessity >= NECESSARY) & ~weak
    weight = informative * necessity
    total = weight.sum()
    rare = rarity * necessity
    sentence = np.array([float((window @ weight).max(initial=0.0) / total) if total > 0 else 0.0
                         for window in evidence.windows])
    return {
        "coverage": _share(covered, weight, rows, total),
        "sentence_coverage": sentence,
        "head_coverage": _share(evidence.head, weight, rows, total),
        "article_coverage": _share(evidence.article, weight, rows, total),
        "topic_coverage": _topic_share(covered, weight, flags([w.name for w in words]), rows),
        "plain_coverage": _share(covered, informative, rows),
        "rarity_coverage": _share(covered, rare, rows),
        "bigram_coverage": evidence.bigram_coverage,
        "missing": np.full(rows, _share(~in_library[None, :], weight, 1, total)[0]),
        "missing_rarity": ((~found) * rare[None, :]).max(axis=1, initial=0.0),
        "found_rarity": (found * rarity[None, :]).max(axis=1, initial=0.0),
        "score_ratio": (evidence.scores / evidence.ideal_score if evidence.ideal_score > 0
                        else np.zeros(rows)),
        "found_words": np.log1p((found & necessary).sum(axis=1)).astype(np.float64),
        "specific_found": (found & specific).any(axis=1).astype(np.float64),
        "anaphoric": np.full(rows, float(evidence.anaphoric)),
        "number_missing": (np.asarray(evidence.number_missing, dtype=np.float64)
                           if evidence.number_missing is not None else np.zeros(rows)),
    }


def feature_lists(words: list[Word], evidence: Evidence) -> dict[str, list[float]]:
    """features() of a question's few candidate rows, as lists: the same floats, computed by the
    same float64 operations in the same order, in plain Python (a walk over each row's words by
    the compiled loop, when built) where numpy's cost per call would dominate arrays of five
    (bot.retrieval.retriever.JUDGED); what a word alone gives is its own (Word.facts). The weighted shares stay numpy's
    matrix-vector products on the same arrays (BLAS may add in its own order), and so do the
    words' sums' order (numpy's pairwise sum, `_numpy_sum`) and found_words' logarithm (_LOG1P).

    evidence.scores, bigram_coverage and number_missing may be lists; words must not be empty."""
    rows = evidence.covered.shape[0]
    facts = map(list, zip(*[w.facts for w in words]))
    _, informative, rarity, weights, rare, necessary, topic, specific, absent = facts
    weight = np.array(weights, dtype=np.float64)
    total = _numpy_sum(weights)
    covered = evidence.covered

    def share(matrix: np.ndarray, vector: list[float], array: np.ndarray | None = None,
              whole: float | None = None) -> list[float]:
        whole = _numpy_sum(vector) if whole is None else whole
        if whole <= 0:
            return [0.0] * len(matrix)   # the matrix's rows (one, for `missing`)
        product = np.asarray(matrix, dtype=np.float64) @ (np.array(vector, dtype=np.float64) if array is None else array)
        return [value / whole for value in product.tolist()]

    sentence = []
    for window in evidence.windows:
        if total > 0:
            best = 0.0
            for value in (window @ weight).tolist():
                if value > best:
                    best = value
            sentence.append(best / total)
        else:
            sentence.append(0.0)
    topic_total = _numpy_sum(topic)
    # Per row, in one walk over its words: the rarest lacking and found, how many necessary found,
    # and whether a specific one is found (each the largest of 0.0 and the values, as numpy's max).
    loops = compiled_loops()
    walk = loops.found_facts if loops is not None else _found_facts
    missing_rarity, found_rarity, asked_found, specific_found = walk(np.ascontiguousarray(covered, dtype=np.float64),
                                                                     rare, rarity, necessary, specific)
    found_words = [_log1p(count) for count in asked_found]
    missing = share(np.array([absent]), weights, weight, total)[0]
    ideal = evidence.ideal_score
    number_missing = evidence.number_missing
    coverage = share(covered, weights, weight, total)
    if topic_total <= 0:
        topic_coverage = [1.0] * rows
    elif topic == weights:
        topic_coverage = list(coverage)   # no word is a name: the same product of the same values
    else:
        topic_coverage = share(covered, topic, None, topic_total)
    return {
        "coverage": coverage,
        "sentence_coverage": sentence,
        "head_coverage": share(evidence.head, weights, weight, total),
        "article_coverage": share(evidence.article, weights, weight, total),
        "topic_coverage": topic_coverage,
        "plain_coverage": share(covered, informative),
        "rarity_coverage": share(covered, rare),
        "bigram_coverage": _listed(evidence.bigram_coverage),
        "missing": [missing] * rows,
        "missing_rarity": missing_rarity,
        "found_rarity": found_rarity,
        "score_ratio": [s / ideal for s in _listed(evidence.scores)] if ideal > 0 else [0.0] * rows,
        "found_words": found_words,
        "specific_found": specific_found,
        "anaphoric": [float(evidence.anaphoric)] * rows,
        "number_missing": ([1.0 if flag else 0.0 for flag in _listed(number_missing)] if number_missing is not None
                           else [0.0] * rows),
    }


def _found_facts(covered: np.ndarray, rare: list[float], rarity: list[float], necessary: list[bool],
                 specific: list[bool]) -> tuple[list[float], list[float], list[int], list[float]]:
    """feature_lists' walk over each row's words (covered: rows x words; a word is found at a share
    of 0.5): the largest rare of those not found, the largest rarity of those found (each from
    0.0), how many found are necessary, and 1.0 when a found one is specific: in Python, where the
    compiled loop (_scatter.found_facts, the same comparisons) is not built."""
    missing_rarity, found_rarity, found_words, specific_found = [], [], [], []
    for line in covered.tolist():
        lacking = held_rarest = 0.0
        asked_found = 0
        any_specific = False
        for share, lack_value, held_value, asked, named in zip(line, rare, rarity, necessary, specific):
            if share >= 0.5:
                if held_value > held_rarest:
                    held_rarest = held_value
                if asked:
                    asked_found += 1
                if named:
                    any_specific = True
            elif lack_value > lacking:
                lacking = lack_value
        missing_rarity.append(lacking)
        found_rarity.append(held_rarest)
        found_words.append(asked_found)
        specific_found.append(1.0 if any_specific else 0.0)
    return missing_rarity, found_rarity, found_words, specific_found


def _listed(values) -> list:
    """A list of an array's or a sequence's values."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


# np.log1p of small counts, as numpy computes it over an array (found_words' logarithm).
_LOG1P = np.log1p(np.arange(64, dtype=np.int64)).tolist()


def _log1p(count: int) -> float:
    """np.log1p of a count, as over an array of counts."""
    return _LOG1P[count] if count < len(_LOG1P) else float(np.log1p(np.array([count], dtype=np.int64))[0])


def _numpy_sum(values: list[float]) -> float:
    """np.sum of a float64 vector of these values, by numpy's own order: 0.0 plus its pairwise sum
    (eight partial sums from eight values on, halves beyond 128; numpy/_core/src/umath/loops_utils.h.src)."""
    return 0.0 + _pairwise(values, 0, len(values)) if values else 0.0


def _pairwise(values: list[float], start: int, count: int) -> float:
    if count < 8:
        total = -0.0
        for value in values[start:start + count]:
            total += value
        return total
    if count <= 128:
        partial = values[start:start + 8]
        at = 8
        while at < count - count % 8:
            for k in range(8):
                partial[k] += values[start + at + k]
            at += 8
        total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + \
                ((partial[4] + partial[5]) + (partial[6] + partial[7]))
        for value in values[start + at:start + count]:
            total += value
        return total
    half = count // 2
    half -= half % 8
    return _pairwise(values, start, half) + _pairwise(values, start + half, count - half)


def _topic_share(covered: np.ndarray, weight: np.ndarray, names: np.ndarray, rows: int) -> np.ndarray:
    """The share of the weight of the words that are not names; 1 when all are names."""
    topic = np.where(names, 0.0, weight)
    total = topic.sum()
    if total <= 0:
        return np.ones(rows)
    return _share(covered, topic, rows, total)


def _share(covered: np.ndarray, weight: np.ndarray, rows: int, total: float | None = None) -> np.ndarray:
    """Per row, the weighted share of the words covered (total: weight.sum(), when known)."""
    if total is None:
        total = weight.sum()
    if total <= 0:
        return np.zeros(rows)
    return np.asarray(covered, dtype=np.float64) @ weight / total


def _linear_sums(bias: float, weights: list[float], columns: list[list[float]]) -> list[float]:
    """bias + the sum of weight x value of each row (columns: one list per weight), added in order:
    Relevance.probability's sums in Python (_scatter.linear_sums where it is built)."""
    z = []
    for row in zip(*columns):
        total = bias
        for weight, value in zip(weights, row):
            total = total + weight * value
        z.append(total)
    return z


class Relevance:
    """The fitted logistic model: probability that a candidate passage answers the question."""

    def __init__(self, params: RelevanceParams) -> None:
        unknown = [f for f in params.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown relevance feature {unknown[0]!r}")
        self.params = params
        self._weights = list(params.weights)
        # The few candidates' sums by the compiled loop when it was built (the same operations).
        loops = compiled_loops()
        self._sums = loops.linear_sums if loops is not None else None

    def probability(self, values: dict[str, np.ndarray] | dict[str, list[float]]) -> np.ndarray:
        """σ(bias + Σ weight × feature) per candidate row (values: features() or feature_lists())."""
        columns = [values[name] for name in self.params.features]
        if len(columns[0]) <= _FEW_ROWS and all(isinstance(c, list) or c.dtype == np.float64 for c in columns):
            # A question's few candidates: the sum over lists, by the same float64 operations in
            # the same order as the arrays' (the exponential stays numpy's). Lists (feature_lists)
            # hold floats.
            listed = [c if isinstance(c, list) else c.tolist() for c in columns]
            if self._sums is not None:
                z = self._sums(self.params.bias, self._weights, listed)
            else:
                z = _linear_sums(self.params.bias, self._weights, listed)
            return 1.0 / (1.0 + np.exp(-np.array(z, dtype=np.float64)))
        z = np.full(len(columns[0]), self.params.bias)
        for weight, column in zip(self.params.weights, columns):
            z = z + weight * column
        return 1.0 / (1.0 + np.exp(-z))

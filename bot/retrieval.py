"""Rank passages for a question with BM25, abstain when nothing is relevant, pick snippets.

How a question is answered
--------------------------
1. `Analyzer.query_terms` turns the question into weighted terms (its words, their sub-words,
   synonyms and English -> Chinese translations); a follow-up's previous question adds its terms at
   `CONTEXT_WEIGHT`.
2. Scores are plain BM25 (Okapi) with our idf rule, summed over the query terms:
       score(d) = sum_t  w_t * idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))
   rank-bm25's `BM25Okapi` fits the statistics (term counts, |d|, avgdl); the per-term BM25 weights
   are then stored in a column-major sparse matrix (term -> column), so a question costs only the
   columns of its own terms, whatever the corpus size.
3. The idf rule (`bm25_idf`):  idf(t) = ln(1 + (N - n_t + 0.5) / (n_t + 0.5)).
   It is BM25Okapi's idf made positive the way Lucene does it, instead of rank-bm25's epsilon floor.
   That floor gives every word found in more than half the passages the same idf (epsilon x mean
   idf), which can exceed the idf of a real topic word just under the half-way mark; with ours idf
   falls strictly as a word gets commoner, so a word in most passages always weighs less than any
   rarer word such as 开源 or DeepSeek. Function words never get there: they are stop words.
4. Each word of the question counts once, through its best-matching form (itself, a sub-word,
   a synonym, a translation); its other forms add `TIE_SHARE` of their score.  `score_all` is the
   plain formula (a bag of tokens), for benchmarks and the reference check.
5. Abstention: a word's informative weight is its best in-vocabulary idf x weight, or the idf of
   an unseen word when the corpus has none of its forms (a question of unknown words covers
   nothing). Among the best few passages, one must cover `MIN_COVERAGE` of the question's weight
   with two of its words or one of the corpus's own terms (Analyzer.is_specific), or cover
   `MIN_COVERAGE_ALONE` of it outright. One general word matching by chance is not enough.
6. Near-duplicates: a passage holding the same terms as a better-ranked one, or (both having at
   least ten terms) `DUPLICATE_OVERLAP` of the smaller one's terms, is not shown again.
7. Snippet: a passage up to `SNIPPET_CHARS` long is shown whole; a longer one shows its best run of
   1-3 consecutive sentences, verbatim, with … where it was cut.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import time
import typing
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from rank_bm25 import BM25Okapi

from bot.config import RetrievalConfig
from bot.corpus import Corpus, Passage
from bot.index_cache import TermIndex, cache_key, load_index, save_index
from bot.text import Analyzer, QueryTerm

# Forms of one question word beyond its best match add this share of their score.
TIE_SHARE = 0.3
# A follow-up's previous question counts at this share of its weight.
CONTEXT_WEIGHT = 0.4
# Share of a question's informative weight a passage must cover, with two of its words, else abstain.
MIN_COVERAGE = 0.28
# ... or with a single word (then that word must be most of the question).
MIN_COVERAGE_ALONE = 0.6
# A passage below this coverage is not offered on later pages either.
MIN_PAGE_COVERAGE = 0.2
# Passages sharing this share of the smaller one's distinct words count as one (near-duplicates).
DUPLICATE_OVERLAP = 0.7
# Longest passage shown whole; a longer one is cut to its best sentences.
SNIPPET_CHARS = 160
# Passages considered for abstention (the question must be covered by one of them).
_ABSTAIN_POOL = 5
# The ranking looks no deeper than this many best-scoring passages (pages end there): on a big
# corpus of repeated paragraphs, thousands of near-copies must not make one question slow.
_MAX_POOL = 4096

_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”」』\"’）)]*|\n+|$)")
_MIN_DUPLICATE_WORDS = 10

log = logging.getLogger(__name__)


_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class _Group(typing.NamedTuple):
    """One word of a question, as the abstention rule sees it."""
    weight: float                     # informative weight: best idf x weight of its forms
    forms: list[tuple[int, float]]    # (term column, idf x weight) of its forms in the index
    specific: bool                    # names something particular to the corpus
    weak: bool = False                # a lone general character (多, 高): matches almost anywhere


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    snippet: str                      # the passage text, or its best sentences with … marks
    matched_terms: tuple[str, ...]    # substrings of snippet to highlight, longest first
    speaker: str | None = None        # who said it, for a notable quotation


def bm25_idf(df: np.ndarray | float, n: int) -> np.ndarray | float:
    """Our idf rule: ln(1 + (N - n + 0.5) / (n + 0.5)), positive and falling as n grows."""
    return np.log1p((n - np.asarray(df, dtype=np.float64) + 0.5) / (np.asarray(df, dtype=np.float64) + 0.5))


def build_index(passages: Sequence[Passage], analyzer: Analyzer, k1: float, b: float,
                chunk: int = 20_000) -> TermIndex:
    """Tokenize every passage and let rank-bm25's BM25Okapi fit the term counts and lengths.

    BM25Okapi is fitted chunk by chunk (its per-passage dicts of 200,000 passages would take some
    400 MB at once); counts and lengths simply concatenate, and idf is ours, from the whole corpus.
    """
    if not passages:
        return TermIndex((), sp.csc_matrix((0, 0), dtype=np.int32), np.zeros(0, dtype=np.int64))
    vocab: dict[str, int] = {}
    rows, cols, data, lengths = [], [], [], []  # rows: terms per passage
    for begin in range(0, len(passages), chunk):
        part = passages[begin:begin + chunk]
        # Term ids instead of strings: 200,000 passages of token strings would not fit in memory.
        documents = ([vocab.setdefault(t, len(vocab)) for t in analyzer.tokenize(p.text)] for p in part)
        bm25 = BM25Okapi(documents, k1=k1, b=b)
        counts = np.fromiter((len(d) for d in bm25.doc_freqs), dtype=np.int64, count=len(part))
        total = int(counts.sum())
        rows.append(counts)
        cols.append(np.fromiter(itertools.chain.from_iterable(bm25.doc_freqs), dtype=np.int32, count=total))
        data.append(np.fromiter(itertools.chain.from_iterable(d.values() for d in bm25.doc_freqs),
                                dtype=np.int32, count=total))
        lengths.append(np.asarray(bm25.doc_len, dtype=np.int64))
        del bm25
    # Passages come row by row, so the counts are a CSR matrix as they stand: no row-index array
    # and no COO conversion, which at 200,000 passages were the build's memory peak.
    indptr = np.concatenate(([0], np.cumsum(np.concatenate(rows))))
    by_row = sp.csr_matrix((np.concatenate(data), np.concatenate(cols), indptr),
                           shape=(len(passages), len(vocab)), dtype=np.int32)
    del rows, cols, data
    tf = by_row.tocsc()
    del by_row
    tf.sort_indices()
    terms = tuple(sorted(vocab, key=vocab.__getitem__))
    return TermIndex(vocab=terms, tf=tf, doc_len=np.concatenate(lengths))


class Retriever:
    """Owns the index over one corpus; built once at start-up, then searched synchronously.

    For benchmarks and reference checks it exposes:
      analyzer       the Analyzer (tokenize a query with retriever.analyzer.tokenize(text))
      idf            dict term -> idf under our rule (`bm25_idf`), for feeding a plain reference
      token_lists()  every passage's terms (a bag: order not kept), to fit a plain BM25Okapi
      score_all(q)   numpy array of BM25 scores of every passage for a token list (duplicates
                     count, as in BM25Okapi.get_scores) or (token, weight) pairs
    Ties rank by passage order (lower index first).
    """

    def __init__(self, corpus: Corpus, config: RetrievalConfig) -> None:
        self.config = config
        self.passages: tuple[Passage, ...] = tuple(corpus.passages)
        self.analyzer = Analyzer(config)
        key = cache_key(((p.id, p.text) for p in self.passages), self.analyzer.fingerprint)
        started = time.perf_counter()
        index = load_index(config.cache_dir, key, len(self.passages))
        self.cache_hit = index is not None
        if index is None:
            index = build_index(self.passages, self.analyzer, config.k1, config.b)
            save_index(config.cache_dir, key, index)
        log.info("index of %d passages %s in %.2f s", len(self.passages),
                 "loaded from cache" if self.cache_hit else "built", time.perf_counter() - started)
        self._install(index)
        # Passages' token spans and words are needed only for the few passages shown or compared.
        self._spans = functools.lru_cache(maxsize=4096)(self._passage_tokens)
        self._words = functools.lru_cache(maxsize=4096)(self._passage_words)

    def _install(self, index: TermIndex) -> None:
        """Turn term counts into BM25 weights, one sparse column per term."""
        n = len(self.passages)
        self.vocab: dict[str, int] = {t: j for j, t in enumerate(index.vocab)}
        self.doc_len = index.doc_len
        self.avgdl = float(index.doc_len.mean()) if n else 0.0
        tf = index.tf
        df = np.diff(tf.indptr)
        self._idf = bm25_idf(df, n) if n else np.zeros(0)
        self.unseen_idf = float(bm25_idf(0, max(n, 1)))
        k1, b = self.config.k1, self.config.b
        norm = k1 * (1 - b + b * self.doc_len / (self.avgdl or 1.0))
        # In place, one corpus-sized temporary at a time, in float32: at 200,000 passages each is
        # ~45 MB, and float32's 7 digits rank as float64 does (the benchmark checks agreement).
        weights = tf.data.astype(np.float32)
        denominator = norm.astype(np.float32)[tf.indices]
        denominator += weights
        weights *= np.float32(k1 + 1)
        weights /= denominator
        del denominator
        weights *= np.repeat(self._idf.astype(np.float32), df)
        self.matrix = sp.csc_matrix((weights, tf.indices, tf.indptr), shape=tf.shape)
        # Each passage's terms with counts, row by row: near-duplicate checks and token_lists().
        rows = tf.tocsr()
        self._rows = rows
        self._row_terms, self._row_starts = rows.indices, rows.indptr
        self._signature = _signatures(rows.indices, rows.indptr)

    # --- public --------------------------------------------------------------------------

    @property
    def idf(self) -> dict[str, float]:
        """term -> idf under our rule, for a plain reference implementation."""
        return {t: float(self._idf[j]) for t, j in self.vocab.items()}

    def token_lists(self) -> list[list[str]]:
        """Every passage's terms with their counts (order not kept), as BM25Okapi would be fed."""
        csr = self._rows
        terms = list(self.vocab)
        out = []
        for i in range(csr.shape[0]):
            start, end = csr.indptr[i], csr.indptr[i + 1]
            out.append([terms[j] for j, c in zip(csr.indices[start:end], csr.data[start:end]) for _ in range(c)])
        return out

    def score_all(self, query: Sequence[str] | Sequence[tuple[str, float]]) -> np.ndarray:
        """BM25 score of every passage for a token list or (token, weight) pairs."""
        weights: dict[str, float] = {}
        for item in query:
            token, weight = (item, 1.0) if isinstance(item, str) else item
            weights[token] = weights.get(token, 0.0) + weight
        return self._scores(weights)

    def search(self, query: str, top_k: int = 3, offset: int = 0,
               context: str | None = None) -> list[Hit]:
        """The best passages for query from rank offset on; [] when nothing is relevant.

        context is the previous question of a follow-up: its key terms count at lower weight.
        """
        terms = self.query_terms(query, context)
        if not terms or not self.passages or top_k <= 0:
            return []
        scores = self._group_scores(terms)
        groups = self._groups(terms)
        ranked = self._rank(scores, groups, needed=offset + top_k)
        return [self._hit(i, float(scores[i]), terms) for i in ranked[offset:offset + top_k]]

    def query_terms(self, query: str, context: str | None = None) -> list[QueryTerm]:
        """The weighted terms of a question, with a previous question's terms at lower weight."""
        terms = self.analyzer.query_terms(query)
        if not context:
            return terms
        own = {t.token for t in terms}
        first_group = max((t.group for t in terms), default=-1) + 1
        for term in self.analyzer.query_terms(context):
            if term.token not in own:
                terms.append(QueryTerm(term.token, term.weight * CONTEXT_WEIGHT, first_group + term.group, "context"))
        return terms

    def coverage(self, query: str, passage_index: int, context: str | None = None) -> float:
        """Share of the question's informative weight that one passage covers (for calibration)."""
        groups = self._groups(self.query_terms(query, context))
        return float(self._coverage(np.array([passage_index]), groups)[0])

    # --- ranking ---------------------------------------------------------------------------

    def _scores(self, weights: dict[str, float]) -> np.ndarray:
        """Sum of the weighted BM25 columns of the query's terms (unknown terms add nothing)."""
        scores = np.zeros(len(self.passages))
        m = self.matrix
        for token, weight in weights.items():
            j = self.vocab.get(token)
            if j is None:
                continue
            start, end = m.indptr[j], m.indptr[j + 1]
            # Rows within one column are unique, so fancy-index addition is exact.
            scores[m.indices[start:end]] += weight * m.data[start:end]
        return scores

    def _group_scores(self, terms: list[QueryTerm]) -> np.ndarray:
        """BM25 where each word of the question counts once, by its best-matching form.

        A word's forms (itself, its sub-words, synonyms, translations) would otherwise add up, so
        a passage with 成本 and 价格 would beat one with the exact word; the other forms add only
        a `TIE_SHARE` of their score, which still prefers a passage with both halves of a long word.
        """
        by_group: dict[int, dict[int, float]] = {}
        for term in terms:
            j = self.vocab.get(term.token)
            if j is not None:
                forms = by_group.setdefault(term.group, {})
                forms[j] = max(forms.get(j, 0.0), term.weight)
        scores = np.zeros(len(self.passages))
        m = self.matrix
        for forms in by_group.values():
            if len(forms) == 1:
                (j, weight), = forms.items()
                scores[m.indices[m.indptr[j]:m.indptr[j + 1]]] += weight * m.data[m.indptr[j]:m.indptr[j + 1]]
                continue
            best = np.zeros(len(self.passages))
            total = np.zeros(len(self.passages))
            for j, weight in forms.items():
                rows = m.indices[m.indptr[j]:m.indptr[j + 1]]
                values = weight * m.data[m.indptr[j]:m.indptr[j + 1]]
                total[rows] += values
                best[rows] = np.maximum(best[rows], values)
            scores += best + TIE_SHARE * (total - best)
        return scores

    def _groups(self, terms: list[QueryTerm]) -> list["_Group"]:
        """Per question word: its informative weight and its in-vocabulary forms (column, value)."""
        by_group: dict[int, list[QueryTerm]] = {}
        for term in terms:
            by_group.setdefault(term.group, []).append(term)
        out = []
        for members in by_group.values():
            # A word the corpus lacks still counts (it is evidence of another topic) unless a
            # translation or synonym the corpus has stands in for it.
            resolved = any(t.kind in ("translation", "synonym") and t.token in self.vocab for t in members)
            weight = 0.0
            forms = []
            for t in members:
                j = self.vocab.get(t.token)
                if j is not None:
                    idf = float(self._idf[j])
                    forms.append((j, t.weight * idf))
                    # A synonym's full idf is what the question asked for; finding it covers less.
                    weight = max(weight, (1.0 if t.kind == "synonym" else t.weight) * idf)
                elif t.kind == "word" and not resolved:
                    weight = max(weight, t.weight * self.unseen_idf)
            if weight > 0:
                specific = any(t.kind in ("word", "translation") and t.token in self.vocab
                               and self.analyzer.is_specific(t.token) for t in members)
                asked = [t.token for t in members if t.kind in ("word", "context")]
                weak = not specific and bool(asked) and all(
                    len(token) == 1 and _CJK_CHAR.match(token) for token in asked)
                out.append(_Group(weight, forms, specific, weak))
        return out

    def _covered(self, rows: np.ndarray, groups: list["_Group"]) -> np.ndarray:
        """rows x groups: the share of each question word's weight a passage covers."""
        out = np.zeros((len(rows), len(groups)))
        for g, (weight, forms, *_) in enumerate(groups):
            for j, value in forms:
                share = min(value, weight) / weight
                out[:, g] = np.maximum(out[:, g], np.where(self._present(j, rows), share, 0.0))
        return out

    def _present(self, j: int, rows: np.ndarray) -> np.ndarray:
        """Whether term column j holds each of rows (the column's row indices are sorted)."""
        m = self.matrix
        column = m.indices[m.indptr[j]:m.indptr[j + 1]]
        if len(column) == 0:
            return np.zeros(len(rows), dtype=bool)
        # Same dtype as the column, or numpy would copy the whole column to compare.
        at = np.minimum(np.searchsorted(column, rows.astype(column.dtype)), len(column) - 1)
        return column[at] == rows

    def _coverage(self, rows: np.ndarray, groups: list["_Group"]) -> np.ndarray:
        """For each passage row, the share of the question's informative weight it covers."""
        weights = _informative(groups)
        if not len(rows) or weights.sum() <= 0:
            return np.zeros(len(rows))
        return self._covered(rows, groups) @ weights / weights.sum()

    def _rank(self, scores: np.ndarray, groups: list, needed: int) -> list[int]:
        """Passage indices by score, near-duplicates and weak matches dropped; [] to abstain."""
        positive = int(np.count_nonzero(scores > 0))
        if positive == 0 or not groups:
            return []
        weights = _informative(groups)
        if weights.sum() <= 0:
            return []
        specific = np.array([g.specific for g in groups])
        weak = np.array([g.weak for g in groups])
        pool = min(positive, max(8 * needed, 32))
        while True:
            order = _top(scores, pool)
            covered = self._covered(order, groups)
            coverage = covered @ weights / weights.sum()
            if not _relevant(coverage[:_ABSTAIN_POOL], covered[:_ABSTAIN_POOL], specific, weak):
                return []
            # Exact repeats (same terms) go first, in one vectorized step; a big corpus may hold
            # thousands of copies of one paragraph.
            _, first = np.unique(self._signature[order], return_index=True)
            fresh = np.zeros(len(order), dtype=bool)
            fresh[first] = True
            kept: list[int] = []
            for i, cov, new in zip(order.tolist(), coverage.tolist(), fresh.tolist()):
                if not new or cov < MIN_PAGE_COVERAGE:
                    continue
                if any(self._duplicate(i, j) for j in kept):
                    continue
                kept.append(i)
                if len(kept) >= needed:
                    return kept
            if pool >= min(positive, _MAX_POOL):
                return kept
            pool = min(positive, _MAX_POOL, pool * 8)

    def _duplicate(self, i: int, j: int) -> bool:
        """Whether two passages repeat each other: the same terms, or most of the smaller's in the other."""
        a, b = self._words(i), self._words(j)
        if not a or not b:
            return False
        if a == b:
            return True
        # A short line shares most of its few terms with many passages without repeating any.
        if min(len(a), len(b)) < _MIN_DUPLICATE_WORDS:
            return False
        return len(a & b) / min(len(a), len(b)) >= DUPLICATE_OVERLAP

    def _passage_words(self, i: int) -> frozenset[int]:
        """A passage's distinct terms (index columns), read from the index: no tokenizing."""
        return frozenset(self._row_terms[self._row_starts[i]:self._row_starts[i + 1]].tolist())

    # --- hits ------------------------------------------------------------------------------

    def _hit(self, i: int, score: float, terms: list[QueryTerm]) -> Hit:
        """A passage with its snippet and the query terms found in it."""
        passage = self.passages[i]
        weight = {t.token: t.weight * float(self._idf[self.vocab[t.token]])
                  for t in terms if t.token in self.vocab}
        spans = [(s, e, weight[tok]) for tok, s, e, _ in self._spans(i) if tok in weight]
        start, end = _snippet_bounds(passage.text, spans)
        text = passage.text
        snippet = ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")
        inside = [(s, e) for s, e, _ in spans if start <= s and e <= end]
        return Hit(passage=passage, score=score, snippet=snippet, matched_terms=_surfaces(text, inside))

    def _passage_tokens(self, i: int) -> tuple[tuple[str, int, int, bool], ...]:
        """A passage's terms with their spans in its original text (and whether a whole word)."""
        return tuple((t.text, t.start, t.end, t.whole) for t in self.analyzer.tokens(self.passages[i].text))


def _signatures(terms: np.ndarray, starts: np.ndarray, block_rows: int = 1 << 14) -> np.ndarray:
    """A 64-bit fingerprint of each passage's set of terms: equal sets, equal fingerprints."""
    rows = len(starts) - 1
    sums = np.zeros(rows, dtype=np.uint64)
    lengths = np.diff(starts)
    with np.errstate(over="ignore"):
        # Two multiplicative hashes of each term id, summed per row (wrapping). Block by rows so
        # the 64-bit temporaries stay small however big the corpus: no array as long as the
        # whole index is made (at 200,000 passages that alone was ~90 MB at the peak).
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


def _informative(groups: list[_Group]) -> np.ndarray:
    """Each question word's weight in coverage; a lone general character the corpus lacks, none.

    An unseen word normally counts as evidence of another topic, but a lone character (好 in
    "开源好吗") is grammar more often than topic: "开源好吗" must be judged on 开源.
    """
    return np.array([0.0 if g.weak and not g.forms else g.weight for g in groups])


def _relevant(coverage: np.ndarray, covered: np.ndarray, specific: np.ndarray,
              weak: np.ndarray) -> bool:
    """Whether some passage covers enough of the question with evidence that is not chance.

    One matched general word is often chance (手机 in "苹果手机多少钱"); two agreeing words, or
    one of the corpus's own names and terms (太极图, 梁文锋), rarely are; a passage covering most
    of the question needs neither. Lone general characters (多, 高 in "他多高") are in nearly every
    passage, so they are never evidence on their own: a passage must match a real word.
    """
    found = covered >= 0.5
    has_word = (found & ~weak).any(axis=1)
    if (has_word & (coverage >= MIN_COVERAGE_ALONE)).any():
        return True
    evidence = ((found & ~weak).sum(axis=1) >= 2) | (found & specific).any(axis=1)
    return bool((evidence & (coverage >= MIN_COVERAGE)).any())


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Indices of the count best scores, best first, ties by lower index."""
    if count >= len(scores):
        candidates = np.arange(len(scores))
    else:
        threshold = np.partition(scores, len(scores) - count)[len(scores) - count]
        candidates = np.flatnonzero(scores >= threshold)
    order = np.lexsort((candidates, -scores[candidates]))
    chosen = candidates[order][:count]
    return chosen[scores[chosen] > 0]


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of text, each keeping its end mark and closing quote."""
    spans = []
    for match in _SENTENCE.finditer(text):
        if match.end() > match.start():
            spans.append((match.start(), match.end()))
    return spans or [(0, len(text))]


def _snippet_bounds(text: str, spans: list[tuple[int, int, float]]) -> tuple[int, int]:
    """The whole text when short, else the 1-3 consecutive sentences holding the most query weight."""
    if len(text) <= SNIPPET_CHARS:
        return 0, len(text)
    sentences = _sentences(text)
    best, best_key = (sentences[0][0], sentences[0][1]), None
    for first in range(len(sentences)):
        for last in range(first, min(first + 3, len(sentences))):
            start, end = sentences[first][0], sentences[last][1]
            if last > first and end - start > SNIPPET_CHARS:
                break
            gained: dict[str, float] = {}
            for s, e, w in spans:
                if start <= s and e <= end:
                    gained[text[s:e]] = max(gained.get(text[s:e], 0.0), w)
            key = (sum(gained.values()), -(end - start) if end - start > SNIPPET_CHARS else 0, -first)
            if best_key is None or key > best_key:
                best, best_key = (start, end), key
    start, end = best
    # Trim the whitespace a sentence span may carry at its edges; the text stays verbatim.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _surfaces(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
    """Distinct surface strings of the matched spans not inside a longer match, longest first."""
    spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
    outer: list[tuple[int, int]] = []
    for s, e in spans:
        if any(os_ <= s and e <= oe for os_, oe in outer):
            continue
        outer.append((s, e))
    words = dict.fromkeys(text[s:e] for s, e in outer)
    return tuple(sorted(words, key=lambda w: (-len(w), text.find(w))))

"""Count the terms of every passage, field by field: what the ranking is computed from.

Each passage is indexed twice, as words and as character bigrams:
  words    jieba's words and their dictionary sub-words (Analyzer.tokenize), so 出口管制 matches
           whole and 管制 matches part of it;
  bigrams  every pair of adjacent Chinese characters (Analyzer.bigrams), so a name jieba splits
           differently in the question and in the article (乍都节 as 乍/都节 or 乍都/节) still
           meets, and adjacent words of the question count more where they stand together.
and each of those has two fields:
  body     the passage's own text;
  head     its article's title and its section heading, so a passage that never repeats its
           subject (它的面积约为…) is still found by a question that names it.
The counts are plain integers; the BM25F weights are computed from them at start-up
(`bot.retrieval.scoring`), so the fitted weights can change without re-tokenizing.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pathlib import Path

from bot.corpus import Passage
from bot.text import Analyzer

REPRESENTATIONS = ("words", "bigrams")
FIELDS = ("body", "head")


@dataclass(frozen=True)
class FieldCounts:
    """One representation's term counts: a body and a head matrix over one vocabulary."""
    vocab: tuple[str, ...]      # column j is the term vocab[j]
    body: sp.csc_matrix         # passages x terms, int32 counts, sorted indices
    head: sp.csc_matrix         # passages x terms: the title and section's counts
    body_len: np.ndarray        # terms per passage body (int64)
    head_len: np.ndarray        # terms per passage head (int64)


@dataclass(frozen=True)
class IndexCounts:
    """Everything the cache holds: the counts of both representations."""
    words: FieldCounts
    bigrams: FieldCounts

    def field(self, representation: str) -> FieldCounts:
        """The counts of "words" or "bigrams"."""
        return getattr(self, representation)


def head_text(passage: Passage) -> str:
    """What a passage's head field holds: its article's title, its section heading, and the
    speaker whose interview turn it continues."""
    return "\n".join(part for part in (passage.source_title, passage.section, passage.speaker) if part)


@functools.lru_cache(maxsize=1)
def counting_fingerprint() -> str:
    """A hash of this module's code: what the heads hold and how terms are counted.

    The counts' cache key has it, so a change here (a head gaining the speaker, say) can never
    meet counts made the old way, even though the passages themselves are unchanged.
    """
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


# Below this many passages one process tokenizes them all: starting workers would cost more.
PARALLEL_FROM = 20_000
# Passages a worker tokenizes at a time: small enough to spread the work evenly over the cores
# and to keep each chunk's token lists small, big enough that handing chunks over costs little.
CHUNK = 10_000


def build_counts(passages: Sequence[Passage], analyzer: Analyzer, workers: int | None = None) -> IndexCounts:
    """Tokenize every passage (body and head) into words and into bigrams, and count.

    Tokenizing (jieba) is most of a cold build: from PARALLEL_FROM passages on, the bodies are
    tokenized by one process per core (forked, so they share the analyzer already loaded), chunk
    by chunk, and the chunks' counts are joined in passage order, giving exactly the counts, and
    the vocabulary's order, of one process doing it all.
    """
    workers = workers if workers is not None else len(os.sched_getaffinity(0))
    if workers > 1 and len(passages) >= PARALLEL_FROM:
        words, bigrams = _parallel_bodies(passages, analyzer, workers)
    else:
        words = _okapi_counts((analyzer.tokenize(p.text) for p in passages), len(passages), {})
        bigrams = _plain_counts((analyzer.bigrams(p.text) for p in passages), len(passages), {})
    return IndexCounts(
        words=_with_heads(passages, analyzer.tokenize, *words),
        bigrams=_with_heads(passages, analyzer.bigrams, *bigrams),
    )


def _with_heads(passages: Sequence[Passage], tokenize: Callable[[str], list[str]],
                body: Rows, body_len: np.ndarray, vocab: dict[str, int]) -> FieldCounts:
    """One representation's counts: the body rows given, then the head rows over the same vocabulary."""
    # Heads repeat (every passage of an article shares its title): tokenize each distinct one once.
    heads: dict[str, list[str]] = {}

    def head_tokens_of(text: str) -> list[str]:
        tokens = heads.get(text)
        if tokens is None:
            tokens = heads[text] = tokenize(text)
        return tokens
    head_tokens = map(head_tokens_of, map(head_text, passages))
    head, head_len = _plain_counts(head_tokens, len(passages), vocab)[:2]
    shape = (len(passages), len(vocab))
    terms = tuple(sorted(vocab, key=vocab.__getitem__))
    return FieldCounts(terms, _to_csc(body, shape), _to_csc(head, shape), body_len, head_len)


_WORK: tuple[Sequence[Passage], Analyzer] | None = None  # what forked workers tokenize


def _count_chunk(bounds: tuple[int, int]) -> tuple:
    """A worker's counts of passages[first:last], words then bigrams, each over its own vocabulary."""
    passages, analyzer = _WORK
    chunk = passages[bounds[0]:bounds[1]]
    words = _okapi_counts((analyzer.tokenize(p.text) for p in chunk), len(chunk), {})
    bigrams = _plain_counts((analyzer.bigrams(p.text) for p in chunk), len(chunk), {})
    # Vocabularies as lists in id order: the joining keeps their order of first appearance.
    return tuple((rows, lengths, list(vocab)) for rows, lengths, vocab in (words, bigrams))


def _parallel_bodies(passages: Sequence[Passage], analyzer: Analyzer, workers: int):
    """(rows, lengths, vocab) of words and of bigrams over every body, tokenized by worker processes."""
    global _WORK
    bounds = [(first, min(first + CHUNK, len(passages))) for first in range(0, len(passages), CHUNK)]
    joined = [_Joined(len(passages)), _Joined(len(passages))]
    _WORK = (passages, analyzer)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for parts in pool.imap(_count_chunk, bounds):
                for target, part in zip(joined, parts):
                    target.add(*part)
    finally:
        _WORK = None
    return tuple(target.result() for target in joined)


class _Joined:
    """Chunks' CSR counts joined in order, their term ids mapped onto one vocabulary."""

    def __init__(self, count: int) -> None:
        self.vocab: dict[str, int] = {}
        self.indptr, self.indices, self.data, self.lengths = [np.zeros(1, dtype=np.int64)], [], [], []
        self.count = count
        self.at = 0

    def add(self, rows: Rows, lengths: np.ndarray, terms: list[str]) -> None:
        vocab = self.vocab
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int32, count=len(terms))
        indptr, indices, data = rows
        self.indptr.append(indptr[1:] + self.at)
        self.indices.append(ids[indices] if len(indices) else indices)
        self.data.append(data)
        self.lengths.append(lengths)
        self.at += int(indptr[-1])

    def result(self) -> tuple[Rows, np.ndarray, dict[str, int]]:
        rows = (np.concatenate(self.indptr), np.concatenate(self.indices).astype(np.int32, copy=False),
                np.concatenate(self.data).astype(np.int32, copy=False))
        return rows, np.concatenate(self.lengths), self.vocab


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR indptr, indices, data


def _plain_counts(documents: Iterable[list[str]], count: int,
                  vocab: dict[str, int]) -> tuple[Rows, np.ndarray, dict[str, int]]:
    """CSR rows of term counts, one row per document, term ids from vocab (extended as met)."""
    lengths = np.zeros(count, dtype=np.int64)
    indptr = np.zeros(count + 1, dtype=np.int64)
    indices: list[int] = []
    data: list[int] = []
    for i, tokens in enumerate(documents):
        counts = Counter(vocab.setdefault(t, len(vocab)) for t in tokens)
        indices.extend(counts)
        data.extend(counts.values())
        lengths[i] = len(tokens)
        indptr[i + 1] = len(indices)
    return (indptr, np.asarray(indices, dtype=np.int32), np.asarray(data, dtype=np.int32)), lengths, vocab


def _okapi_counts(documents: Iterable[list[str]], count: int, vocab: dict[str, int],
                  chunk: int = 20_000) -> tuple[Rows, np.ndarray, dict[str, int]]:
    """CSR rows of term counts as rank-bm25's BM25Okapi fits them, chunk by chunk.

    BM25Okapi's per-passage dicts of 200,000 passages would take some 400 MB at once; counts and
    lengths simply concatenate (idf is ours, from the whole corpus).
    """
    from rank_bm25 import BM25Okapi

    documents = iter(documents)
    rows, cols, data, lengths = [], [], [], []
    while True:
        # Term ids instead of strings: 200,000 passages of token strings would not fit in memory.
        part = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in itertools.islice(documents, chunk)]
        if not part:
            break
        bm25 = BM25Okapi(part)
        counts = np.fromiter((len(d) for d in bm25.doc_freqs), dtype=np.int64, count=len(part))
        total = int(counts.sum())
        rows.append(counts)
        cols.append(np.fromiter(itertools.chain.from_iterable(bm25.doc_freqs), dtype=np.int32, count=total))
        data.append(np.fromiter(itertools.chain.from_iterable(d.values() for d in bm25.doc_freqs),
                                dtype=np.int32, count=total))
        lengths.append(np.asarray(bm25.doc_len, dtype=np.int64))
        del bm25, part
    if not rows:
        empty = np.zeros(0, dtype=np.int32)
        return (np.zeros(count + 1, dtype=np.int64), empty, empty), np.zeros(count, dtype=np.int64), vocab
    # Passages come row by row, so the counts are a CSR matrix as they stand: no row-index array
    # and no COO conversion, which at 200,000 passages were the build's memory peak.
    indptr = np.concatenate(([0], np.cumsum(np.concatenate(rows))))
    return (indptr, np.concatenate(cols), np.concatenate(data)), np.concatenate(lengths), vocab


def _to_csc(rows: Rows, shape: tuple[int, int]) -> sp.csc_matrix:
    """Term columns from passage rows, with sorted row indices."""
    import scipy.sparse as sp  # a build's: a start from the cache never needs scipy
    indptr, indices, data = rows
    by_row = sp.csr_matrix((data, indices, indptr), shape=shape, dtype=np.int32)
    matrix = by_row.tocsc()
    matrix.sort_indices()
    return matrix

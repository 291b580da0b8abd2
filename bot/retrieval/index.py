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

    @property
    def body_df(self) -> np.ndarray:
        """How many passages' bodies hold each term."""
        return np.diff(self.body.indptr)

    def body_block(self, first: int, last: int) -> Rows:
        """The body's columns first..last-1: (indptr from 0, sorted rows, counts)."""
        indptr = self.body.indptr[first:last + 1]
        start, end = int(indptr[0]), int(indptr[-1])
        return (np.asarray(indptr, dtype=np.int64) - start, np.asarray(self.body.indices[start:end], dtype=np.int32),
                np.asarray(self.body.data[start:end], dtype=np.int32))


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
# and to keep what a chunk sends back small, big enough that handing chunks over costs little.
# (A chunk's rows fit 16 bits.)
CHUNK = 10_000


def build_counts(passages: Sequence[Passage], analyzer: Analyzer, workers: int | None = None) -> IndexCounts:
    """Tokenize every passage (body and head) into words and into bigrams, and count."""
    return IndexCounts(**{name: build_field(passages, analyzer, name, workers).counts()
                          for name in REPRESENTATIONS})


def build_field(passages: Sequence[Passage], analyzer: Analyzer, representation: str,
                workers: int | None = None, on_rows: Callable[[Rows], None] | None = None,
                on_spans: Callable[[Spans], None] | None = None) -> "FieldBuild":
    """One representation's counts of every passage, body and head, held compactly.

    Tokenizing (jieba) is most of a cold build: from PARALLEL_FROM passages on, the bodies are
    tokenized by one process per core (forked, so they share the analyzer already loaded), chunk
    by chunk, and the chunks are joined in passage order, giving exactly the counts, and the
    vocabulary's order, of one process doing it all. Each chunk is kept as its own small column
    matrix (16-bit rows): the whole body matrix is only ever made a block of columns at a time
    (FieldBuild.body_block). on_rows, if given, receives each chunk's rows (CSR, term ids
    sorted within a row, int32) in passage order, as they come; on_spans, of the words only, each
    chunk's bodies' terms in order with their spans (Spans), from the same cut as the counts.
    """
    workers = workers if workers is not None else len(os.sched_getaffinity(0))
    bounds = [(first, min(first + CHUNK, len(passages))) for first in range(0, len(passages), CHUNK)]
    if representation != "words":
        on_spans = None
    build = FieldBuild(len(passages), on_rows, on_spans)
    global _WORK
    _WORK = (passages, analyzer, representation, on_spans is not None)
    try:
        if workers > 1 and len(passages) >= PARALLEL_FROM:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for part in pool.imap(_count_chunk, bounds):
                    build.add(*part)
        else:
            for part in map(_count_chunk, bounds):
                build.add(*part)
    finally:
        _WORK = None
    tokenize = analyzer.tokenize if representation == "words" else analyzer.bigrams
    build.add_heads(passages, tokenize)
    return build


_WORK: tuple[Sequence[Passage], Analyzer, str, bool] | None = None  # what forked workers tokenize


def _count_chunk(bounds: tuple[int, int]) -> tuple:
    """The counts of passages[first:last] (CSR rows, lengths, the chunk's own vocabulary as a list
    in id order: the joining keeps their order of first appearance), and with spans asked for,
    the bodies' terms in order as chunk ids, their starts, ends and whether whole (else None)."""
    passages, analyzer, representation, spans = _WORK
    chunk = passages[bounds[0]:bounds[1]]
    if not spans:
        tokenize = analyzer.tokenize if representation == "words" else analyzer.bigrams
        rows, lengths, vocab = _plain_counts((tokenize(p.text) for p in chunk), len(chunk), {})
        return rows, lengths, list(vocab), None
    # tokenize is tokens' texts: one cut gives the counts and the spans.
    cuts = [analyzer.tokens(p.text) for p in chunk]
    rows, lengths, vocab = _plain_counts(([t.text for t in tokens] for tokens in cuts), len(chunk), {})
    every = [t for tokens in cuts for t in tokens]
    ids = np.fromiter((vocab[t.text] for t in every), dtype=np.int32, count=len(every))
    starts = np.fromiter((t.start for t in every), dtype=np.int32, count=len(every))
    ends = np.fromiter((t.end for t in every), dtype=np.int32, count=len(every))
    whole = np.fromiter((t.whole for t in every), dtype=np.uint8, count=len(every))
    return rows, lengths, list(vocab), (ids, starts, ends, whole)


@dataclass
class _Piece:
    """A chunk of passages' body counts as columns: rows from `first`, sorted within a column."""
    first: int
    indptr: np.ndarray   # over the vocabulary as it stood after the chunk
    rows: np.ndarray     # uint16: rows within the chunk
    data: np.ndarray     # uint16 counts (int32 if one does not fit)


class FieldBuild:
    """A representation's counts as built: body chunks, head matrix, lengths, vocabulary."""

    def __init__(self, count: int, on_rows: Callable[[Rows], None] | None = None,
                 on_spans: Callable[[Spans], None] | None = None) -> None:
        self.passages = count
        self.terms: dict[str, int] = {}
        self.pieces: list[_Piece] = []
        self.body_df = np.zeros(0, dtype=np.int64)
        self.body_len = np.zeros(count, dtype=np.int64)
        self.head = None
        self.head_len = np.zeros(count, dtype=np.int64)
        self.vocab: tuple[str, ...] = ()
        self._on_rows = on_rows
        self._on_spans = on_spans
        self._at = 0

    def add(self, rows: Rows, lengths: np.ndarray, terms: list[str], spans: tuple | None = None) -> None:
        """The next chunk's rows over its own vocabulary (and its spans, _count_chunk's)."""
        import scipy.sparse as sp  # a build's: a start from the cache never needs scipy
        vocab = self.terms
        ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), dtype=np.int32, count=len(terms))
        indptr, indices, data = rows
        count = len(lengths)
        if self._on_spans is not None and spans is not None:
            local, starts, ends, whole = spans
            self._on_spans((np.asarray(lengths, dtype=np.int64), ids[local] if len(local) else local,
                            starts, ends, whole))
        by_row = sp.csr_matrix((data, ids[indices] if len(indices) else indices, indptr),
                               shape=(count, len(vocab)), dtype=np.int32)
        by_row.sort_indices()
        if self._on_rows is not None:
            self._on_rows((by_row.indptr.astype(np.int64), by_row.indices.astype(np.int32, copy=False),
                           by_row.data.astype(np.int32, copy=False)))
        columns = by_row.tocsc()
        del by_row
        columns.sort_indices()
        fits = not len(columns.data) or int(columns.data.max()) <= np.iinfo(np.uint16).max
        self.pieces.append(_Piece(self._at, columns.indptr.astype(np.int64),
                                  columns.indices.astype(np.uint16),
                                  columns.data.astype(np.uint16 if fits else np.int32)))
        df = np.diff(columns.indptr)
        if len(df) > len(self.body_df):
            self.body_df = np.concatenate((self.body_df, np.zeros(len(df) - len(self.body_df), dtype=np.int64)))
        self.body_df[:len(df)] += df
        self.body_len[self._at:self._at + count] = lengths
        self._at += count

    def add_heads(self, passages: Sequence[Passage], tokenize: Callable[[str], list[str]]) -> None:
        """The head rows, over the bodies' vocabulary (extended by terms only heads hold)."""
        # Heads repeat (every passage of an article shares its title): tokenize each distinct one once.
        heads: dict[str, list[str]] = {}

        def head_tokens_of(text: str) -> list[str]:
            tokens = heads.get(text)
            if tokens is None:
                tokens = heads[text] = tokenize(text)
            return tokens
        head_tokens = map(head_tokens_of, map(head_text, passages))
        head, self.head_len = _plain_counts(head_tokens, self.passages, self.terms)[:2]
        size = len(self.terms)
        self.head = _to_csc(head, (self.passages, size))
        self.body_df = np.concatenate((self.body_df, np.zeros(size - len(self.body_df), dtype=np.int64)))
        self.vocab = tuple(sorted(self.terms, key=self.terms.__getitem__))
        self.terms = {}

    def body_block(self, first: int, last: int) -> Rows:
        """The body's columns first..last-1: (indptr from 0, sorted rows, counts), gathered from
        the chunks in passage order."""
        indptr = np.concatenate(([0], np.cumsum(self.body_df[first:last], dtype=np.int64)))
        rows = np.empty(int(indptr[-1]), dtype=np.int32)
        data = np.empty(int(indptr[-1]), dtype=np.int32)
        free = indptr[:-1].copy()  # where each column's next posting goes
        for piece in self.pieces:
            last_here = min(last, len(piece.indptr) - 1)
            if last_here <= first:
                continue
            own = piece.indptr[first:last_here + 1]
            start, end = int(own[0]), int(own[-1])
            if start == end:
                continue
            lengths = np.diff(own)
            width = last_here - first
            at = np.arange(start, end, dtype=np.int64) + np.repeat(free[:width] - own[:-1], lengths)
            rows[at] = piece.rows[start:end]
            rows[at] += piece.first
            data[at] = piece.data[start:end]
            free[:width] += lengths
        return indptr, rows, data

    def counts(self) -> FieldCounts:
        """The whole counts as matrices (for a library that fits in memory twice over)."""
        import scipy.sparse as sp  # a build's: a start from the cache never needs scipy
        shape = (self.passages, len(self.vocab))
        indptr, rows, data = self.body_block(0, len(self.vocab))
        body = sp.csc_matrix((data, rows, indptr), shape=shape)
        body.has_sorted_indices = True
        return FieldCounts(self.vocab, body, self.head, self.body_len, self.head_len)


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # CSR indptr, indices, data
# A chunk's bodies' terms in order: terms per passage, term ids (the vocabulary's), the start and
# end of each in the passage's text, and whether it is a whole word (Analyzer.tokens).
Spans = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


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


def _to_csc(rows: Rows, shape: tuple[int, int]) -> sp.csc_matrix:
    """Term columns from passage rows, with sorted row indices."""
    import scipy.sparse as sp  # a build's: a start from the cache never needs scipy
    indptr, indices, data = rows
    by_row = sp.csr_matrix((data, indices, indptr), shape=shape, dtype=np.int32)
    matrix = by_row.tocsc()
    matrix.sort_indices()
    return matrix

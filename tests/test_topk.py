"""The exact top k (bot.retrieval.topk) against the plain formula over every passage; the parallel build.

Random libraries with a few very common terms, exact copies of passages (so scores tie, also
across the selection's blocks) and random questions: the same passages, in the same order, with
the same floating-point scores, and the same answer to "are there more".
"""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from bot.config import load_config
from bot.corpus import load_corpus
from bot.retrieval import Retriever
from bot.retrieval import retriever as retriever_module
from bot.retrieval.index import FieldCounts
from bot.retrieval.scoring import FieldParams, TermColumns
from bot.retrieval import topk
from bot.retrieval.topk import Scorer

TIE = retriever_module.TIE_SHARE


def random_counts(rng: np.random.Generator, passages: int, terms: int) -> FieldCounts:
    """Counts where term t is held by about passages / (t + 1) passages (Zipf), some rows copied."""
    rows, cols, data = [], [], []
    for t in range(terms):
        share = min(0.6, 1.5 / (t + 1))
        held = np.flatnonzero(rng.random(passages) < share)
        rows.append(held)
        cols.append(np.full(len(held), t))
        data.append(rng.integers(1, 4, len(held)))
    body = sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(passages, terms), dtype=np.int32)
    # Every tenth passage repeats the one before it: equal scores, ties broken by the lower row.
    copies = np.arange(1, passages, 10)
    body = sp.vstack([body[i - 1] if i in set(copies.tolist()) else body[i] for i in range(passages)]).tocsr()
    titled = np.arange(0, passages, 7)
    head = sp.csr_matrix((np.ones(len(titled)), (titled, rng.integers(0, terms, len(titled)))),
                         shape=(passages, terms), dtype=np.int32)
    body_len = np.asarray(body.sum(axis=1)).ravel().astype(np.int64) + 1
    head_len = np.asarray(head.sum(axis=1)).ravel().astype(np.int64)
    csc = lambda m: sp.csc_matrix(m, dtype=np.int32).sorted_indices()  # noqa: E731
    return FieldCounts(tuple(f"t{j}" for j in range(terms)), csc(body), csc(head), body_len, head_len)


def dense(words: TermColumns, bigrams: TermColumns, word_weights, bigram_weights, bigram_weight) -> np.ndarray:
    """The plain formula, written out as Retriever.scores has it."""
    scores = np.zeros(words.passages)
    for forms in word_weights:
        if len(forms) == 1:
            words.add_to(scores, forms)
            continue
        best = np.zeros(words.passages)
        total = np.zeros(words.passages)
        for j, weight in forms.items():
            rows, values = words.column(j)
            contribution = weight * values
            total[rows] += contribution
            best[rows] = np.maximum(best[rows], contribution)
        scores += best + TIE * (total - best)
    if bigram_weights and bigram_weight > 0:
        bigram = np.zeros(words.passages)
        bigrams.add_to(bigram, bigram_weights)
        scores += bigram_weight * bigram
    return scores


def random_question(rng: random.Random, terms: int, bigram_terms: int):
    """Word groups of 1-3 forms and some bigram columns, common terms as likely as rare ones."""
    groups = []
    for _ in range(rng.randint(1, 5)):
        forms = {}
        for _ in range(rng.randint(1, 3)):
            forms[rng.randrange(terms)] = rng.choice([1.0, 0.5, 0.3, rng.random()])
        groups.append(forms)
    bigrams = {rng.randrange(bigram_terms): rng.choice([1.0, 0.4, rng.random()]) for _ in range(rng.randint(0, 12))}
    return groups, bigrams


@pytest.mark.parametrize("seed,long_column,lead", [(0, 4096, 0.0), (1, 64, 0.0), (2, 200, 0.0), (3, 32, 0.0),
                                                (4, 64, 0.1), (5, 200, 0.5), (6, 64, 0.0), (7, 64, 0.3)])
def test_top_k_equals_the_plain_formula_on_random_questions(seed: int, long_column: int, lead: float) -> None:
    """long_column: columns this long get a high tier (of 1,500 passages, none holds 4,096);
    lead: every tenth passage, an article's lead, scores this share more. k from 1 to 4,096:
    the selection's blocks of passages (1,500 // 4k of them) or every passage scoring above zero."""
    rng = np.random.default_rng(seed)
    params = FieldParams(k1=0.9, b=0.5, head_weight=2.0, head_b=0.5)
    words = TermColumns(random_counts(rng, 1500, 60), params, long_column)
    bigrams = TermColumns(random_counts(rng, 1500, 80), FieldParams(k1=0.9, b=0.3, head_weight=5.0, head_b=0.5),
                          long_column)
    boost = None
    if lead:
        boost = np.ones(1500)
        boost[::10] *= 1.0 + lead
    scorer = Scorer(words, bigrams, 0.25, TIE, boost)
    pick = random.Random(seed)
    for _ in range(150):
        groups, pairs = random_question(pick, 60, 80)
        k = pick.choice([1, 3, 32, 40, 200, 4096])
        reference = dense(words, bigrams, groups, pairs, 0.25)
        if lead:
            reference[::10] *= 1.0 + lead  # as Retriever.scores boosts the leads
        positive = int(np.count_nonzero(reference > 0))
        expected = retriever_module._top(reference, min(positive, k)) if positive else np.zeros(0, dtype=int)
        top = scorer.top(groups, pairs, k)
        assert top.rows.tolist() == expected.tolist()
        # The very same floating-point numbers, not merely close ones.
        assert top.scores.tobytes() == reference[expected].tobytes()
        assert top.more == (positive > len(expected))
        # A deeper pool of the same question, selected from the scores already computed.
        deeper = pick.choice([k, 4 * k, 4096])
        again = scorer.deeper(top, groups, pairs, deeper)
        fresh = scorer.top(groups, pairs, deeper)
        assert again.rows.tolist() == fresh.rows.tolist() and again.scores.tobytes() == fresh.scores.tobytes()
        assert again.more == fresh.more


def test_a_question_holding_nothing_has_no_candidates() -> None:
    rng = np.random.default_rng(7)
    params = FieldParams(k1=0.9, b=0.5, head_weight=0.0, head_b=0.5)
    words = TermColumns(random_counts(rng, 50, 5), params)
    scorer = Scorer(words, words, 0.0, TIE)
    top = scorer.top([{0: 0.0}], {}, 10)
    assert len(top.rows) == 0 and not top.more


def test_the_bundled_questions_rank_as_the_plain_formula_ranks_them(tmp_path) -> None:
    config = load_config(env={"HOME": str(tmp_path)}).with_overrides(retrieval={"cache_dir": tmp_path / "cache"})
    retriever = Retriever(load_corpus(config.corpus), config.retrieval)
    questions = ["DeepSeek 为什么开源？", "出口管制挡得住中国 AI 吗", "李彦宏怎么评价开源模型", "开源",
                 "What did OpenAI accuse DeepSeek of?", "今天天气怎么样"]
    for question in questions:
        query = retriever.prepare(question)
        reference = retriever.scores(query)
        positive = int(np.count_nonzero(reference > 0))
        for k in (5, 32, 4096):
            expected = retriever_module._top(reference, min(positive, k)) if positive else np.zeros(0, dtype=int)
            top = retriever._scorer.top(query.word_weights, query.bigram_weights, k)
            assert top.rows.tolist() == expected.tolist()
            assert top.scores.tobytes() == reference[expected].tobytes()


def test_a_parallel_build_counts_exactly_as_one_process(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.retrieval import index
    from bot.text import Analyzer

    config = load_config(env={"HOME": str(tmp_path)})
    passages = load_corpus(config.corpus).passages
    analyzer = Analyzer(config.retrieval)
    alone = index.build_counts(passages, analyzer, workers=1)
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(index, "CHUNK", 7)   # many chunks, the last one short
    shared = index.build_counts(passages, analyzer, workers=2)
    for name in index.REPRESENTATIONS:
        a, b = alone.field(name), shared.field(name)
        assert a.vocab == b.vocab
        for field in ("body", "head"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x.indptr.tolist(), x.indices.tolist(), x.data.tolist()) == \
                (y.indptr.tolist(), y.indices.tolist(), y.data.tolist())
        assert a.body_len.tolist() == b.body_len.tolist() and a.head_len.tolist() == b.head_len.tolist()


def test_a_build_streamed_to_the_cache_serves_the_arrays_made_whole_in_memory(tmp_path, monkeypatch) -> None:
    """Chunked tokenizing, columns weighed and written a few at a time: byte for byte the arrays of
    the whole counts weighed at once."""
    from bot.retrieval import cache, index
    from bot.retrieval.model import load_model
    from bot.text import Analyzer

    config = load_config(env={"HOME": str(tmp_path)})
    corpus = load_corpus(config.corpus)
    analyzer = Analyzer(config.retrieval)
    model = load_model(config.retrieval.model_file)
    whole = retriever_module._arrays_of(index.build_counts(corpus.passages, analyzer, workers=1), model)
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(index, "CHUNK", 97)
    monkeypatch.setattr(cache, "BLOCK_POSTINGS", 500)
    streamed, hit = retriever_module.serving_arrays(corpus, analyzer, model, tmp_path / "cache")
    spans = {name for name, _ in retriever_module._SPAN_ARRAYS}
    assert not hit and set(streamed) == set(whole) | spans
    for name, array in whole.items():
        got = np.asarray(streamed[name][:len(streamed[name])])
        assert got.dtype == array.dtype and got.tobytes() == array.tobytes(), name
    # The token spans the chunks kept, joined: each passage's cut, its term ids the vocabulary's.
    indptr, terms, starts, ends, whole_words = (np.asarray(streamed[name][:len(streamed[name])])
                                                for name, _ in retriever_module._SPAN_ARRAYS)
    vocab = json.loads(bytes(streamed["words.vocab"]).decode("utf-8"))
    for row, passage in enumerate(corpus.passages):
        a, b = indptr[row], indptr[row + 1]
        assert [(vocab[j], s, e, w == 1) for j, s, e, w in zip(terms[a:b].tolist(), starts[a:b].tolist(),
                                                               ends[a:b].tolist(), whole_words[a:b].tolist())] == \
            [(t.text, t.start, t.end, t.whole) for t in analyzer.tokens(passage.text)]


@pytest.mark.parametrize("seed,parts,compiled,lead", [(10, 2, True, 0.0), (11, 2, True, 0.3), (12, 3, True, 0.1),
                                                     (13, 7, True, 0.0), (14, 1, True, 0.2), (15, 1, False, 0.3)])
def test_scoring_ranges_of_passages_at_once_gives_the_plain_formulas_floats(seed: int, parts: int, compiled: bool,
                                                                           lead: float) -> None:
    """A library scored in ranges of passages, all but the first in worker threads, its columns
    added by scipy's compiled loop or np.add.at: every passage's score is the very float of the
    plain formula, and the top k are one range's with np.add.at."""
    rng = np.random.default_rng(seed)
    params = FieldParams(k1=0.9, b=0.5, head_weight=2.0, head_b=0.5)
    words = TermColumns(random_counts(rng, 1500, 60), params, 64)
    bigrams = TermColumns(random_counts(rng, 1500, 80), FieldParams(k1=0.9, b=0.3, head_weight=5.0, head_b=0.5), 64)
    boost = None
    if lead:
        boost = np.ones(1500)
        boost[::10] *= 1.0 + lead
    whole = Scorer(words, bigrams, 0.25, TIE, boost, parts=1, compiled=False, kernel=False)
    ranged = Scorer(words, bigrams, 0.25, TIE, boost, parts=parts, compiled=compiled, kernel=False)
    assert len(ranged._bounds) == parts + 1
    pick = random.Random(seed)
    for _ in range(150):
        groups, pairs = random_question(pick, 60, 80)
        reference = dense(words, bigrams, groups, pairs, 0.25)
        if lead:
            reference[::10] *= 1.0 + lead
        assert ranged._dense(groups, pairs).tobytes() == reference.tobytes()
        assert whole._dense(groups, pairs).tobytes() == reference.tobytes()
        k = pick.choice([1, 3, 32, 200])
        top, plain = ranged.top(groups, pairs, k), whole.top(groups, pairs, k)
        assert top.rows.tolist() == plain.rows.tolist() and top.scores.tobytes() == plain.scores.tobytes()
        assert top.more == plain.more


def test_a_library_is_scored_in_ranges_and_by_scipys_loop_only_from_its_size_on() -> None:
    assert topk._parts(1000, topk.PARALLEL_FROM) == 1 and topk._parts(200_000, topk.PARALLEL_FROM) == 1
    assert topk._parts(topk.PARALLEL_FROM, topk.PARALLEL_FROM) in (1, 2)
    assert topk._parts(5, 0) <= 2
    rng = np.random.default_rng(9)
    words = TermColumns(random_counts(rng, 300, 10), FieldParams(k1=0.9, b=0.5, head_weight=0.0, head_b=0.5))
    small = Scorer(words, words, 0.25, TIE)
    assert small._add is None and len(small._bounds) == 2


def test_without_scipys_private_loop_the_scatter_adds_the_same_floats(monkeypatch: pytest.MonkeyPatch) -> None:
    """_compiled_scatter reads scipy's private _sparsetools; a scipy without it gets np.add.at over
    the same rows, which gives the same floats (each column's rows are distinct, added in order)."""
    rng = np.random.default_rng(5)
    passages = 5_000
    columns = [np.sort(rng.choice(passages, size=int(rng.integers(1, 900)), replace=False)).astype(np.int32)
               for _ in range(12)]
    rows = np.concatenate(columns)
    offsets = np.zeros(len(columns) + 1, dtype=np.int32)
    np.cumsum([len(c) for c in columns], out=offsets[1:])
    contributions = rng.random(len(rows)).astype(np.float32).astype(np.float64)
    start = rng.random(passages)
    compiled = start.copy()
    topk._compiled_scatter()(compiled, offsets, rows, contributions)
    monkeypatch.setitem(sys.modules, "scipy.sparse._sparsetools", None)   # import raises ImportError
    fallback = start.copy()
    topk._compiled_scatter()(fallback, offsets, rows, contributions)
    assert fallback.tobytes() == compiled.tobytes()
    assert not np.array_equal(fallback, start)


# ---------------------------------------------------------------------------- the compiled loop

@pytest.fixture(scope="module")
def compiled_loop(tmp_path_factory):
    """bot.retrieval._scatter as this checkout builds it: the installed build, or else built now by
    setup.py into a temporary folder (a checkout that was not reinstalled): never skipped."""
    try:
        from bot.retrieval import _scatter
    except ImportError:
        import importlib.util
        import subprocess
        from pathlib import Path

        root = Path(topk.__file__).resolve().parents[2]
        out = tmp_path_factory.mktemp("scatter")
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(out), "--build-temp",
                        str(out / "temp")], cwd=root, check=True, capture_output=True)
        [path] = (out / "bot" / "retrieval").glob("_scatter*")
        spec = importlib.util.spec_from_file_location("bot.retrieval._scatter", path)
        _scatter = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_scatter)
        sys.modules["bot.retrieval._scatter"] = _scatter
    topk._loops.cache_clear()
    assert topk._loops() is _scatter
    yield _scatter
    topk._loops.cache_clear()


@pytest.mark.parametrize("seed,passages,parts,lead", [(20, 9000, 1, 0.0), (21, 9000, 1, 0.3), (22, 9000, 2, 0.1),
                                                      (23, 7001, 3, 0.0), (24, 1500, 1, 0.2), (25, 2048, 2, 0.0),
                                                      (26, 36_001, 1, 0.2), (27, 20_000, 3, 0.0)])
def test_the_compiled_loop_gives_the_plain_formulas_floats(compiled_loop, seed: int, passages: int, parts: int,
                                                          lead: float) -> None:
    """bot/retrieval/_scatter.c over libraries within one tile of passages (16,384) or of several,
    its last one short, in one range or in several at once (their bounds inside tiles; columns
    holding up to 60 % of the passages, so a column's walk of CHUNK postings at a time meets
    each tile's end within a chunk and between chunks): every
    passage's score is the very float of the plain formula and of numpy's loops, and the top k
    the same passages."""
    rng = np.random.default_rng(seed)
    params = FieldParams(k1=0.9, b=0.5, head_weight=2.0, head_b=0.5)
    words = TermColumns(random_counts(rng, passages, 40), params, 64)
    bigrams = TermColumns(random_counts(rng, passages, 50), FieldParams(k1=0.9, b=0.3, head_weight=5.0, head_b=0.5),
                          64)
    boost = None
    if lead:
        boost = np.ones(passages)
        boost[::10] *= 1.0 + lead
    numpy_loops = Scorer(words, bigrams, 0.25, TIE, boost, parts=parts, kernel=False)
    compiled = Scorer(words, bigrams, 0.25, TIE, boost, parts=parts, kernel=True)
    assert compiled._kernel is compiled_loop.score_range and numpy_loops._kernel is None
    pick = random.Random(seed)
    for _ in range(60):
        groups, pairs = random_question(pick, 40, 50)
        reference = dense(words, bigrams, groups, pairs, 0.25)
        if lead:
            reference[::10] *= 1.0 + lead
        assert compiled._dense(groups, pairs).tobytes() == reference.tobytes()
        assert numpy_loops._dense(groups, pairs).tobytes() == reference.tobytes()
        k = pick.choice([1, 3, 32, 200])
        top, plain = compiled.top(groups, pairs, k), numpy_loops.top(groups, pairs, k)
        assert top.rows.tolist() == plain.rows.tolist() and top.scores.tobytes() == plain.scores.tobytes()
        assert top.more == plain.more
        # What the loop found of the scores for the selection: each complete block's peak (blocks
        # of any size, within a tile's rows and across its end) and how many score above zero.
        size = pick.choice([topk._block_size(passages, k), 1, 7, 256, 1000])
        scores, (found_size, peaks, positives) = compiled._scored(groups, pairs, size)
        blocks = passages // size
        assert found_size == size and scores.tobytes() == reference.tobytes()
        assert peaks.tobytes() == reference[:blocks * size].reshape(blocks, size).max(axis=1).tobytes()
        assert positives == int(np.count_nonzero(reference > 0))
        deeper = pick.choice([k, 4 * k, 4096])
        again, fresh = compiled.deeper(top, groups, pairs, deeper), numpy_loops.top(groups, pairs, deeper)
        assert again.rows.tolist() == fresh.rows.tolist() and again.scores.tobytes() == fresh.scores.tobytes()
        assert again.more == fresh.more


def test_the_selections_compiled_passes_find_what_numpys_find(compiled_loop) -> None:
    """Each block's peak and the rows at or above a floor (above 0.0 for a floor of 0.0), on
    scores with ties, zeros and blocks not dividing the library; the k best selected either way."""
    rng = np.random.default_rng(8)
    for n in (1, 7, 1000, 5003, 20_000):
        scores = np.where(rng.random(n) < 0.4, 0.0, rng.integers(1, 50, n) / 7.0)
        for size in (1, 2, 13, 256):
            blocks = n // size
            peaks = np.empty(blocks)
            compiled_loop.block_peaks(scores, size, peaks)
            assert peaks.tobytes() == scores[:blocks * size].reshape(blocks, size).max(axis=1).tobytes()
        for floor in (0.0, 1 / 7.0, 3.0, 100.0):
            expected = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
            for size in (0, 1, 13, 256):   # reading every row, or only the blocks reaching floor
                blocks = n // size if size else 0
                peaks = scores[:blocks * size].reshape(blocks, size).max(axis=1) if size else np.zeros(0)
                rows = np.empty(n, dtype=np.int64)
                count = compiled_loop.rows_at_least(scores, floor, rows, size, peaks)
                assert rows[:count].tolist() == expected.tolist()
        for k in (1, 3, 32, 200):
            a, b = topk._select(scores, k, compiled_loop), topk._select(scores, k)
            assert a.rows.tolist() == b.rows.tolist() and a.scores.tobytes() == b.scores.tobytes() and a.more == b.more


def test_the_compiled_sort_of_the_candidates_picks_what_best_picks(compiled_loop) -> None:
    """best_first (the compiled sort _select takes for a few candidates) orders them as _best's
    partition and lexsort do: by score, many of them tied, then by lower row; k beyond them all too."""
    rng = np.random.default_rng(19)
    for n in (1, 2, 40, 300, 2000):
        scores = np.where(rng.random(n) < 0.3, 0.0, rng.integers(1, 12, n) / 3.0)
        candidates = np.flatnonzero(scores > 0)
        for k in (0, 1, 3, 32, n + 5):
            rows = candidates.copy()
            taken = compiled_loop.best_first(scores, rows, len(rows), k)
            expected = candidates[topk._best(scores[candidates], candidates, k)] if k else candidates[:0]
            assert rows[:taken].tolist() == expected.tolist()
            assert sorted(rows.tolist()) == candidates.tolist()   # reordered, none lost
    with pytest.raises(ValueError):
        compiled_loop.best_first(np.zeros(3), np.array([0, 5], dtype=np.int64), 2, 1)


def test_which_rows_columns_hold_is_found_alike_by_the_compiled_search(compiled_loop, monkeypatch) -> None:
    """TermColumns.present_many by the compiled binary search (a library of COMPILED_FROM passages
    or more) and by numpy's (batched, or a column at a time past _BATCHED_POSTINGS)."""
    from bot.retrieval import scoring

    rng = np.random.default_rng(6)
    columns = TermColumns(random_counts(rng, 3000, 40), FieldParams(k1=0.9, b=0.5, head_weight=1.0, head_b=0.5))
    assert columns._compiled is None   # a small library: numpy's
    monkeypatch.setattr(topk, "COMPILED_FROM", 3000)
    compiled = TermColumns(None, FieldParams(k1=0.9, b=0.5, head_weight=1.0, head_b=0.5), arrays=columns.arrays(),
                           vocab=tuple(columns.vocab))
    assert compiled._compiled is compiled_loop
    pick = random.Random(6)
    for _ in range(100):
        asked = pick.sample(range(40), pick.randint(1, 12))
        rows = np.array(pick.sample(range(3000), pick.randint(1, 70)) + [0, 2999], dtype=pick.choice([np.int64, np.int32]))
        expected = columns.present_many(asked, rows)
        assert compiled.present_many(asked, rows).tolist() == expected.tolist()
        assert compiled.present_many(asked, rows[::2]).tolist() == expected[:, ::2].tolist()
        with monkeypatch.context() as patch:
            patch.setattr(scoring, "_BATCHED_POSTINGS", 0)
            assert columns.present_many(asked, rows).tolist() == expected.tolist()
    assert compiled.present_many([], rows).shape == (0, len(rows))
    assert compiled.present_many([1], rows[:0]).shape == (1, 0)


def test_the_bundled_questions_score_alike_by_the_compiled_loop(compiled_loop, tmp_path) -> None:
    config = load_config(env={"HOME": str(tmp_path)}).with_overrides(retrieval={"cache_dir": tmp_path / "cache"})
    retriever = Retriever(load_corpus(config.corpus), config.retrieval)
    plain = retriever._scorer
    compiled = Scorer(retriever.words, retriever.bigrams, plain.bigram_weight, plain.tie_share, plain.boost,
                      kernel=True)
    for question in ["DeepSeek 为什么开源？", "出口管制挡得住中国 AI 吗", "李彦宏怎么评价开源模型", "开源",
                     "What did OpenAI accuse DeepSeek of?", "大模型的价格战对创业公司意味着什么"]:
        query = retriever.prepare(question)
        reference = retriever.scores(query)
        assert compiled._dense(query.word_weights, query.bigram_weights).tobytes() == reference.tobytes()


def test_a_library_of_any_size_takes_the_compiled_loop_and_numpys_without_it(
        compiled_loop, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    words = TermColumns(random_counts(rng, 300, 10), FieldParams(k1=0.9, b=0.5, head_weight=0.0, head_b=0.5))
    compiled = Scorer(words, words, 0.25, TIE)   # a small library too
    assert compiled._kernel is compiled_loop.score_range and compiled._checked   # its index read once
    # Not built (no C compiler at install): np.add.at a column in a small library, scipy's
    # scatter and numpy's passes from COMPILED_FROM passages on, the same floats.
    monkeypatch.setattr(topk, "_loops", lambda: None)
    small = Scorer(words, words, 0.25, TIE)
    assert small._kernel is None and small._add is None
    monkeypatch.setattr(topk, "COMPILED_FROM", 300)
    fallback = Scorer(words, words, 0.25, TIE)
    assert fallback._kernel is None and fallback._add is not None
    groups = [{0: 1.0}, {1: 0.5, 2: 0.3}]
    for scorer in (compiled, small, fallback):
        assert scorer._dense(groups, {3: 1.0}).tobytes() == dense(words, words, groups, {3: 1.0}, 0.25).tobytes()
    with pytest.raises(ImportError):
        Scorer(words, words, 0.25, TIE, kernel=True)


def test_the_compiled_loop_refuses_postings_outside_the_index_or_the_passages_or_unsorted(compiled_loop) -> None:
    rows = np.array([0, 2, 5], dtype=np.int32)
    values = np.ones(3, dtype=np.float32)
    out = np.zeros(4)
    none, no_boosts, no_peaks = np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)

    def score(out, word_columns, pair_columns, hi, word_rows=rows, boosted=none, boosts=no_boosts, size=0,
              peaks=no_peaks):
        return compiled_loop.score_range(out, (word_rows, values, word_columns), (rows, values, pair_columns),
                                         0.25, 0.3, 0, hi, boosted, boosts, size, peaks)

    with pytest.raises(ValueError):   # row 5 of 4 passages
        score(out, [[(0, 3, 1.0)]], [], 4)
    with pytest.raises(ValueError):   # postings 0..4 of 3
        score(out, [[(0, 4, 1.0)]], [], 4)
    with pytest.raises(TypeError):    # int64 rows
        score(out, [[(0, 2, 1.0)]], [], 4, word_rows=rows.astype(np.int64))
    with pytest.raises(ValueError, match="not increasing"):
        score(np.zeros(6), [[(0, 3, 1.0)]], [], 6, word_rows=rows[::-1].copy())
    with pytest.raises(ValueError, match="boosted"):
        score(out, [[(0, 2, 1.0)]], [], 4, boosted=np.array([3, 1]), boosts=np.ones(2))
    with pytest.raises(ValueError, match="peaks"):
        score(out, [[(0, 2, 1.0)]], [], 4, size=2, peaks=np.zeros(3))
    assert not out.any()
    peaks = np.full(2, -np.inf)
    positives = score(out, [[(0, 2, 1.0)]], [(0, 2, 1.0)], 4, boosted=np.array([2]), boosts=np.array([2.0]),
                      size=2, peaks=peaks)
    assert out.tolist() == [1.25, 0.0, 2.5, 0.0] and peaks.tolist() == [1.25, 2.5] and positives == 2
    # What out held is never read: its rows in lo..hi are zeroed before they are added to, and
    # the others are left as they were.
    held = np.array([7.0, np.nan, -1.0, 3.0])
    compiled_loop.score_range(held, (rows, values, [[(0, 2, 1.0)]]), (rows, values, [(0, 2, 1.0)]), 0.25, 0.3, 0, 3,
                              np.array([2]), np.array([2.0]), 0, np.zeros(0))
    assert held.tolist() == [1.25, 0.0, 2.5, 3.0]


def test_an_index_whose_columns_are_checked_once_is_scored_alike(compiled_loop) -> None:
    # check_columns reads every column once (Scorer does, for its index); score_range then trusts
    # the columns' order and reads only their ends.
    rows = np.array([0, 2, 5, 1, 3], dtype=np.int32)          # column 0: 0 2 5, column 1: 1 3
    indptr = np.array([0, 3, 5], dtype=np.int64)
    assert compiled_loop.check_columns(rows, indptr, 6)
    assert not compiled_loop.check_columns(rows, indptr, 5)                     # row 5 of 5 passages
    assert not compiled_loop.check_columns(rows[[1, 0, 2, 3, 4]].copy(), indptr, 6)   # 2 before 0
    assert not compiled_loop.check_columns(np.array([0, 2, 2], dtype=np.int32), np.array([0, 3]), 6)  # twice
    assert not compiled_loop.check_columns(rows, np.array([0, 3, 6], dtype=np.int64), 6)   # past the postings
    assert not compiled_loop.check_columns(rows, np.array([0, 4, 3], dtype=np.int64), 6)   # decreasing bounds
    values = np.arange(1, 6, dtype=np.float32)
    none = np.zeros(0, dtype=np.int64)
    results = []
    for checked in (False, True):
        out, peaks = np.zeros(6), np.full(3, -np.inf)
        positives = compiled_loop.score_range(out, (rows, values, [[(0, 3, 1.0)], [(3, 5, 0.5)]]),
                                              (rows, values, [(0, 3, 1.0)]), 0.25, 0.3, 0, 6, none,
                                              np.zeros(0), 2, peaks, checked)
        results.append((out.tolist(), peaks.tolist(), positives))
    assert results[0] == results[1] and results[0][2] == 5

"""The per-question speed-ups (caches, batched look-ups) give what the plain computation gives."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def questions() -> list[str]:
    """The bundled evaluation questions (Chinese, English and mixed), in file order."""
    out: list[str] = []
    for path in sorted((REPO / "tests" / "eval").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        out += [c["q"] for c in raw.get("cases", [])]
        out += [t["q"] for d in raw.get("dialogues", []) for t in d["turns"]]
    return list(dict.fromkeys(out))


@pytest.fixture(scope="module")
def retriever(bundled_parts):
    return bundled_parts[2]


def test_a_words_cached_facts_do_not_depend_on_the_question_that_cached_them(retriever) -> None:
    """Each word's facts are cached by its forms alone: asking the questions in the opposite
    order (other questions fill the cache first) prepares every question alike."""
    asked = questions()
    # Each question alone, and as a follow-up of the next one (its context words join it).
    cases = [(q, None) for q in asked] + list(zip(asked, asked[1:] + asked[:1]))

    def prepared(order: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], object]:
        retriever._word.cache_clear()
        retriever._token_pair_columns.cache_clear()
        return {case: retriever.prepare(*case) for case in order}

    forwards = prepared(cases)
    assert retriever._word.cache_info().hits > 0
    assert prepared(cases[::-1]) == forwards


def test_the_glossary_patterns_skipped_for_a_question_cannot_match_it(retriever) -> None:
    """_glossary_candidates leaves out only patterns that do not match: tried on the questions and
    on each glossary phrase alone, inside Chinese, after a space, and glued to a letter."""
    analyzer = retriever.analyzer
    phrases = list(analyzer.aliases.glossary)
    texts = questions() + phrases + [f"什么是{p}？" for p in phrases] + [f"the {p}s" for p in phrases] + \
        [f"x{p}" for p in phrases]
    for text in texts:
        norm = analyzer.normalize(text)
        kept = set(analyzer._glossary_candidates(norm))
        matching = {n for n, (pattern, _) in enumerate(analyzer._glossary) if pattern.search(norm)}
        assert matching <= kept, text


def test_the_batched_article_look_up_agrees_with_reading_each_article(retriever) -> None:
    """_in_article (one search per column for all rows) says what a walk over each article's rows
    of the column says, on random rows and columns, short and long."""
    rng = np.random.default_rng(9)
    n = len(retriever.passages)
    lengths = np.diff(retriever.words.indptr)
    columns = [int(j) for j in np.argsort(-lengths)[:5]] + rng.integers(0, len(lengths), 40).tolist()
    rows = rng.integers(0, n, 30)
    held = retriever._in_article(columns, rows)
    for c, j in enumerate(columns):
        column = set(retriever.words.column(j)[0].tolist())
        for r, i in enumerate(rows.tolist()):
            first, end = int(retriever._article_first[i]), int(retriever._article_end[i])
            assert held[c, r] == any(row in column for row in range(first, end))
    assert retriever._in_article(columns, rows[:0]).shape == (len(columns), 0)


def test_a_rows_covered_words_are_its_own_whatever_rows_come_with_it(retriever) -> None:
    """_rank takes the judged rows' covered words from the pool's: each row's are exactly those
    computed for it alone, so the relevance features do not change."""
    for question in questions():
        query = retriever.prepare(question)
        if not query.words:
            continue
        order = retriever._scorer.top(query.word_weights, query.bigram_weights, 32).rows
        words = list(query.words)
        pool = retriever._covered(words, order)
        assert np.array_equal(pool[:5], retriever._covered(words, order[:5]))
        assert all(np.array_equal(pool[n], retriever._covered(words, order[n:n + 1])[0]) for n in range(len(order)))


def test_a_words_cached_terms_follow_the_dictionary() -> None:
    """_word_tokens is cached by word: what it gives is what the word's terms are without the
    cache, and a word taught to jieba afterwards (a new sub-word) empties it."""
    from bot.config import load_config
    from bot.text import Analyzer

    analyzer = Analyzer(load_config().retrieval)
    for question in questions():
        analyzer.tokens(question)
    words = [w for w, _, _ in analyzer._jieba.tokenize("".join(questions()))]
    assert all(analyzer._word_tokens(w) == analyzer._word_tokens.__wrapped__(w) for w in words)
    assert analyzer._word_tokens.cache_info().hits > 0
    assert "蓝鲸鱼" not in [t for t, _, _, _ in analyzer._word_tokens("蓝鲸鱼骨")]
    analyzer._add_word("蓝鲸鱼")
    assert analyzer._word_tokens.cache_info().currsize == 0 == analyzer._jieba_words.cache_info().currsize
    assert analyzer.cut("蓝鲸鱼骨头") == [w for w, _, _ in analyzer._jieba.tokenize("蓝鲸鱼骨头")]
    assert "蓝鲸鱼" in [t for t, _, _, _ in analyzer._word_tokens("蓝鲸鱼骨")]


def test_the_models_sum_over_a_few_rows_is_the_arrays_sum(retriever) -> None:
    """Relevance.probability takes a few rows' sum over lists: the same floats as over arrays."""
    from bot.retrieval.relevance import FEATURES

    rng = np.random.default_rng(9)
    relevance = retriever.relevance
    for rows in (1, 5, 16, 17, 40):
        values = {name: rng.random(rows) * rng.choice([1e-3, 1.0, 50.0]) for name in FEATURES}
        z = np.full(rows, relevance.params.bias)
        for name, weight in zip(relevance.params.features, relevance.params.weights):
            z = z + weight * values[name]
        assert np.array_equal(relevance.probability(values), 1.0 / (1.0 + np.exp(-z)))


def test_the_outer_spans_of_a_snippet_are_those_no_other_span_holds() -> None:
    """surfaces keeps a span unless a kept one holds it: the same as testing every kept span."""
    import random

    from bot.retrieval.snippets import surfaces

    def plain(text: str, spans: list[tuple[int, int]]) -> tuple[str, ...]:
        spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
        outer: list[tuple[int, int]] = []
        for s, e in spans:
            if not any(a <= s and e <= b for a, b in outer):
                outer.append((s, e))
        words = dict.fromkeys(text[s:e] for s, e in outer)
        return tuple(sorted(words, key=lambda w: (-len(w), text.find(w))))

    rng = random.Random(9)
    text = "".join(rng.choice("甲乙丙丁戊己") for _ in range(60))
    for _ in range(300):
        spans = [(s, s + rng.randint(1, 6)) for s in (rng.randrange(55) for _ in range(rng.randint(0, 25)))]
        assert surfaces(text, spans) == plain(text, spans)


def test_a_passages_kept_idf_is_its_terms_summed_idf(retriever) -> None:
    """_terms_idf keeps a passage's sum with its terms: asked again, the same float as computed."""
    for i in range(len(retriever.passages)):
        terms = retriever._terms(i)
        first = retriever._terms_idf(terms)
        assert first == (float(retriever.words.idf[list(terms)].sum()) if terms else 0.0)
        assert terms.idf == first and retriever._terms_idf(terms) == first


def test_a_word_taught_to_the_analyzer_afterwards_is_not_served_from_the_cache(bundled_parts) -> None:
    """A fitting script shares one analyzer between retrievers, and each teaches it its titles:
    a word's cached facts are keyed by the analyzer's dictionary version, so they follow."""
    from bot.retrieval import Retriever

    config, corpus, _ = bundled_parts
    retriever = Retriever(corpus, config.retrieval)
    question = "李彦宏多大年纪"
    before = retriever.prepare(question)
    # Taught, a dictionary word is the library's own: no longer general Chinese (its rarity).
    retriever.analyzer._add_word("年纪")
    after = retriever.prepare(question)
    retriever._word.cache_clear()
    assert retriever.prepare(question) == after
    assert [w.rarity for w in after.words] != [w.rarity for w in before.words]


def test_a_passages_spans_of_some_terms_are_its_spans_of_those_in_order(retriever) -> None:
    """_spans_of (what _hit and _window_places read) picks the spans of the terms asked for: the
    same spans, in the same order, as reading the passage's terms one by one."""
    weights = [retriever._highlight_weights(retriever.prepare(q)) for q in questions()[:60]]
    for i in range(0, len(retriever.passages), 3):
        for weight in weights:
            plain = [span for span in retriever._spans(i) if span[0] in weight]
            assert list(retriever._spans_of(i, weight)) == plain


def test_a_text_t2s_is_not_run_on_comes_out_as_t2s_would_make_it(retriever, bundled_parts) -> None:
    """The normalizer skips t2s when no key its tables change is in the text: on the questions,
    the passages and texts around every changing phrase, the result is what running it gives."""
    normalizer = retriever.analyzer._normalizer
    plain = type(normalizer).__new__(type(normalizer))
    plain.__dict__.update(normalizer.__dict__, _changing=None)
    _, phrases = normalizer._changing
    texts = questions() + [p.text for p in bundled_parts[1].passages] + \
        [f"什么{key}么" for keys in phrases.values() for key in keys] + ["什么", "么麼", "甚麼", "乾隆", "這麼"]
    skipped = 0
    for text in texts:
        assert normalizer.normalize_with_map(text) == plain.normalize_with_map(text), text
        skipped += not normalizer._may_change(text)
    assert skipped > 0 and normalizer.normalize("么麼") != "么麼"


def _pools(retriever):
    """Each bundled question's prepared form, its first pool (TopScores) and words, for the tests
    of the judged rows' fast paths."""
    out = []
    for question in questions():
        query = retriever.prepare(question)
        if query.words:
            out.append((query, retriever._scorer.top(query.word_weights, query.bigram_weights, 32)))
    return out


def test_the_covered_words_from_the_columns_row_sets_are_the_columns_own(retriever, monkeypatch) -> None:
    """_covered reads short columns' row sets for a pool (or, for long columns, which of the rows
    they hold): the same floats as searching the columns (batched, and one by one), on each
    question's pool and on rows of any kind (repeated too), by the compiled loop and in Python."""
    rng = np.random.default_rng(9)
    compiled = retriever._sets_covered
    for by_loop in (True, False):
        monkeypatch.setattr(retriever, "_sets_covered", compiled if by_loop else None)
        for query, top in _pools(retriever):
            words = list(query.words)
            assert retriever._held_sets(words) is not None   # the bundled library's columns are short
            for rows in (top.rows, top.rows[::-1][:5], rng.integers(0, len(retriever.passages), 20)):
                plain = retriever._covered_by_columns(words, rows)
                assert retriever._covered(words, rows).tobytes() == plain.tobytes()
                assert np.array_equal(retriever._covered_one_by_one(words, rows), plain)
                among = retriever._held_among(words, rows)
                assert retriever._covered_by_sets(words, rows.tolist(), *among).tobytes() == plain.tobytes()


def test_the_articles_words_from_the_columns_article_sets_are_the_columns_own(retriever, monkeypatch) -> None:
    """_article_coverage reads short columns' sets of articles (by the compiled loop, or in
    Python): the same floats as searching each column for each row's article (_in_article)."""
    rng = np.random.default_rng(10)
    compiled = retriever._sets_covered
    for by_loop in (True, False):
        monkeypatch.setattr(retriever, "_sets_covered", compiled if by_loop else None)
        for query, top in _pools(retriever):
            words = list(query.words)
            sets = retriever._held_sets(words)
            for rows in (top.rows, top.rows[:5], rng.integers(0, len(retriever.passages), 20)):
                plain = retriever._article_coverage(words, rows, None)
                assert retriever._article_coverage(words, rows, sets).tobytes() == plain.tobytes()


def test_the_judged_rows_features_from_lists_and_row_sets_are_the_arrays(retriever, monkeypatch) -> None:
    """judge computes a few rows' features as lists (relevance.feature_lists) from the columns' row
    sets: every feature and probability is the float the arrays and the column searches give."""
    from bot.retrieval.relevance import feature_lists

    cases = []
    for query, top in _pools(retriever):
        rows = top.rows[:5]
        covered = retriever._covered(list(query.words), rows)
        listed = feature_lists(list(query.words), retriever._evidence(query, rows, top, covered, True))
        cases.append((query, top, rows, covered, listed, retriever.judge(query, rows, top, covered)))
    monkeypatch.setattr(retriever, "_held_sets", lambda words: None)
    monkeypatch.setattr(retriever, "_bigram_sets", lambda weights: None)
    for query, top, rows, covered, listed, judged in cases:
        plain = retriever.features(query, rows, retriever.scores(query), covered)
        assert set(listed) == set(plain)
        for name, values in plain.items():
            assert listed[name] == values.tolist(), name
        assert np.array_equal(judged, retriever.relevance.probability(plain))


def test_numpys_sum_and_log1p_as_the_feature_lists_compute_them() -> None:
    """_numpy_sum adds as np.sum does (pairwise from eight values on), _log1p is np.log1p of a count."""
    from bot.retrieval.relevance import _log1p, _numpy_sum

    rng = np.random.default_rng(9)
    for n in list(range(0, 40)) + [127, 128, 129, 200, 300]:
        for scale in (1.0, 1e12, 1e-12):
            values = (rng.random(n) * scale * rng.choice([1.0, -1.0, 1e8], n)).tolist()
            assert _numpy_sum(values) == float(np.array(values, dtype=np.float64).sum())
    assert str(_numpy_sum([-0.0])) == str(float(np.array([-0.0]).sum()))
    counts = rng.integers(0, 70, 50)
    assert [_log1p(c) for c in counts.tolist()] == np.log1p(counts).tolist()


def test_a_passages_window_coverage_from_its_terms_windows_is_each_windows_own(retriever, monkeypatch) -> None:
    """_window_coverage reads which windows hold each term and pair: the same shares as _shares_in
    over each window of every passage, for every question's words, from every term's windows kept
    (a small library's) or from the question's own looked up (a large one's), by the compiled
    loop or in Python; and each window's shares from its sets by the compiled text_shares."""
    from bot.retrieval.retriever import PAIR_SHARE, _share_specs, _shares_in, _wanted

    assert retriever._every_window_place is not None
    compiled = retriever._window_shares
    compiled_text = retriever._text_shares or (lambda held, pairs, specs, _: _shares_in(held, pairs, specs))
    for kept, by_loop in ((True, True), (False, True), (False, False)):
        monkeypatch.setattr(retriever, "_every_window_place", retriever._every_window_place if kept else None)
        monkeypatch.setattr(retriever, "_window_shares", compiled if by_loop else None)
        for question in questions()[::3]:
            specs = _share_specs(list(retriever.prepare(question).words))
            for i in range(len(retriever.passages)):
                windows = retriever._passage_windows(i)
                listed = [_shares_in(held, pairs, specs) for held, pairs in windows]
                plain = np.array(listed, dtype=np.float64).reshape(len(windows), len(specs))
                assert retriever._window_coverage(i, specs, _wanted(specs)).tobytes() == plain.tobytes()
                if kept and by_loop:   # a text's shares from its sets, as a head's are found: compiled
                    assert [compiled_text(held, pairs, specs, PAIR_SHARE) for held, pairs in windows] == listed
        monkeypatch.undo()


def test_the_compiled_window_shares_are_the_python_loops_on_random_windows() -> None:
    """_scatter.window_shares gives _window_shares' floats byte for byte on random words (forms
    tied or not, pairs repeated, terms and pairs no window holds) and windows; and refuses a
    window outside the passage's."""
    import random

    from bot.retrieval.retriever import PAIR_SHARE, _window_shares
    from bot.retrieval.topk import compiled_loops

    loops = compiled_loops()
    if loops is None:
        pytest.skip("bot/retrieval/_scatter.c is not built here")
    rng = random.Random(4)
    tokens, pairs = [f"t{n}" for n in range(12)], [f"p{n}" for n in range(12)]
    for _ in range(3000):
        count = rng.randint(1, 9)
        specs = []
        for _ in range(rng.randint(1, 6)):
            shares = sorted(((rng.choice(tokens), rng.choice([1.0, 0.5, 0.25, rng.random()]))
                             for _ in range(rng.randint(0, 3))), key=lambda form: -form[1])
            texts = tuple(rng.choice(pairs) for _ in range(rng.randint(0, 4)))
            specs.append((tuple(shares), texts, len(texts) + rng.randint(0, 2) if texts else rng.choice([0, 1])))
        held = {t: tuple(sorted(rng.sample(range(count), rng.randint(1, count)))) for t in rng.sample(tokens, 6)}
        paired = {p: tuple(sorted(rng.sample(range(count), rng.randint(1, count)))) for p in rng.sample(pairs, 6)}
        out = np.zeros((count, len(specs)))
        loops.window_shares(out, specs, held, paired, PAIR_SHARE)
        assert out.tobytes() == _window_shares(count, specs, held, paired).tobytes()
    with pytest.raises(ValueError):
        loops.window_shares(np.zeros((2, 1)), [((("t0", 1.0),), (), 0)], {"t0": (2,)}, {}, PAIR_SHARE)


def test_the_one_pass_jieba_cut_is_jiebas_own(retriever, bundled_parts) -> None:
    """jieba_tokenize gives what jieba's tokenize gives, with and without the HMM's and the
    fragments' caches, its route found by the compiled loop or in Python: on every passage (as
    written and normalized), every question, every word jieba cut them into, and random strings
    of their characters (Latin, digits, spaces, punctuation among them); and after a word is
    taught, which empties the caches."""
    import random

    from bot import text as text_module
    from bot.text import jieba_tokenize

    try:
        from bot.retrieval import _scatter
        assert text_module._compiled_route() is _scatter.jieba_route
    except ImportError:   # not built here: the Python route alone is checked
        pass
    analyzer = retriever.analyzer
    tokenizer = analyzer._jieba
    texts = [p.text for p in bundled_parts[1].passages] + questions()
    texts += [analyzer.normalize(t) for t in texts]
    texts += sorted({word for t in texts for word, _, _ in tokenizer.tokenize(t)})
    rng = random.Random(9)
    alphabet = sorted({ch for t in texts for ch in t} | set(" \r\n\t-+#&._%"))
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(2000)]
    for text in texts:
        expected = tuple(tokenizer.tokenize(text))
        assert jieba_tokenize(tokenizer, text, analyzer._hmm_words, analyzer._fragments) == expected, text
        assert jieba_tokenize(tokenizer, text) == expected, text
        # The route in Python, as where the compiled loop is not built.
        assert jieba_tokenize(tokenizer, text, analyzer._hmm_words, {}, compiled_route=False) == expected, text
    assert analyzer._hmm_words.cache_info().hits > 0 and analyzer._fragments
    from bot.config import load_config
    from bot.text import Analyzer

    taught = Analyzer(load_config().retrieval)
    assert taught._jieba_words("蓝鲸鱼骨头") == tuple(taught._jieba.tokenize("蓝鲸鱼骨头"))
    taught._add_word("蓝鲸鱼")
    assert not taught._fragments
    assert taught._jieba_words("蓝鲸鱼骨头") == tuple(taught._jieba.tokenize("蓝鲸鱼骨头"))


def test_the_judged_rows_coverage_is_the_pools_without_the_other_rows(retriever) -> None:
    """_rank finds which words the pool's other rows hold only when the pages reach them: the
    judged rows' page coverage (_first_coverage) is what the whole pool's coverage gives them."""
    for query, top in _pools(retriever):
        words = list(query.words)
        whole = retriever.coverage(query, top.rows, retriever._covered(words, top.rows)).tolist()
        for first in (1, 5, len(top.rows)):
            covered = retriever._covered(words, top.rows[:first])
            assert retriever._first_coverage(query, top.rows, covered) == whole[:first]


def test_a_questions_pairs_without_cutting_it_again_are_those_of_its_cut(retriever) -> None:
    """question_bigrams cuts a question only when a stop word of three characters or more is in
    it: the pairs are those found by cutting it, on every question, every stop word alone and
    in a question, and random runs of long stop words among other words."""
    import random

    analyzer = retriever.analyzer

    def plain(norm: str) -> list[str]:
        inside = set()
        for word, start, end in analyzer._jieba_words(norm):
            if end - start >= 3 and word in analyzer.stopwords:
                inside.update(word[i:i + 2] for i in range(len(word) - 1))
        return [p for p in analyzer.normalized_bigrams(norm) if p not in inside]

    longs = sorted(w for w in analyzer.stopwords if len(w) >= 3)
    rng = random.Random(9)
    texts = [analyzer.normalize(q) for q in questions()] + [f"{w}是什么" for w in analyzer.stopwords]
    texts += ["".join(rng.choice(longs + ["a1", "的", "模型", "deepseek"]) for _ in range(4)) for _ in range(300)]
    skipped = 0
    for text in texts:
        assert analyzer.question_bigrams(text) == plain(text), text
        skipped += not analyzer._holds_long_stopword(text)
    assert 0 < skipped < len(texts)


def test_a_words_cached_keep_is_the_words_own(retriever, bundled_parts) -> None:
    """_keep is cached by word: on every word, sub-word and character of the passages and the
    questions (Latin, digits and punctuation among them), what it gives is what it computes."""
    analyzer = retriever.analyzer
    texts = [p.text for p in bundled_parts[1].passages] + questions()
    words = {w for t in texts for w, _, _ in analyzer._jieba_words(analyzer.normalize(t))}
    words |= {ch for w in words for ch in w} | {"a", "z", "ai", "的", "什么", "", " "}
    for word in words:
        assert analyzer._keep(word) == analyzer._keep.__wrapped__(word), word
    assert analyzer._keep.cache_info().hits > 0


def test_the_taiwan_phrases_found_where_a_first_character_is_are_the_alternations_matches(retriever, bundled_parts) -> None:
    """_phrase_matches tries the phrases only where one's first character is: the matches of the
    alternation's finditer, on the questions, the passages and strings of phrases run together
    (overlapping, cut short, one inside another)."""
    normalizer = retriever.analyzer._normalizer
    keys = sorted(normalizer._phrases)
    rng = random.Random(9)
    texts = questions() + [p.text for p in bundled_parts[1].passages]
    texts += ["".join(rng.choice(keys)[rng.randrange(2):] + rng.choice(["", "", "的", " ", "网"])
                      for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    found = 0
    for text in texts:
        expected = [(m.start(), m.end(), m.group()) for m in normalizer._phrase_pattern.finditer(text)]
        assert normalizer._phrase_matches(text) == expected, text
        found += len(expected)
    assert found > 3000


def test_a_texts_pairs_are_its_chinese_runs_pairs_without_stop_words(retriever, bundled_parts) -> None:
    """normalized_bigrams: each run of Chinese characters' adjacent pairs that are no stop word (a
    lone character for itself), as a plain walk over the text gives them."""
    analyzer = retriever.analyzer
    stop = analyzer.stopwords
    rng = random.Random(3)
    texts = questions() + [analyzer.normalize(p.text) for p in bundled_parts[1].passages]
    texts += ["".join(rng.choice(["什么", "为", "的", "开源", "a", " ", "模型"]) for _ in range(rng.randint(0, 12)))
              for _ in range(500)]
    for text in texts:
        plain = []
        for run in re.findall(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+", text):
            if len(run) == 1:
                plain += [run] if run not in stop else []
            else:
                plain += [run[i:i + 2] for i in range(len(run) - 1) if run[i:i + 2] not in stop]
        assert analyzer.normalized_bigrams(text) == plain, text


def test_a_passages_window_places_are_what_its_windows_sets_give(retriever) -> None:
    """_window_places finds a term's windows from the sentence it starts in and a pair's from the
    windows' normalized texts: the windows that hold each term and pair asked for, in order, as
    reading _passage_windows window by window gives; asked for every term and pair of the passage,
    others (Latin, a stop word, a lone character, a run of three) and one twice."""
    for i in range(len(retriever.passages)):
        windows = retriever._passage_windows(i)
        terms: dict[str, list[int]] = {}
        pairs: dict[str, list[int]] = {}
        for w, (held, held_pairs) in enumerate(windows):
            for token in held:
                terms.setdefault(token, []).append(w)
            for pair in held_pairs:
                pairs.setdefault(pair, []).append(w)
        asked = sorted(pairs) + ["ab", "什么", "的", "模", "开源模", "模型"]
        count, found_terms, found_pairs = retriever._window_places(i, frozenset(terms) | {"不在"}, tuple(asked))
        assert count == len(windows)
        assert found_terms == {t: tuple(ws) for t, ws in terms.items()}
        assert found_pairs == {p: tuple(ws) for p, ws in pairs.items()}
        some = sorted(pairs)[::3]
        assert retriever._window_places(i, frozenset(), tuple(some))[2] == {p: tuple(pairs[p]) for p in some}
        # A small library keeps every term's and pair's windows: the same.
        assert retriever._passage_window_places(i) == (count, found_terms, found_pairs)


def _window_texts() -> list[tuple[str, list[tuple[int, int]]]]:
    """Texts cut into sentences where normalizing the two joined may differ from each alone: a
    Taiwan phrase, 甚么 or a run of Chinese characters across where they meet, Traditional script,
    a combining accent or a final sigma after it, full width kept and … lengthened, 妳 and 著."""
    cases = ["开源模型。", "很好", "软体", "网路", "甚", "么时候", "資訊", "é", "\u0301好", "ΑΣ", " b",
             "ａｂｃ。", "…呢", "妳好", "显著", "随著", " ", "\n", "", "的", "什么", "出口管制"]
    rng = random.Random(12)
    out = []
    for _ in range(2000):
        parts = [rng.choice(cases) for _ in range(rng.randint(1, 5))]
        text, sentences, at = "", [], 0
        for part in parts:
            gap = rng.choice(["", "", " ", "\n"])
            text += part + gap
            sentences.append((at, at + len(part)))
            at += len(part) + len(gap)
        out.append((text, sentences))
    return out


def test_a_passages_window_texts_are_each_windows_own(retriever, bundled_parts) -> None:
    """window_norms takes two sentences' texts from each alone where they normalize so: each
    sentence's and each two adjacent ones' as normalizing the window's own text gives, on every
    passage and on sentences that do not (phrases, runs and scripts across where they meet); and
    on the passages most windows of two are not normalized again."""
    from bot.corpus import sentence_spans

    analyzer = retriever.analyzer
    texts = [(p.text, sentence_spans(p.text) or [(0, len(p.text))]) for p in bundled_parts[1].passages]
    joined = []
    original = analyzer._normalizer.joins

    def counted(*args):
        joined.append(original(*args))
        return joined[-1]
    analyzer._normalizer.joins = counted
    try:
        for text, sentences in texts + _window_texts():
            spans = sentences + [(a[0], b[1]) for a, b in zip(sentences, sentences[1:])]
            assert analyzer.window_norms(text, sentences) == [analyzer.normalize(text[s:e]) for s, e in spans], \
                (text, sentences)
    finally:
        analyzer._normalizer.joins = original
    assert sum(joined) > len(joined) / 2 and not all(joined)


def test_a_windows_pairs_are_its_bigrams(retriever, bundled_parts) -> None:
    """pair_windows finds a pair in the windows whose bigrams hold it: for every pair of the
    bundled passages and of texts cut where normalizing differs, and for what bigrams never hold
    (a stop word, Latin, a run of three) or hold as a lone character."""
    from bot.corpus import sentence_spans

    analyzer = retriever.analyzer
    texts = [(p.text, sentence_spans(p.text) or [(0, len(p.text))]) for p in bundled_parts[1].passages[::4]]
    for text, sentences in texts + _window_texts()[::10]:
        spans = sentences + [(a[0], b[1]) for a, b in zip(sentences, sentences[1:])]
        bigrams = [frozenset(analyzer.bigrams(text[s:e])) for s, e in spans]
        asked = sorted(set().union(*bigrams)) + ["什么", "ab", "的", "好", "开源模", "源模"]
        expected = {p: tuple(w for w, held in enumerate(bigrams) if p in held) for p in asked}
        assert analyzer.pair_windows(analyzer.window_norms(text, sentences), asked) == \
            {p: ws for p, ws in expected.items() if ws}, (text, sentences)


def test_a_local_form_and_a_join_normalize_as_the_whole_does(retriever, bundled_parts) -> None:
    """local_form: normalize(text) is replace_variants of it when it is not None; joins: the join
    normalizes to the forms joined, each replaced, when it says so."""
    from bot.normalize import replace_variants

    normalizer = retriever.analyzer._normalizer
    pieces = [p.text[:40] for p in bundled_parts[1].passages] + [t for t, _ in _window_texts()]
    local = 0
    for text in pieces:
        form = normalizer.local_form(text)
        if form is not None:
            local += 1
            assert replace_variants(form) == normalizer.normalize(text), text
    assert 0 < local < len(pieces)
    rng = random.Random(4)
    agreed = 0
    for _ in range(3000):
        texts = [rng.choice(pieces)[:rng.randint(0, 12)] for _ in range(rng.randint(2, 3))]
        forms = [normalizer.local_form(t) for t in texts]
        if None in forms or not normalizer.joins(texts, forms):
            continue
        agreed += 1
        assert normalizer.normalize("".join(texts)) == "".join(map(replace_variants, forms)), texts
    assert agreed > 100

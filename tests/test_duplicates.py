"""Near-duplicates decided from the kept passage's columns (duplicates.Candidates with `held`)
exactly as duplicates.repeats decides them one pair at a time, and a deep pool of near-copies
ranked alike with and without those columns."""

from __future__ import annotations

import random

import numpy as np

from bot.config import load_config
from bot.corpus import Corpus, Passage, load_corpus
from bot.retrieval import Retriever, duplicates
from bot.retrieval import retriever as retriever_module


def test_candidates_decided_by_the_kept_passages_columns_are_repeats_own_answers() -> None:
    """Random term sets, near-copies of the kept one among them; some terms are in a head
    (their columns cannot tell a body's terms), some ratios fall on OVERLAP itself."""
    pick = random.Random(11)
    idf = np.array([pick.choice([1.0, 2.0, 0.5, 3.0, pick.uniform(0.1, 9.0)]) for _ in range(300)])
    idf[:50] = 1.0

    def idf_of(terms: frozenset[int]) -> float:
        return float(idf[list(terms)].sum()) if terms else 0.0

    unread = 0
    for _ in range(80):
        kept = frozenset(pick.sample(range(300), pick.randint(5, 40)))
        others = []
        for _ in range(40):
            shared = pick.sample(sorted(kept), pick.randint(len(kept) // 2 if pick.random() < 0.5 else 0, len(kept)))
            others.append(frozenset(shared + pick.sample(range(300), pick.randint(0, 30))))
        if pick.random() < 0.3:
            kept = frozenset(pick.sample(range(50), 10))
            others = [frozenset(pick.sample(sorted(kept), 7) + pick.sample(sorted(set(range(50)) - kept), 3))
                      for _ in range(5)]
        others = [t for t in others if t != kept]
        exact_terms = np.array([pick.random() < 0.8 for _ in range(300)])
        read: list[int] = []

        def terms_of(places: np.ndarray) -> np.ndarray:
            read.extend(places.tolist())
            return np.array([j for n in places.tolist() for j in sorted(others[n])], dtype=np.int64)

        def held(terms: list[int], places: np.ndarray) -> np.ndarray:
            assert all(exact_terms[t] for t in terms)
            return np.array([[t in others[n] for n in places.tolist()] for t in terms], dtype=bool).reshape(
                len(terms), len(places))

        lengths = np.array([len(t) for t in others])
        candidates = duplicates.Candidates(lengths, terms_of, idf, held, exact_terms)
        got = candidates.repeating(kept, idf_of(kept), lambda n: duplicates.repeats(others[n], kept, idf_of))
        assert got.tolist() == [duplicates.repeats(t, kept, idf_of) for t in others]
        assert len(read) == len(set(read))
        unread += sum(1 for n, t in enumerate(others) if len(t) >= duplicates.MIN_WORDS and n not in read)
        # Against a second kept passage, the ones already repeating the first are not looked at.
        second = frozenset(pick.sample(range(300), 20))
        again = candidates.repeating(second, idf_of(second), lambda n: duplicates.repeats(others[n], second, idf_of),
                                     settled=got)
        assert (again | got).tolist() == [a or duplicates.repeats(t, second, idf_of) for a, t in zip(got, others)]
        assert len(read) == len(set(read))
    # The columns decided some passages without their terms being read.
    assert unread > 0


def test_a_deep_pool_of_near_copies_ranks_alike_with_and_without_the_columns(tmp_path, monkeypatch) -> None:
    """A passage copied 40 times and 300 near-copies of it (itself and a numbered line), among
    other passages: the first pool is all copies, so the ranking looks deeper, where the
    near-copies are compared with the kept passage; every page the same whether the kept
    passage's columns decide or every candidate's terms are read."""
    config = load_config(env={"HOME": str(tmp_path)})
    bundled = load_corpus(config.corpus).passages
    base = max(bundled, key=lambda p: len(p.text) if len(p.text) < 160 else 0)
    others = [p.text for p in bundled if p.text != base.text][:40]
    texts = others[:20] + [base.text] * 40 + [f"{base.text}编号{i}。" for i in range(300)] + others[20:]
    passages = tuple(Passage(id=f"d#{i}", source_id="d", source_title="篇", section="", position=i, text=text)
                     for i, text in enumerate(texts))
    settings = config.with_overrides(retrieval={"cache_dir": tmp_path / "cache"}).retrieval
    retriever = Retriever(Corpus(sources=(), passages=passages), settings)
    deep, decided = [], []
    rank_deeper = retriever_module.Retriever._rank_deeper
    monkeypatch.setattr(retriever_module.Retriever, "_rank_deeper",
                        lambda self, *a: deep.append(1) or rank_deeper(self, *a))
    question = base.text[:24]

    def pages() -> list:
        return [[(h.passage.id, h.score, h.relevance, h.snippet) for h in retriever.search(question, top_k=3, offset=o)]
                for o in (0, 3, 8)]

    repeating = duplicates.Candidates.repeating

    def counted(self, b, b_idf, exact, settled=None):
        out = repeating(self, b, b_idf, exact, settled)
        decided.append(int(self._unread[out].sum()))
        return out

    monkeypatch.setattr(duplicates.Candidates, "repeating", counted)
    with_columns = pages()
    assert deep, "the question never looked past its first pool"
    assert sum(decided) >= 250, "the columns decided too few near-copies"
    init = duplicates.Candidates.__init__
    monkeypatch.setattr(duplicates.Candidates, "__init__",
                        lambda self, lengths, terms, idf, held=None, exact_terms=None: init(self, lengths, terms, idf))
    retriever._terms.cache_clear()
    assert pages() == with_columns


def test_a_rough_sum_of_the_shared_terms_idf_answers_as_the_exact_sum() -> None:
    """repeats with rough (the compiled sum in the set's order, or any other order) gives the
    answer of repeats without it, on random pairs of term sets whose shared idf falls on, near
    and far from OVERLAP of the smaller one's (idf values repeated so that exact ties occur)."""
    from bot.retrieval.topk import compiled_loops

    rng = random.Random(12)
    idf = np.array([rng.choice([0.5, 1.0, 1.5, 2.0, 3.7]) + rng.random() * rng.choice([0.0, 1e-12, 1.0])
                    for _ in range(400)])

    def exact(terms: frozenset[int]) -> float:
        return float(idf[list(terms)].sum()) if terms else 0.0

    loops = compiled_loops()
    roughs = [lambda terms: float(sum(sorted(idf[list(terms)].tolist(), reverse=True)))]
    if loops is not None:
        roughs.append(lambda terms: loops.idf_sum(idf, terms))
    for _ in range(4000):
        a = frozenset(rng.sample(range(400), rng.randint(0, 40)))
        keep = rng.random()
        b = frozenset([t for t in a if rng.random() < keep] + rng.sample(range(400), rng.randint(0, 20)))
        expected = duplicates.repeats(a, b, exact)
        for rough in roughs:
            assert duplicates.repeats(a, b, exact, rough) == expected

"""Smoke test of the retrieval benchmark's building blocks on tiny corpora (no timing asserts)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.corpus import load_corpus

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str):
    """Import a module of bench/ (a folder of scripts, not a package) by its file."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # bench_retrieval imports synthetic as a sibling
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def synthetic():
    return _load("synthetic")


@pytest.fixture(scope="module")
def bench():
    return _load("bench_retrieval")


@pytest.fixture
def base(config):
    return load_corpus(config.corpus)


def test_split_sentences_keeps_end_marks_and_closing_quotes(synthetic):
    text = "他说：“这与金融无关。”然后走了！真的吗?还有半句"
    assert synthetic.split_sentences(text) == ["他说：“这与金融无关。”", "然后走了！", "真的吗?", "还有半句"]


def _is_concatenation(text: str, pool: set[str]) -> bool:
    """Whether text is made of whole pieces of pool, one after another."""
    reachable = {0}
    for end in range(1, len(text) + 1):
        if any(start in reachable and text[start:end] in pool for start in range(end)):
            reachable.add(end)
    return len(text) in reachable


def test_synthetic_corpus_is_the_same_for_the_same_seed(synthetic, base):
    first = synthetic.synthetic_corpus(base, 3, seed=7)
    again = synthetic.synthetic_corpus(base, 3, seed=7)
    other = synthetic.synthetic_corpus(base, 3, seed=8)
    assert [p.text for p in first.passages] == [p.text for p in again.passages]
    assert [p.text for p in first.passages] != [p.text for p in other.passages]


def test_synthetic_corpus_recombines_real_sentences_at_scale(synthetic, base):
    corpus = synthetic.synthetic_corpus(base, 3, seed=7)
    pool = set(synthetic.sentence_pool(base))
    assert len(corpus.passages) == 3 * len(base.passages)
    assert len(corpus.sources) == 3 * len(base.sources)
    assert len({p.id for p in corpus.passages}) == len(corpus.passages)
    assert len({p.text for p in corpus.passages}) == len(corpus.passages)
    for passage in corpus.passages:
        assert _is_concatenation(passage.text, pool), passage
        assert corpus.passage(passage.id) == passage
    for source in corpus.sources:
        assert [p.position for p in source.passages] == list(range(len(source.passages)))
        assert all(p.text in source.text for p in source.passages)
    # Recombined, not copied: most passages are new text.
    originals = {p.text for p in base.passages}
    assert sum(p.text not in originals for p in corpus.passages) > len(corpus.passages) // 2


def test_seed_files_load_back_as_a_corpus(synthetic, base, config, tmp_path):
    corpus = synthetic.synthetic_corpus(base, 2, seed=7)
    assert synthetic.write_seed_files(corpus, tmp_path / "seeds") == len(corpus.sources)
    loaded = load_corpus(config.with_overrides(corpus={"seeds_dir": tmp_path / "seeds"}).corpus)
    assert [s.title for s in loaded.sources] == [s.title for s in corpus.sources]
    # The loader may join a short passage to its neighbour with a line break; no text is lost.
    assert ("".join(p.text for p in loaded.passages).replace("\n", "")
            == "".join(p.text for p in corpus.passages).replace("\n", ""))


def test_percentile_interpolates_and_scale_tokens_parse(bench):
    assert bench.percentile([4, 1, 3, 2], 50) == 2.5
    assert bench.percentile(list(range(101)), 99) == 99
    assert bench.parse_scale("100") == 100
    assert bench.parse_scale("200k", base_passages=140) == 1429
    with pytest.raises(ValueError):
        bench.parse_scale("0")


def test_memory_figures_are_read(bench):
    memory = bench.memory_mb()
    assert 0 < memory["rss"] <= memory["peak"]


def test_queries_are_varied_and_unique(bench):
    assert len(bench.QUERIES) == len(set(bench.QUERIES)) >= 60
    assert sum(q.isascii() for q in bench.QUERIES) >= 10


def _agreement(bench, retriever, queries):
    """For each query with a match: (our top agrees within ties, scores equal the reference's)."""
    k1, b = bench.plain_parameters(retriever)
    okapi, _, same_rule_idf = bench.reference_models(
        bench.passage_tokens(retriever, independent=True), k1, b, bench.reference_idf)
    okapi.idf = same_rule_idf
    results = []
    for query in queries:
        tokens = bench.query_tokens(retriever, query)
        reference = okapi.get_scores(tokens) if tokens else np.zeros(1)
        if not tokens or reference.max() <= 0:
            continue
        ours = bench.fast_scores(retriever, tokens)
        results.append((bench.top_agrees(ours, reference)[1], np.allclose(ours, reference, rtol=1e-4, atol=1e-6)))
    return results


def test_fast_path_scores_as_the_plain_reference_on_the_bundled_corpus(bench, base, config):
    retriever = bench.plain_retriever(base, config)
    results = _agreement(bench, retriever, bench.QUERIES)
    assert len(results) >= 50  # most queries match something, so the comparison means something
    assert all(top for top, _ in results)
    assert all(same for _, same in results)


def test_fast_path_scores_as_the_plain_reference_on_a_synthetic_corpus(bench, synthetic, base, config):
    retriever = bench.plain_retriever(synthetic.synthetic_corpus(base, 3, seed=7), config)
    results = _agreement(bench, retriever, bench.QUERIES[:20])
    assert len(results) >= 15
    assert all(top and same for top, same in results)


def test_worker_reports_every_figure_on_the_bundled_corpus(base, tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_retrieval.py"), "--worker", "index", "--scale", "1",
         "--cache-dir", str(tmp_path / "cache"), "--queries", "8", "--rounds", "1", "--ref-queries", "8"],
        capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    records = {r["kind"]: r for r in (json.loads(line[6:]) for line in done.stdout.splitlines()
                                      if line.startswith("BENCH "))}
    ours, reference = records["ours"], records["reference"]
    assert ours["passages"] == len(base.passages)
    assert ours["search"]["n"] == 8 and ours["memory_built"]["rss"] > 0
    assert reference["compared"] >= 6
    assert reference["same_top_as_plain"] == reference["compared"]
    assert (tmp_path / "cache").exists()  # the worker built its index cache where it was told


def test_a_traditional_library_is_written_with_the_questions_its_gold_strings_still_find(tmp_path: Path) -> None:
    """bench/traditional_library.py: the articles and questions in Traditional with Taiwan usage
    (软件 -> 軟體), the Simplified questions kept beside them, and a question whose gold string
    converted alone is no longer in the converted library (并 alone is 並, 并入 is 併入) left out of both."""
    traditional = _load("traditional_library")
    cmrc = tmp_path / "cmrc"
    (cmrc / "seeds").mkdir(parents=True)
    (cmrc / "seeds" / "a.txt").write_text("# 软件\n\n这个软件在网络上发布。后来此地被并入莫斯科公国。\n", encoding="utf-8")
    cases = [{"q": "这个软件在哪里发布？", "gold": ["在网络上发布"]},
             {"q": "此地后来怎样了？", "gold": ["此地被并"]},
             {"q": "今天天气怎么样", "gold": []}]
    (cmrc / "questions.yaml").write_text(yaml.safe_dump({"cases": cases}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "tw"
    assert traditional.main(["--cmrc", str(cmrc), "--out", str(out)]) == 0
    assert "軟體" in (out / "seeds" / "a.txt").read_text(encoding="utf-8")
    written = yaml.safe_load((out / "questions.yaml").read_text(encoding="utf-8"))["cases"]
    kept = yaml.safe_load((out / "questions_simplified.yaml").read_text(encoding="utf-8"))["cases"]
    assert [c["q"] for c in written] == ["這個軟體在哪裡釋出？", "今天天氣怎麼樣"]
    assert kept == [cases[0], cases[2]] and written[0]["gold"] == ["在網路上釋出"]


def test_every_ablation_patch_stands_in_for_what_it_replaces() -> None:
    # A variant's stand-in must take what the code it replaces takes: an engine function that grew
    # a parameter (FollowUps.resolve's answer) had left the no-follow-ups row raising TypeError.
    import inspect

    from bot.retrieval.model import load_model
    from bot.config import load_config

    ablation = _load("ablation")
    for name, _, _, patches in ablation.variants(load_model(load_config(None).retrieval.model_file)):
        for target, attribute, value in patches:
            original = getattr(target, attribute)   # the name exists
            if inspect.isfunction(original) and inspect.isfunction(value):
                given = [p for p in inspect.signature(original).parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
                try:
                    inspect.signature(value).bind(*range(len(given)))
                except TypeError as error:
                    raise AssertionError(f"{name}: {attribute} stand-in: {error}") from None

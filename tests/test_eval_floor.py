"""The quality floor on the project's own questions (tests/eval/questions.yaml)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from bot.config import load_config
from bot.corpus import load_corpus
from bot.retrieval import Retriever

QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.yaml"
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def norm(text: str) -> str:
    """The scorer's normalization: NFKC, lower case, whitespace and punctuation removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, list[str]]]:
    """Each case with the texts of its top three passages."""
    home = tmp_path_factory.mktemp("home")
    config = load_config(env={"HOME": str(home)})
    retriever = Retriever(load_corpus(config.corpus), config.retrieval)
    cases = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["cases"]
    return [(case, [h.passage.text for h in retriever.search(case["q"], top_k=3)]) for case in cases]


def rank(case: dict, texts: list[str]) -> int | None:
    """1-based rank of the first passage holding a gold string, or None."""
    golds = [norm(g) for g in case["gold"]]
    return next((i + 1 for i, t in enumerate(texts) if any(g in norm(t) for g in golds)), None)


def test_the_questions_file_is_sound(results: list[tuple[dict, list[str]]]) -> None:
    on_topic = [c for c, _ in results if c["gold"]]
    off_topic = [c for c, _ in results if not c["gold"]]
    assert len(on_topic) >= 30 and len(off_topic) >= 5
    corpus = [norm(p.text) for p in load_corpus(load_config().corpus).passages]
    for case in on_topic:
        assert any(norm(g) in text for g in case["gold"] for text in corpus), case["q"]


def test_hit_rates_reach_the_floor(results: list[tuple[dict, list[str]]]) -> None:
    ranks = [rank(c, texts) for c, texts in results if c["gold"]]
    misses = [c["q"] for c, texts in results if c["gold"] and rank(c, texts) != 1]
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    hit3 = sum(r is not None for r in ranks) / len(ranks)
    assert hit1 >= 0.90, f"hit@1 {hit1:.3f}; not first: {misses}"
    assert hit3 >= 0.97, f"hit@3 {hit3:.3f}"


def test_off_topic_questions_are_all_abstained(results: list[tuple[dict, list[str]]]) -> None:
    answered = [c["q"] for c, texts in results if not c["gold"] and texts]
    assert answered == []


def test_false_abstentions_are_rare(results: list[tuple[dict, list[str]]]) -> None:
    on_topic = [(c, texts) for c, texts in results if c["gold"]]
    silent = [c["q"] for c, texts in on_topic if not texts]
    assert len(silent) / len(on_topic) <= 0.03, silent

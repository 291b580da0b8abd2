"""Rank passages for a question with BM25, abstain when nothing is relevant, pick snippets."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import RetrievalConfig
from bot.corpus import Corpus, Passage


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    snippet: str                      # the passage text, or its best sentences with … marks
    matched_terms: tuple[str, ...]    # substrings of snippet to highlight, longest first


class Retriever:
    """Owns the index over one corpus; built once at start-up, then searched synchronously."""

    def __init__(self, corpus: Corpus, config: RetrievalConfig) -> None:
        raise NotImplementedError

    def search(self, query: str, top_k: int = 3, offset: int = 0,
               context: str | None = None) -> list[Hit]:
        """The best passages for query from rank offset on; [] when nothing is relevant.

        context is the previous question of a follow-up: its key terms count at lower weight.
        """
        raise NotImplementedError

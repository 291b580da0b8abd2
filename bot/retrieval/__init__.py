"""Retrieval: index the passages, rank them for a question, decide relevance, pick snippets.

The engine and the adapters call one entry point, `Retriever.search`; the parts live in their
own modules so each can be read, tested and refitted alone:
  index       term counts of every passage, as words and as character bigrams, body and head
  cache       the counts on disk, keyed by the passages and the analyzer's settings
  scoring     BM25F weights as sparse term columns; the idf rule
  necessity   how likely a question's word is to appear in its answer (fitted)
  relevance   the fitted model that says "nothing relevant"
  model       the fitted numbers, read from config/ranking.yaml
  duplicates  near-duplicate passages
  snippets    what of a long passage is shown
  retriever   the Retriever that puts them together
"""

from bot.retrieval.retriever import Hit, Retriever, holds_asked_number
from bot.retrieval.scoring import bm25_idf

__all__ = ["Hit", "Retriever", "bm25_idf", "holds_asked_number"]

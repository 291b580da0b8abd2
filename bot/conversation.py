"""The transport-free conversation engine: commands, questions, follow-ups and paging."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.config import Config
from bot.corpus import Corpus, Passage
from bot.history import HistoryStore, Turn
from bot.retrieval import Hit, Retriever


class ReplyKind(enum.Enum):
    ANSWER = "answer"              # hits for a question (or a /more page)
    NO_MATCH = "no_match"          # nothing relevant in the articles: say so, say what they cover
    NO_MORE = "no_more"            # /more with nothing left, or no previous question
    EMPTY = "empty"                # an empty or unusable message: ask for a question
    START = "start"
    HELP = "help"
    SOURCES = "sources"
    HISTORY = "history"
    FORGOTTEN = "forgotten"
    UNKNOWN_COMMAND = "unknown_command"


@dataclass(frozen=True)
class SourceInfo:
    id: str
    title: str
    passage_count: int
    keywords: tuple[str, ...]
    date: str | None
    url: str | None


@dataclass(frozen=True)
class Reply:
    """What the engine answers; adapters turn it into plain text, JSON or Telegram HTML."""
    kind: ReplyKind
    lang: str                              # "zh" or "en": the language of the UI sentences
    hits: tuple[Hit, ...] = ()
    query: str = ""                        # the question the hits answer (the original for /more)
    offset: int = 0                        # rank of the first hit within that question's results
    has_more: bool = False                 # whether /more would give further passages
    lines: tuple[str, ...] = ()            # user-facing sentences from bot.messages, in lang
    sources: tuple[SourceInfo, ...] = ()   # for SOURCES, and topics offered with NO_MATCH
    turns: tuple[Turn, ...] = ()           # for HISTORY


class Engine:
    """Answers (chat id, user id, text); the console and Telegram adapters are thin shells over it."""

    def __init__(self, config: Config, corpus: Corpus, retriever: Retriever,
                 history: HistoryStore) -> None:
        raise NotImplementedError

    async def handle(self, chat_id: int, user_id: int, text: str,
                     lang: str | None = None) -> Reply:
        """Route a message: a /command (with or without @botname), 更多/more, or a question.

        lang is a hint from the transport (e.g. Telegram's language_code); None: from the text.
        """
        raise NotImplementedError

    async def ask(self, chat_id: int, user_id: int, question: str, lang: str | None = None,
                  top_k: int | None = None) -> Reply:
        """Answer a question (follow-ups lean on the chat's previous question) and record it."""
        raise NotImplementedError

    async def more(self, chat_id: int, user_id: int, lang: str | None = None) -> Reply:
        """The next page of passages for the chat's last question."""
        raise NotImplementedError

    async def forget(self, chat_id: int, lang: str | None = None) -> Reply:
        """Erase the chat's history."""
        raise NotImplementedError

    def context(self, passage_id: str) -> tuple[Passage, ...]:
        """A passage with its neighbours from the article, for a "上下文" button."""
        raise NotImplementedError

    def search(self, query: str, top_k: int = 10) -> list[Hit]:
        """Stateless search (inline mode): no history is read or written."""
        raise NotImplementedError

    def notable_quotes(self, limit: int = 10) -> list[Hit]:
        """Quotations by named people in the articles, for bare /quote and empty inline queries."""
        raise NotImplementedError

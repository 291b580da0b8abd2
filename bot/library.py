"""The running library: the engine over the current articles, rebuilt off the event loop and swapped in whole."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Config
from bot.conversation import Engine
from bot.corpus import Corpus, CorpusError, load_corpus
from bot.history import HistoryStore
from bot.retrieval import Retriever
from bot.text import AnalyzerError

log = logging.getLogger(__name__)


class ReloadError(Exception):
    """The articles (or the dictionaries) could not be read; the running library is unchanged."""


class ReloadBusy(Exception):
    """A reload is already running; this one was not started."""


@dataclass(frozen=True)
class Edition:
    """One built library: the corpus, its index and the engine over them, replaced only as a whole."""
    corpus: Corpus
    retriever: Retriever
    engine: Engine
    build_seconds: float


@dataclass(frozen=True)
class ReloadReport:
    """What a reload changed."""
    articles: int
    passages: int
    added: tuple[str, ...]      # titles of articles that were not in the previous edition
    removed: tuple[str, ...]
    build_seconds: float


class Library:
    """Holds the current Edition; reload() builds the next one in a worker thread, then swaps.

    Handlers read `library.engine` when an update arrives: a question asked during a reload is
    answered by the edition in force at that moment, and an answer already under way keeps the
    edition it started with. The swap is one assignment on the event loop, so no reader ever sees
    half of a new edition.
    """

    def __init__(self, config: Config, history: HistoryStore, edition: Edition,
                 bot_username: str | None = None, build: Callable[..., Edition] | None = None) -> None:
        self._build = build or build_edition   # what a reload runs in its worker thread
        self._config = config
        self._history = history
        self._bot_username = bot_username
        self._edition = edition
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, config: Config, history: HistoryStore, bot_username: str | None = None) -> "Library":
        """Build the first edition (off the event loop too) from the configured articles."""
        # At start-up there is no old edition to keep: CorpusError and AnalyzerError reach the CLI.
        edition = await asyncio.to_thread(build_edition, config, history, bot_username)
        return cls(config, history, edition, bot_username)

    @property
    def edition(self) -> Edition:
        """The edition in force."""
        return self._edition

    @property
    def engine(self) -> Engine:
        """The engine of the edition in force."""
        return self._edition.engine

    @property
    def reloading(self) -> bool:
        """Whether a reload is under way."""
        return self._lock.locked()

    async def reload(self) -> ReloadReport:
        """Re-read the seeds folder into a new edition and swap it in; ReloadError leaves the old one."""
        if self._lock.locked():
            raise ReloadBusy()
        async with self._lock:
            old = self._edition
            try:
                new = await asyncio.to_thread(self._build, self._config, self._history, self._bot_username)
            except (CorpusError, AnalyzerError) as exc:
                log.warning("reload failed, keeping the running library: %s", exc)
                raise ReloadError(str(exc)) from exc
            self._edition = new
        before = {s.id: s.title for s in old.corpus.sources}
        after = {s.id: s.title for s in new.corpus.sources}
        report = ReloadReport(
            articles=len(new.corpus.sources), passages=len(new.corpus.passages),
            added=tuple(after[i] for i in after if i not in before),
            removed=tuple(before[i] for i in before if i not in after),
            build_seconds=new.build_seconds)
        log.info("library reloaded: %d articles, %d passages (%d added, %d removed) in %.2f s",
                 report.articles, report.passages, len(report.added), len(report.removed),
                 report.build_seconds)
        return report


def build_edition(config: Config, history: HistoryStore, bot_username: str | None = None) -> Edition:
    """Load the articles, build (or load) the index and the engine: CPU work, run in a thread."""
    started = time.perf_counter()
    corpus = load_corpus(config.corpus, config.retrieval.cache_dir)
    retriever = Retriever(corpus, config.retrieval)
    engine = Engine(config, corpus, retriever, history, bot_username=bot_username)
    return Edition(corpus, retriever, engine, time.perf_counter() - started)

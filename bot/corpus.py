"""Load the articles: clean page debris, find titles and sections, split into passages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import CorpusConfig


@dataclass(frozen=True)
class Passage:
    id: str            # stable: "<source id>#<number>", e.g. "003_09c59fd10b6461cf#12"
    source_id: str     # the seed file's stem
    source_title: str
    section: str       # the heading above it, "" when none
    position: int      # 0-based index within its source, so neighbours can be shown
    text: str          # exactly as it stands in the article (after debris removal)


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    path: Path
    date: str | None
    url: str | None
    origin: str | None
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Corpus:
    sources: tuple[Source, ...]
    passages: tuple[Passage, ...]   # all passages, in source order then position

    def passage(self, passage_id: str) -> Passage | None:
        """The passage with this id, or None."""
        raise NotImplementedError

    def neighbours(self, passage_id: str, radius: int = 1) -> tuple[Passage, ...]:
        """The passage with up to `radius` passages before and after it from the same source."""
        raise NotImplementedError


def load_corpus(config: CorpusConfig) -> Corpus:
    """Read every .txt/.md file in config.seeds_dir, clean it and split it into passages."""
    raise NotImplementedError

"""The conversation engine over a library's parts, for the test files that talk to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.conversation import Engine
from bot.history import HistoryStore


@contextlib.asynccontextmanager
async def engine_over(parts, db: Path) -> AsyncIterator[Engine]:
    """The conversation engine over (config, corpus, retriever), with a real SQLite history at db."""
    config, corpus, retriever = parts
    async with await HistoryStore.open(db, 200) as history:
        yield Engine(config, corpus, retriever, history)

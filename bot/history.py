"""Per-chat conversation history in SQLite (aiosqlite): append, read back, forget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Turn:
    id: int
    chat_id: int
    user_id: int
    role: str                        # "user" or "bot"
    text: str                        # what the user asked / a one-line summary of the reply
    passage_ids: tuple[str, ...]     # passages shown in a bot turn
    query: str | None                # bot turn: the question the passages answer (for /more)
    offset: int                      # bot turn: rank of its first passage within that query
    created_at: float                # unix time


class HistoryStore:
    """One SQLite file, WAL mode, schema versioned; every value a bound parameter."""

    @classmethod
    async def open(cls, path: Path, max_turns_per_chat: int) -> "HistoryStore":
        """Open (creating or migrating) the database at path."""
        raise NotImplementedError

    async def close(self) -> None:
        """Checkpoint and close the database."""
        raise NotImplementedError

    async def append_turn(self, chat_id: int, user_id: int, role: str, text: str,
                          passage_ids: tuple[str, ...] = (), query: str | None = None,
                          offset: int = 0) -> Turn:
        """Store one turn durably (committed before returning) and trim the chat to its cap."""
        raise NotImplementedError

    async def recent_turns(self, chat_id: int, limit: int = 10) -> list[Turn]:
        """The chat's last `limit` turns, oldest first."""
        raise NotImplementedError

    async def forget(self, chat_id: int) -> int:
        """Erase the chat's history; returns how many turns were removed."""
        raise NotImplementedError

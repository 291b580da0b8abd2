"""Per-chat conversation history in SQLite (aiosqlite): append, read back, forget, expire, back up;
and the inbox.

The inbox records every update a transport received before it is acted on, keyed by the
transport's update id, and what became of it; a reply's turns are stored in the same transaction
that marks its update answered, so the history holds only what the user was really sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from bot.config import HistoryConfig

ROLES = ("user", "bot")
# How a question ended, for /stats and the metrics (see bot.stats).
OUTCOMES = ("answered", "no_match", "throttled")
SECONDS_PER_DAY = 86_400
EXPORT_BATCH = 500   # turns read per query while exporting: memory stays flat on a large file
# What became of an update: answered (its reply was accepted), notice (the user was told why not:
# throttled, busy group), ignored (nothing was for this bot), dropped (a busy group's excess,
# after one notice), failed (an error; the user got an apology if one could be sent), expired
# (too old to answer by the time it could be).
UPDATE_OUTCOMES = ("answered", "notice", "ignored", "dropped", "failed", "expired")

log = logging.getLogger(__name__)


class HistoryError(Exception):
    """The history database cannot be created, opened or used."""


class SchemaVersionError(HistoryError):
    """The database was written by a newer quotebot whose schema this one does not know."""


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
    context: str | None = None       # bot turn: the earlier question a follow-up leaned on
    avoid: tuple[str, ...] = ()      # bot turn: passages its question's pages leave out


@dataclass(frozen=True)
class NewTurn:
    """A turn to store: what append_turn takes, so several can be stored in one transaction."""
    user_id: int
    role: str
    text: str
    passage_ids: tuple[str, ...] = ()
    query: str | None = None
    offset: int = 0
    context: str | None = None
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboxEntry:
    """One received update and what became of it."""
    update_id: int
    kind: str                        # the update's kind: message, callback_query, inline_query...
    chat_id: int | None
    message_id: int | None           # the user's message it carries, if any
    payload: dict                    # the update as received, to act on it again after a crash
    asked_at: float                  # unix time the user acted (the message's date, else arrival)
    received_at: float
    state: str                       # "pending" or "done"
    outcome: str | None              # one of UPDATE_OUTCOMES once done
    detail: str | None               # one line: why it failed, expired or was dropped
    reply_ids: tuple[int, ...]       # the bot's messages Telegram accepted for it, in order
    done_at: float | None


# Schema steps in order: MIGRATIONS[n] brings a version-n database to version n + 1, and
# PRAGMA user_version records how many have been applied. Never edit a released step; append one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE turns (
               id          INTEGER PRIMARY KEY AUTOINCREMENT,
               chat_id     INTEGER NOT NULL,
               user_id     INTEGER NOT NULL,
               role        TEXT    NOT NULL CHECK (role IN ('user', 'bot')),
               text        TEXT    NOT NULL,
               passage_ids TEXT    NOT NULL DEFAULT '[]',
               query       TEXT,
               result_offset INTEGER NOT NULL DEFAULT 0,
               created_at  REAL    NOT NULL,
               context     TEXT
           )""",
        "CREATE INDEX turns_chat_id ON turns (chat_id, id)",
    ),
    (
        # One row per question a chat asked, for /stats: how it ended and how long the reply took.
        # The text is kept only for questions that found nothing (the list of articles to add).
        """CREATE TABLE questions (
               id            INTEGER PRIMARY KEY AUTOINCREMENT,
               chat_id       INTEGER NOT NULL,
               user_id       INTEGER NOT NULL,
               outcome       TEXT    NOT NULL CHECK (outcome IN ('answered', 'no_match', 'throttled')),
               reply_seconds REAL,
               query         TEXT,
               asked_at      REAL    NOT NULL
           )""",
        "CREATE INDEX questions_asked_at ON questions (asked_at)",
        "CREATE INDEX questions_chat_id ON questions (chat_id)",
        "CREATE INDEX turns_created_at ON turns (created_at)",
    ),
    (
        """CREATE TABLE inbox (
               update_id   INTEGER PRIMARY KEY,
               kind        TEXT    NOT NULL,
               chat_id     INTEGER,
               message_id  INTEGER,
               payload     TEXT    NOT NULL,
               asked_at    REAL    NOT NULL,
               received_at REAL    NOT NULL,
               state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
               outcome     TEXT    CHECK (outcome IS NULL OR outcome IN
                                          ('answered', 'notice', 'ignored', 'dropped', 'failed', 'expired')),
               detail      TEXT,
               reply_ids   TEXT    NOT NULL DEFAULT '[]',
               done_at     REAL
           )""",
        "CREATE INDEX inbox_pending ON inbox (state, update_id)",
        "CREATE INDEX inbox_message ON inbox (chat_id, message_id)",
    ),
    (
        # A contrast follow-up ("那中国呢？" after a question on the US) leaves out the passages
        # its earlier question showed, on every page: they answered the other side.
        "ALTER TABLE turns ADD COLUMN avoid TEXT NOT NULL DEFAULT '[]'",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Every read starts from this constant; values are always bound parameters.
_SELECT_TURNS = ("SELECT id, chat_id, user_id, role, text, passage_ids, query, result_offset,"
                 " created_at, context, avoid FROM turns")
_SELECT_INBOX = ("SELECT update_id, kind, chat_id, message_id, payload, asked_at, received_at, state,"
                 " outcome, detail, reply_ids, done_at FROM inbox")


async def migrate(db: aiosqlite.Connection, path: Path,
                  migrations: Sequence[Sequence[str]] = MIGRATIONS) -> int:
    """Apply the steps the database lacks, each in its own transaction; returns the final version."""
    async with db.execute("PRAGMA user_version") as cursor:
        (version,) = await cursor.fetchone()
    if version > len(migrations):
        raise SchemaVersionError(
            f"{path}: history database has schema version {version}, this quotebot knows up to "
            f"{len(migrations)}; use a newer quotebot or another --db")
    for number in range(version, len(migrations)):
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[number]:
                await db.execute(statement)
            # PRAGMA takes no bound parameters; the value is our own integer, never user input.
            await db.execute(f"PRAGMA user_version = {int(number + 1)}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
    return len(migrations)


class HistoryStore:
    """One SQLite file, WAL mode, schema versioned; every value a bound parameter."""

    def __init__(self, db: aiosqlite.Connection, path: Path, max_turns_per_chat: int) -> None:
        self._db = db
        self.path = path
        self.max_turns_per_chat = max_turns_per_chat
        # One connection is shared by every chat: the lock keeps each insert-and-trim one transaction.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, max_turns_per_chat: int) -> "HistoryStore":
        """Open (creating or migrating) the database at path."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"{path}: cannot create the history folder ({exc.strerror})") from None
        try:
            # isolation_level=None: we write BEGIN/COMMIT ourselves, so what is committed is explicit.
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(f"{path}: cannot open the history database ({exc})") from None
        try:
            await _configure(db)
            await migrate(db, path)
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise HistoryError(f"{path}: not a usable history database ({exc})") from None
        except BaseException:
            await db.close()
            raise
        return cls(db, path, max_turns_per_chat)

    async def close(self) -> None:
        """Checkpoint and close the database."""
        try:
            await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await self._db.close()

    async def __aenter__(self) -> "HistoryStore":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def append_turn(self, chat_id: int, user_id: int, role: str, text: str,
                          passage_ids: tuple[str, ...] = (), query: str | None = None,
                          offset: int = 0, context: str | None = None) -> Turn:
        """Store one turn durably (committed before returning) and trim the chat to its cap."""
        [turn] = await self.append_turns(chat_id, [NewTurn(user_id, role, text, tuple(passage_ids), query,
                                                           offset, context)])
        return turn

    async def append_turns(self, chat_id: int, turns: Sequence[NewTurn]) -> list[Turn]:
        """Store turns in order, in one transaction, and trim the chat to its cap."""
        _check_roles(turns)
        async with self._transaction():
            stored = await self._insert_turns(chat_id, turns)
        return stored

    async def _insert_turns(self, chat_id: int, turns: Sequence[NewTurn]) -> list[Turn]:
        """Insert turns and trim the chat (inside the caller's transaction)."""
        created_at = time.time()
        stored = []
        for turn in turns:
            cursor = await self._db.execute(
                "INSERT INTO turns (chat_id, user_id, role, text, passage_ids, query,"
                " result_offset, created_at, context, avoid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (chat_id, turn.user_id, turn.role, turn.text,
                 json.dumps(list(turn.passage_ids), ensure_ascii=False), turn.query, turn.offset,
                 created_at, turn.context, json.dumps(list(turn.avoid), ensure_ascii=False)))
            stored.append(Turn(cursor.lastrowid, chat_id, turn.user_id, turn.role, turn.text,
                               tuple(turn.passage_ids), turn.query, turn.offset, created_at, turn.context,
                               tuple(turn.avoid)))
        if turns:
            await self._trim(chat_id)
        return stored

    async def _trim(self, chat_id: int) -> None:
        """Drop the chat's oldest turns beyond the cap (inside the caller's transaction)."""
        await self._db.execute(
            "DELETE FROM turns WHERE chat_id = ? AND id <= ("
            " SELECT id FROM turns WHERE chat_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (chat_id, chat_id, self.max_turns_per_chat))

    async def recent_turns(self, chat_id: int, limit: int = 10) -> list[Turn]:
        """The chat's last `limit` turns, oldest first."""
        async with self._db.execute(
                _SELECT_TURNS + " WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
                (chat_id, limit)) as cursor:
            rows = await cursor.fetchall()
        return [_turn(row) for row in reversed(rows)]

    async def last_answer(self, chat_id: int, with_passages: bool = False) -> Turn | None:
        """The chat's latest bot turn for a question (has a query); with_passages: one that quoted."""
        async with self._db.execute(
                _SELECT_TURNS + " WHERE chat_id = ? AND role = 'bot'"
                " AND query IS NOT NULL AND (? = 0 OR passage_ids != '[]')"
                " ORDER BY id DESC LIMIT 1", (chat_id, int(with_passages))) as cursor:
            row = await cursor.fetchone()
        return _turn(row) if row else None

    async def count_turns(self, chat_id: int) -> int:
        """How many turns the chat has stored."""
        async with self._db.execute("SELECT COUNT(*) FROM turns WHERE chat_id = ?",
                                    (chat_id,)) as cursor:
            (count,) = await cursor.fetchone()
        return count

    async def forget(self, chat_id: int) -> int:
        """Erase the chat's history; returns how many turns were removed."""
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM turns WHERE chat_id = ?", (chat_id,))
            removed = cursor.rowcount
            await self._db.execute("DELETE FROM questions WHERE chat_id = ?", (chat_id,))
            # What the chat said stays out of the inbox too; the entries stay, so a redelivered
            # update is still recognised and an edit still finds the reply it replaces.
            await self._db.execute("UPDATE inbox SET payload = '{}' WHERE chat_id = ? AND state = 'done'",
                                   (chat_id,))
        return removed

    # --- the inbox: updates received, and what became of them ------------------------------

    async def receive(self, update_id: int, kind: str, payload: dict, asked_at: float,
                      chat_id: int | None = None, message_id: int | None = None) -> bool:
        """Record an update durably before it is acted on; False if it was recorded before."""
        async with self._transaction():
            cursor = await self._db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, kind, chat_id, message_id, payload, asked_at,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (update_id, kind, chat_id, message_id, json.dumps(payload, ensure_ascii=False),
                 asked_at, time.time()))
            added = cursor.rowcount == 1
        return added

    async def inbox_entry(self, update_id: int) -> InboxEntry | None:
        """The inbox entry of an update, or None if it was never received."""
        async with self._db.execute(_SELECT_INBOX + " WHERE update_id = ?", (update_id,)) as cursor:
            row = await cursor.fetchone()
        return _inbox_entry(row) if row else None

    async def pending_updates(self) -> list[InboxEntry]:
        """Updates received but not done with (a crash or a stop came first), oldest first."""
        async with self._db.execute(_SELECT_INBOX + " WHERE state = 'pending' ORDER BY update_id") as cursor:
            rows = await cursor.fetchall()
        return [_inbox_entry(row) for row in rows]

    async def note_sent(self, update_id: int, reply_ids: Sequence[int]) -> None:
        """Record the messages sent so far for an update whose reply takes several."""
        async with self._transaction():
            await self._db.execute("UPDATE inbox SET reply_ids = ? WHERE update_id = ?",
                                   (json.dumps(list(reply_ids)), update_id))

    async def finish(self, update_id: int, outcome: str, detail: str | None = None,
                     reply_ids: Sequence[int] = (), chat_id: int | None = None,
                     turns: Sequence[NewTurn] = ()) -> None:
        """Mark an update done and store the turns its delivered reply adds, in one transaction."""
        if outcome not in UPDATE_OUTCOMES:
            raise ValueError(f"outcome must be one of {UPDATE_OUTCOMES}, got {outcome!r}")
        if turns and chat_id is None:
            raise ValueError("turns need the chat_id they belong to")
        _check_roles(turns)
        async with self._transaction():
            if turns:
                await self._insert_turns(chat_id, turns)
            await self._db.execute(
                "UPDATE inbox SET state = 'done', outcome = ?, detail = ?, reply_ids = ?, done_at = ?"
                " WHERE update_id = ?",
                (outcome, detail, json.dumps(list(reply_ids)), time.time(), update_id))

    async def answer_to(self, chat_id: int, message_id: int) -> InboxEntry | None:
        """The latest answered update for a user's message (to edit its reply when the message is edited)."""
        async with self._db.execute(
                _SELECT_INBOX + " WHERE chat_id = ? AND message_id = ? AND outcome = 'answered'"
                " AND reply_ids != '[]' ORDER BY update_id DESC LIMIT 1", (chat_id, message_id)) as cursor:
            row = await cursor.fetchone()
        return _inbox_entry(row) if row else None

    async def prune_inbox(self, done_before: float) -> int:
        """Delete done entries finished before a unix time; returns how many went."""
        async with self._transaction():
            cursor = await self._db.execute("DELETE FROM inbox WHERE state = 'done' AND done_at < ?",
                                            (done_before,))
            removed = cursor.rowcount
        return removed


    # --- the question log, retention, reports, backups ------------------------------------------

    async def record_question(self, chat_id: int, user_id: int, outcome: str,
                              reply_seconds: float | None = None, query: str | None = None) -> None:
        """Log one question's outcome for /stats; the text is kept only when nothing was found."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
        kept = query if outcome == "no_match" else None
        async with self._write_lock:
            await self._db.execute(
                "INSERT INTO questions (chat_id, user_id, outcome, reply_seconds, query, asked_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", (chat_id, user_id, outcome, reply_seconds, kept, time.time()))

    async def expire(self, max_age_days: int, now: float | None = None) -> int:
        """Drop turns and question records older than max_age_days; returns how many turns went."""
        cutoff = (time.time() if now is None else now) - max_age_days * SECONDS_PER_DAY
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = await self._db.execute("DELETE FROM turns WHERE created_at < ?", (cutoff,))
                removed = cursor.rowcount
                await self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
                await self._db.execute("DELETE FROM inbox WHERE state = 'done' AND done_at < ?", (cutoff,))
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
        return removed

    async def read(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple]:
        """Rows of one read-only query with bound parameters (for reports such as bot.stats)."""
        async with self._db.execute(sql, tuple(parameters)) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def turns(self, chat_id: int | None = None) -> AsyncIterator[Turn]:
        """Every stored turn (or one chat's), oldest first, read in batches."""
        last_id = 0
        while True:
            async with self._db.execute(
                    _SELECT_TURNS + " WHERE id > ? AND (? IS NULL OR chat_id = ?) ORDER BY id LIMIT ?",
                    (last_id, chat_id, chat_id, EXPORT_BATCH)) as cursor:
                rows = await cursor.fetchall()
            if not rows:
                return
            for row in rows:
                yield _turn(row)
            last_id = rows[-1][0]

    async def backup(self, target: Path) -> str:
        """Copy the database to target with SQLite's online backup; returns its integrity_check.

        One backup step copies every page under a read transaction: in WAL mode the bot keeps
        writing meanwhile and the copy is the consistent state at the step's start. The copy is
        written beside target and renamed over it only once it checks out, so target is never
        half written.
        """
        target = Path(target)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            # check_same_thread=False: aiosqlite runs the backup on its own thread.
            copy = sqlite3.connect(partial, check_same_thread=False)
        except sqlite3.Error as exc:
            raise HistoryError(f"{target}: cannot create the backup ({exc})") from None
        try:
            await self._db.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
            copy.close()
            if verdict != "ok":
                raise HistoryError(f"{target}: the backup failed its integrity check ({verdict})")
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, target)
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"{target}: cannot write the backup ({exc})") from None
        finally:
            copy.close()
            partial.unlink(missing_ok=True)
        return verdict


async def open_history(config: HistoryConfig) -> HistoryStore:
    """Open the configured history database and apply its age limit (retention at start)."""
    store = await HistoryStore.open(config.db_path, config.max_turns_per_chat)
    if config.max_age_days is not None:
        try:
            removed = await store.expire(config.max_age_days)
        except BaseException:
            await store.close()
            raise
        log.info("history retention: dropped %d turns older than %d days", removed, config.max_age_days)
    return store


async def keep_expiring(store: HistoryStore, max_age_days: int,
                        interval: float = SECONDS_PER_DAY) -> None:
    """Apply the age limit every interval seconds until cancelled (the daily part of retention)."""
    while True:
        await asyncio.sleep(interval)
        removed = await store.expire(max_age_days)
        log.info("history retention: dropped %d turns older than %d days", removed, max_age_days)


async def _configure(db: aiosqlite.Connection) -> None:
    """WAL so readers never block the writer; FULL so a committed turn survives a crash."""
    await db.execute("PRAGMA journal_mode=WAL")
    # NORMAL would already survive kill -9 in WAL mode; FULL also survives power loss, at one
    # fsync per turn, which is cheap at chat rates.
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA busy_timeout=5000")


def _check_roles(turns: Sequence[NewTurn]) -> None:
    """ValueError for a turn whose role is not one of ROLES (before anything is written)."""
    for turn in turns:
        if turn.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {turn.role!r}")


def _inbox_entry(row: Sequence) -> InboxEntry:
    """An InboxEntry from one row of _SELECT_INBOX."""
    (update_id, kind, chat_id, message_id, payload, asked_at, received_at, state, outcome, detail,
     reply_ids, done_at) = row
    return InboxEntry(update_id, kind, chat_id, message_id, json.loads(payload), asked_at, received_at,
                      state, outcome, detail, tuple(json.loads(reply_ids)), done_at)


def _turn(row: Sequence) -> Turn:
    """A Turn from one row of _SELECT_TURNS."""
    turn_id, chat_id, user_id, role, text, ids_json, query, offset, created_at, context, avoid = row
    return Turn(turn_id, chat_id, user_id, role, text, tuple(json.loads(ids_json)), query, offset,
                created_at, context, tuple(json.loads(avoid)))

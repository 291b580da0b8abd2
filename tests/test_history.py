"""The history store on a real SQLite file: durability, restarts, cap, forget, schema versions."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.history import (SCHEMA_VERSION, HistoryError, HistoryStore, SchemaVersionError,
                         migrate)


async def test_turn_round_trip_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = await HistoryStore.open(path, max_turns_per_chat=50)
    await store.append_turn(7, 1, "user", "梁文锋怎么看开源？")
    bot = await store.append_turn(7, 0, "bot", "3 段引文", passage_ids=("a#1", "b#2"),
                                  query="梁文锋怎么看开源？", offset=3, context="开源")
    await store.close()

    store = await HistoryStore.open(path, max_turns_per_chat=50)
    turns = await store.recent_turns(7)
    last = await store.last_answer(7)
    await store.close()
    assert [(t.role, t.text) for t in turns] == [("user", "梁文锋怎么看开源？"), ("bot", "3 段引文")]
    assert turns[1] == bot
    assert last.passage_ids == ("a#1", "b#2") and last.query == "梁文锋怎么看开源？"
    assert last.offset == 3 and last.context == "开源"


async def test_chats_are_kept_apart_and_forget_counts(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 50) as store:
        for n in range(3):
            await store.append_turn(1, 1, "user", f"one {n}")
        await store.append_turn(2, 2, "user", "two")
        assert await store.forget(1) == 3
        assert await store.recent_turns(1) == []
        assert await store.last_answer(1) is None
        assert [t.text for t in await store.recent_turns(2)] == ["two"]
        assert await store.forget(1) == 0


async def test_retention_cap_keeps_the_newest_turns(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", max_turns_per_chat=4) as store:
        for n in range(10):
            await store.append_turn(5, 1, "user", f"q{n}")
        await store.append_turn(6, 1, "user", "other chat")
        assert await store.count_turns(5) == 4
        assert [t.text for t in await store.recent_turns(5, limit=100)] == ["q6", "q7", "q8", "q9"]
        assert await store.count_turns(6) == 1


async def test_recent_turns_limit_returns_latest_oldest_first(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 100) as store:
        for n in range(6):
            await store.append_turn(1, 1, "user", str(n))
        assert [t.text for t in await store.recent_turns(1, limit=2)] == ["4", "5"]


async def test_unicode_huge_and_hostile_text_round_trips(tmp_path: Path) -> None:
    texts = ["😀🎉 emoji", "<b>&amp;</b>'; DROP TABLE turns; --", "\x00\x01 control \u202e",
             "開源模型" * 250_000]  # a million characters
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 100) as store:
        for text in texts:
            await store.append_turn(3, 1, "user", text, passage_ids=("源#1", "x'y#2"))
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 100) as store:
        turns = await store.recent_turns(3)
    assert [t.text for t in turns] == texts
    assert turns[0].passage_ids == ("源#1", "x'y#2")


async def test_open_creates_parent_folders_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "h.sqlite3"
    async with await HistoryStore.open(path, 10) as store:
        await store.append_turn(1, 1, "user", "hi")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_reopening_current_version_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(path, 10) as store:
        await store.append_turn(1, 1, "user", "kept")
    with sqlite3.connect(path) as db:
        schema_before = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    async with await HistoryStore.open(path, 10) as store:
        assert [t.text for t in await store.recent_turns(1)] == ["kept"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema_before


async def test_newer_schema_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match=r"h\.sqlite3.*schema version"):
        await HistoryStore.open(path, 10)


async def test_a_file_that_is_not_a_database_gives_a_history_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not sqlite at all " * 100)
    with pytest.raises(HistoryError, match="not a usable history database"):
        await HistoryStore.open(path, 10)


async def test_migration_steps_apply_in_order_from_an_older_file(tmp_path: Path) -> None:
    """A database at version 1 gains a later step (here a made-up v2) and keeps its rows."""
    import aiosqlite

    path = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(path, 10) as store:
        await store.append_turn(1, 1, "user", "from v1")
    extra_step = ("ALTER TABLE turns ADD COLUMN lang TEXT",)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        assert await migrate(db, path, (*_current_steps(), extra_step)) == SCHEMA_VERSION + 1
        async with db.execute("SELECT text, lang FROM turns") as cursor:
            assert await cursor.fetchall() == [("from v1", None)]
        async with db.execute("PRAGMA user_version") as cursor:
            assert (await cursor.fetchone())[0] == SCHEMA_VERSION + 1


def _current_steps():
    from bot.history import MIGRATIONS
    return MIGRATIONS


_WRITER = textwrap.dedent("""
    import asyncio, sys
    from bot.history import HistoryStore

    async def main():
        store = await HistoryStore.open(sys.argv[1], max_turns_per_chat=1_000_000)
        n = 0
        while True:
            turn = await store.append_turn(9, 1, "user", f"turn {n} " + "字" * 200)
            print(turn.id, flush=True)
            n += 1

    asyncio.run(main())
""")


async def test_kill_9_of_a_writer_loses_no_committed_turn(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    printed = []
    try:
        while len(printed) < 300:
            line = writer.stdout.readline()
            assert line, "the writer stopped before being killed"
            printed.append(int(line))
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    async with await HistoryStore.open(path, 1_000_000) as store:
        stored = {t.id for t in await store.recent_turns(9, limit=1_000_000)}
        assert set(printed) <= stored
        await store.append_turn(9, 1, "user", "after the crash")
        assert (await store.recent_turns(9, limit=1))[0].text == "after the crash"


# --- the inbox ----------------------------------------------------------------------------------

async def test_a_version_1_database_gains_the_inbox_and_keeps_its_turns(tmp_path: Path) -> None:
    import aiosqlite

    from bot.history import MIGRATIONS
    path = tmp_path / "v1.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await migrate(db, path, MIGRATIONS[:1])
        await db.execute("INSERT INTO turns (chat_id, user_id, role, text, created_at) VALUES (1, 1, 'user', 'old', 0)")
    async with await HistoryStore.open(path, 10) as store:
        assert [t.text for t in await store.recent_turns(1)] == ["old"]
        assert await store.receive(5, "message", {"update_id": 5}, 100.0, chat_id=1, message_id=9)


async def test_an_update_is_received_once_and_finished_with_its_turns(tmp_path: Path) -> None:
    from bot.history import NewTurn
    path = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(path, 10) as store:
        assert await store.receive(5, "message", {"update_id": 5, "message": {"text": "问"}}, 100.0,
                                   chat_id=7, message_id=9)
        assert not await store.receive(5, "message", {"update_id": 5}, 100.0, chat_id=7, message_id=9)
        assert [e.update_id for e in await store.pending_updates()] == [5]
        await store.note_sent(5, [41])
        assert (await store.inbox_entry(5)).reply_ids == (41,)
        await store.finish(5, "answered", reply_ids=[41, 42], chat_id=7,
                           turns=[NewTurn(3, "user", "问"), NewTurn(0, "bot", "引用了 1 段", ("a#1",), "问")])
    async with await HistoryStore.open(path, 10) as store:  # durable across a restart
        entry = await store.inbox_entry(5)
        assert (entry.state, entry.outcome, entry.reply_ids) == ("done", "answered", (41, 42))
        assert entry.payload["message"]["text"] == "问"
        assert await store.pending_updates() == []
        assert (await store.answer_to(7, 9)).update_id == 5
        assert [(t.role, t.text) for t in await store.recent_turns(7)] == [("user", "问"), ("bot", "引用了 1 段")]


async def test_a_finish_that_fails_stores_neither_the_turns_nor_the_outcome(tmp_path: Path) -> None:
    from bot.history import NewTurn
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 10) as store:
        await store.receive(5, "message", {}, 100.0, chat_id=7)
        with pytest.raises(ValueError):
            await store.finish(5, "answered", chat_id=7, turns=[NewTurn(3, "user", "问"), NewTurn(0, "robot", "x")])
        with pytest.raises(ValueError):
            await store.finish(5, "delivered-ish")
        assert await store.recent_turns(7) == []
        assert (await store.inbox_entry(5)).state == "pending"


async def test_old_done_entries_are_pruned_and_pending_ones_kept(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 10) as store:
        for update_id in (1, 2):
            await store.receive(update_id, "message", {}, 100.0)
        await store.finish(1, "ignored")
        assert await store.prune_inbox(done_before=1e12) == 1
        assert await store.inbox_entry(1) is None and (await store.inbox_entry(2)).state == "pending"

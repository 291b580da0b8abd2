"""History care on real SQLite files: retention by age, the question log, /forget, backup while the bot writes, export."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from bot.config import HistoryConfig
from bot.history import HistoryStore, keep_expiring, open_history

DAY = 86_400


def age_rows(path: Path, days: float) -> None:
    """Make every stored turn and question record `days` old (as if written back then)."""
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE turns SET created_at = created_at - ?", (days * DAY,))
        conn.execute("UPDATE questions SET asked_at = asked_at - ?", (days * DAY,))


async def test_retention_by_age_applies_at_start_and_spares_young_turns(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(path, 200) as store:
        await store.append_turn(1, 1, "user", "很久以前的问题")
        await store.record_question(1, 1, "no_match", 0.1, "很久以前的问题")
    age_rows(path, 40)
    async with await HistoryStore.open(path, 200) as store:
        await store.append_turn(1, 1, "user", "昨天的问题")
    async with await open_history(HistoryConfig(db_path=path, max_age_days=30)) as store:
        assert [t.text for t in await store.recent_turns(1)] == ["昨天的问题"]
        assert await store.read("SELECT COUNT(*) FROM questions") == [(0,)]
    async with await open_history(HistoryConfig(db_path=path, max_age_days=None)) as store:
        assert await store.count_turns(1) == 1


async def test_daily_retention_keeps_expiring_until_cancelled(tmp_path: Path) -> None:
    import asyncio
    path = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(path, 200) as store:
        await store.append_turn(1, 1, "user", "old")
        age_rows(path, 10)
        task = asyncio.create_task(keep_expiring(store, max_age_days=5, interval=0.01))
        while await store.count_turns(1):
            await asyncio.sleep(0.01)
        task.cancel()
        # As the bot does on shutdown (monitor.py): the task is awaited before the store closes,
        # so a sweep cancelled inside its transaction has rolled back first.
        await asyncio.gather(task, return_exceptions=True)
        assert await store.count_turns(1) == 0


async def test_forget_also_erases_the_chats_question_log(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as store:
        await store.record_question(1, 1, "no_match", 0.2, "红烧肉")
        await store.record_question(2, 2, "answered", 0.1, "开源")
        await store.forget(1)
        assert await store.read("SELECT chat_id, outcome, query FROM questions") == [(2, "answered", None)]


WRITER = textwrap.dedent("""
    import asyncio, sys
    from bot.history import HistoryStore

    async def main():
        store = await HistoryStore.open(sys.argv[1], 1_000_000)
        n = 0
        try:
            while True:
                await store.append_turn(n % 7, 1, "user", "问题 %d " % n + "字" * 200)
                n += 1
                if n == 20:
                    print("writing", flush=True)
        finally:
            await store.close()
    asyncio.run(main())
""")


def test_backup_while_another_process_writes_passes_integrity_check(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        backups = [tmp_path / f"backup{n}.sqlite3" for n in range(3)]
        for backup in backups:
            proc = run_cli("history", "backup", "--db", str(db), str(backup))
            assert proc.returncode == 0, proc.stderr
            assert proc.stdout.strip().endswith("integrity_check ok)")
        assert writer.poll() is None          # the bot kept writing throughout
    finally:
        writer.terminate()
        writer.wait(10)
    counts = []
    for backup in backups:
        with sqlite3.connect(backup) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            counts.append(conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0])
        assert not Path(f"{backup}-wal").exists()
    assert counts[0] >= 20 and counts == sorted(counts)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_backup_errors_are_one_sentence(run_cli, tmp_path: Path) -> None:
    proc = run_cli("history", "backup", "--db", str(tmp_path / "none.sqlite3"), str(tmp_path / "b.sqlite3"))
    assert proc.returncode == 2 and "no history database here" in proc.stderr and "Traceback" not in proc.stderr
    db = tmp_path / "h.sqlite3"
    sqlite3.connect(db).close()
    proc = run_cli("history", "backup", "--db", str(db), str(tmp_path / "missing" / "dir" / "b.sqlite3"))
    assert proc.returncode == 2 and "cannot create the backup" in proc.stderr and "Traceback" not in proc.stderr


async def test_export_prints_json_lines_for_all_chats_or_one(run_cli, tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    async with await HistoryStore.open(db, 200) as store:
        await store.append_turn(5, 5, "user", "DeepSeek 为什么开源？")
        await store.append_turn(5, 0, "bot", "引用了 1 段", passage_ids=("a#1",), query="DeepSeek 为什么开源？")
        await store.append_turn(6, 6, "user", "红烧肉怎么做？")
        await store.append_turn(6, 0, "bot", "没有找到相关段落", query="红烧肉怎么做？")
    everything = run_cli("history", "export", "--db", str(db), "--jsonl")
    assert everything.returncode == 0, everything.stderr
    turns = [json.loads(line) for line in everything.stdout.splitlines()]
    assert [(t["chat_id"], t["role"]) for t in turns] == [(5, "user"), (5, "bot"), (6, "user"), (6, "bot")]
    assert turns[0]["text"] == "DeepSeek 为什么开源？" and turns[1]["passage_ids"] == ["a#1"]
    assert turns[0]["created_at"].endswith("Z") and time.strftime("%Y") in turns[0]["created_at"]
    one = run_cli("history", "export", "--db", str(db), "--chat", "6")
    assert [json.loads(line)["text"] for line in one.stdout.splitlines()][0] == "红烧肉怎么做？"
    assert len(one.stdout.splitlines()) == 2

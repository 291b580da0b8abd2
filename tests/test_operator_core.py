"""The operator's core pieces without Telegram: stats queries, article intake, the swappable library, metrics over HTTP."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from bot.articles import ArticleError, check_article, safe_name, save_article
from bot.config import Config, default_config_path
from bot.conversation import ReplyKind
from bot.history import HistoryStore
from bot.library import Library, ReloadBusy, ReloadError, build_edition
from bot.metrics import Health, Metrics, MetricsError, MetricsServer
from bot.stats import gather_stats, question_key

GARDEN = "# 阳台种菜笔记\n\n番茄需要每天六小时以上的日照，浇水要见干见湿，花盆要放在朝南的阳台上。\n"


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_seeds(config: Config, tmp_path: Path) -> Config:
    """The bundled config over a copy of the articles in tmp_path."""
    seeds = tmp_path / "seeds"
    shutil.copytree(default_config_path().parent.parent / "seeds", seeds)
    return config.with_overrides(corpus={"seeds_dir": seeds})


# --- stats ------------------------------------------------------------------------------------

async def test_stats_count_the_day_the_week_and_the_median(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    now = datetime.datetime(2025, 3, 5, 15, 0).timestamp()
    rows = [(1, "answered", 0.10, None, 1), (1, "answered", 0.30, None, 3), (2, "no_match", 0.20, "红烧肉", 2),
            (3, "no_match", 0.50, "红烧肉", 30), (3, "no_match", 0.90, "天气", 4), (2, "throttled", None, None, 5),
            (4, "answered", 9.0, None, 24 * 8)]   # hours ago; the last is older than a week
    async with await HistoryStore.open(path, 200) as store:
        for chat_id, outcome, seconds, query, _ in rows:
            await store.record_question(chat_id, chat_id, outcome, seconds, query)
    with sqlite3.connect(path) as conn:
        for row_id, (*_, hours) in enumerate(rows, 1):
            conn.execute("UPDATE questions SET asked_at = ? WHERE id = ?", (now - hours * 3600, row_id))
    async with await HistoryStore.open(path, 200) as store:
        stats = await gather_stats(store, now=now)
    assert stats.today == 5 and stats.week == 6      # 15:00: the 30 h old one is yesterday's
    assert stats.outcomes == {"answered": 2, "no_match": 3, "throttled": 1}
    assert stats.share("no_match") == 0.5
    assert stats.median_reply_seconds == pytest.approx(0.30)   # of 0.1 0.2 0.3 0.5 0.9
    assert stats.unanswered == (("红烧肉", 2), ("天气", 1))
    assert stats.busiest_chats == ((1, 2), (2, 2), (3, 2))


async def test_stats_of_an_empty_log(tmp_path: Path) -> None:
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as store:
        stats = await gather_stats(store)
    assert (stats.today, stats.week, stats.median_reply_seconds, stats.unanswered) == (0, 0, None, ())
    assert stats.share("answered") == 0.0


def test_question_key_ignores_trailing_punctuation_and_spacing() -> None:
    assert question_key("美国会赢吗？ ") == question_key("美国会赢吗") == question_key("美国会赢吗??")
    assert question_key("what  about   chips?") == "what about chips"


# --- articles ---------------------------------------------------------------------------------

def test_an_article_with_a_heading_is_checked_and_saved_atomically(config: Config, tmp_path: Path) -> None:
    corpus = config.corpus
    draft = check_article("garden.md", GARDEN.encode("utf-8"), corpus, 10_000)
    assert (draft.name, draft.title, draft.passages, draft.replaces) == ("garden.md", "阳台种菜笔记", 1, False)
    seeds = tmp_path / "seeds"
    path = save_article(seeds, draft)
    assert path.read_text(encoding="utf-8") == GARDEN and [p.name for p in seeds.iterdir()] == ["garden.md"]


def test_an_untitled_article_takes_a_typed_title(config: Config) -> None:
    text = "番茄需要每天六小时以上的日照，浇水要见干见湿，花盆要放在朝南的阳台上。\n"
    draft = check_article("notes.txt", "\ufeff".encode() + text.encode("utf-8"), config.corpus, 10_000)
    assert draft.title is None
    titled = draft.titled("  阳台  番茄 \n")
    assert titled.title == "阳台 番茄" and titled.text == "# 阳台 番茄\n\n" + text
    with pytest.raises(ArticleError) as error:
        draft.titled("长" * 61)
    assert error.value.key == "article_bad_title"


@pytest.mark.parametrize("name, data, key", [
    ("a.md", GARDEN.encode("gbk"), "article_not_utf8"),
    ("a.md", b"x" * 10_001, "article_too_big"),
    ("a.pdf", b"%PDF-1.4", "article_bad_type"),
    ("a.md", b"\x00\x01\x02 binary", "article_not_text"),
    ("a.md", b"\n \n", "article_empty"),
    ("!!.md", GARDEN.encode(), "article_bad_name"),
])
def test_bad_uploads_are_refused_with_their_reason(config: Config, name: str, data: bytes, key: str) -> None:
    with pytest.raises(ArticleError) as error:
        check_article(name, data, config.corpus, 10_000)
    assert error.value.key == key


def test_file_names_stay_inside_the_seeds_folder() -> None:
    assert safe_name("../../etc/cron.d/evil.TXT") == "evil.txt"
    assert safe_name("开源 笔记 (2).md") == "开源_笔记_2.md"
    assert safe_name(".hidden.md") == "hidden.md"


# --- the swappable library --------------------------------------------------------------------

async def test_reload_swaps_in_new_articles_and_answers_from_the_old_until_then(own_seeds: Config) -> None:
    gate = threading.Event()

    def gated_build(*args, **kwargs):
        gate.wait(60)
        return build_edition(*args, **kwargs)

    async with await HistoryStore.open(own_seeds.history.db_path, 200) as history:
        library = Library(own_seeds, history, build_edition(own_seeds, history), build=gated_build)
        old = library.edition
        (own_seeds.corpus.seeds_dir / "garden.md").write_text(GARDEN, encoding="utf-8")
        reload = asyncio.create_task(library.reload())
        await asyncio.sleep(0)
        assert library.reloading
        with pytest.raises(ReloadBusy):
            await library.reload()
        meanwhile = await library.engine.ask(1, 1, "阳台种番茄每天要晒几个小时？")
        assert meanwhile.kind is ReplyKind.NO_MATCH and library.edition is old
        gate.set()
        report = await reload
        assert report.added == ("阳台种菜笔记",) and report.articles == 5 and not library.reloading
        after = await library.engine.ask(2, 2, "阳台种番茄每天要晒几个小时？")
        assert after.kind is ReplyKind.ANSWER and "番茄" in after.hits[0].passage.text


async def test_a_broken_file_fails_the_reload_and_leaves_the_library(own_seeds: Config) -> None:
    async with await HistoryStore.open(own_seeds.history.db_path, 200) as history:
        library = await Library.open(own_seeds, history)
        old = library.edition
        (own_seeds.corpus.seeds_dir / "bad.txt").write_bytes("坏文件".encode("gbk"))
        with pytest.raises(ReloadError, match="bad.txt: article is not UTF-8 text"):
            await library.reload()
        assert library.edition is old and not library.reloading
        answer = await library.engine.ask(1, 1, "DeepSeek-V3 的训练成本是多少？")
        assert answer.kind is ReplyKind.ANSWER


# --- metrics and health over HTTP -------------------------------------------------------------

def test_metrics_and_health_are_served_over_http() -> None:
    metrics, now = Metrics(), [1000.0]
    health = Health(max_silence=40, clock=lambda: now[0])
    server = MetricsServer(metrics, health, "127.0.0.1", free_port()).start()
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 503   # no poll yet
        health.sign()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        now[0] += 41
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 503   # polls stopped
        metrics.question("answered", 0.2)
        metrics.question("throttled", None)
        metrics.api_error("too_many_requests")
        metrics.library(5, 142)
        text = httpx.get(f"{server.url}/metrics", timeout=5).text
        for sample in ('quotebot_questions_total{outcome="answered"} 1.0',
                       'quotebot_questions_total{outcome="no_match"} 0.0',
                       'quotebot_questions_total{outcome="throttled"} 1.0',
                       "quotebot_reply_seconds_count 1.0", 'quotebot_reply_seconds_bucket{le="0.25"} 1.0',
                       'quotebot_telegram_api_errors_total{kind="too_many_requests"} 1.0',
                       "quotebot_telegram_rate_limited_total 1.0", "quotebot_index_passages 142.0"):
            assert sample in text.splitlines(), sample
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=2)


def test_a_taken_port_is_one_sentence() -> None:
    first = MetricsServer(Metrics(), Health(40), "127.0.0.1", free_port())
    try:
        with pytest.raises(MetricsError, match=rf"cannot serve metrics on 127.0.0.1:{first.address[1]}"):
            MetricsServer(Metrics(), Health(40), "127.0.0.1", first.address[1])
    finally:
        first.stop()

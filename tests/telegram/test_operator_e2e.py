"""End to end, as an operator runs the bot: admin commands, an article sent as a document, /reload,
/stats, the metrics endpoint scraped over HTTP, and `quotebot check --online` against the emulator.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from bot.config import default_config_path
from bot.telegram.rules import visible_text
from bot_harness import BotProcess, assert_token_not_logged, bot_env, make_token, write_config
from emulator_harness import Emulator, free_port
from repair_proxy import RepairingProxy

ADMIN_ID = 4242
GARDEN = ("# 阳台种菜笔记\n\n番茄需要每天六小时以上的日照，浇水要见干见湿，花盆要放在朝南的阳台上。\n\n"
          "辣椒怕涝，盆底一定要有排水孔，雨季要把花盆搬到屋檐下，避免连续淋雨烂根。\n")
GARDEN_QUESTION = "阳台种番茄每天要晒几个小时太阳？"
UNTITLED = ("冬天气温低于五度的时候，多肉植物要搬进室内，放在有阳光的窗台边，每个月只浇一次水就够了。\n\n"
            "室内暖气很干燥，但多肉不需要额外加湿，反而要注意通风，防止介壳虫。\n")


def shown(message: dict) -> str:
    return visible_text(message["text"])


@pytest.fixture(scope="module")
def operated(emulator: Emulator, index_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BotProcess, Path, str]]:
    """A bot with one admin, its own copy of the articles and the metrics endpoint on."""
    folder = tmp_path_factory.mktemp("operated-bot")
    seeds = folder / "seeds"
    shutil.copytree(default_config_path().parent.parent / "seeds", seeds)
    metrics_port = free_port()
    config = write_config(folder, index_cache, admins=[ADMIN_ID],
                          metrics={"enabled": True, "listen": "127.0.0.1", "port": metrics_port})
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    raw["corpus"]["seeds_dir"] = str(seeds)
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    token = make_token()
    proxy = RepairingProxy(emulator.url, token=token).start()
    bot = BotProcess(proxy, config, folder / "history.sqlite3", bot_env(folder / "home"),
                     folder / "bot.log", token).start()
    yield bot, seeds, f"http://127.0.0.1:{metrics_port}"
    code = bot.stop()
    proxy.stop()
    assert code == 0, bot.log()[-3000:]
    assert_token_not_logged(bot)


def send_document(bot: BotProcess, user, content: bytes, name: str) -> None:
    """The user sends a file, as Telegram delivers it: a message with a document the bot must fetch."""
    user.send_raw({"document": bot.proxy.add_file(content, name)})


def metric(text: str, name: str) -> float:
    """One sample's value from a Prometheus text exposition."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in:\n{text}"
    return float(match.group(1))


def wait_healthy(url: str, timeout: float = 20.0) -> int:
    """/healthz's status once it says 200, or its last status when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{url}/healthz", timeout=5).status_code
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_admin_adds_an_article_reloads_and_it_answers(operated) -> None:
    bot, seeds, _ = operated
    admin = bot.user(user_id=ADMIN_ID)
    admin.send(GARDEN_QUESTION)
    [before] = admin.wait_replies(1)
    assert "没有找到" in shown(before)

    send_document(bot, admin, GARDEN.encode("utf-8"), "garden.md")
    [saved] = admin.wait_replies(1)
    assert "已保存 garden.md：《阳台种菜笔记》，2 段" in shown(saved) and "/reload" in shown(saved)
    assert (seeds / "garden.md").read_text(encoding="utf-8") == GARDEN
    assert not [p for p in seeds.iterdir() if p.name.startswith(".")]   # no partial file left

    admin.send("/reload")
    started, done = admin.wait_replies(2, timeout=60)
    assert "后台" in shown(started)
    assert "5 篇文章" in shown(done) and "新增：《阳台种菜笔记》" in shown(done)

    someone = bot.user()
    someone.send(GARDEN_QUESTION)
    [answer] = someone.wait_replies(1)
    assert "番茄需要每天六小时以上的日照" in shown(answer) and "阳台种菜笔记" in shown(answer)


def test_an_untitled_article_gets_the_title_the_admin_types(operated) -> None:
    bot, seeds, _ = operated
    admin = bot.user(user_id=ADMIN_ID)
    send_document(bot, admin, UNTITLED.encode("utf-8"), "succulents.txt")
    [asked] = admin.wait_replies(1)
    assert "没有标题" in shown(asked) and not (seeds / "succulents.txt").exists()
    admin.send("多肉植物过冬")
    [saved] = admin.wait_replies(1)
    assert "《多肉植物过冬》" in shown(saved)
    assert (seeds / "succulents.txt").read_text(encoding="utf-8").startswith("# 多肉植物过冬\n\n冬天气温")
    admin.send("多肉冬天多久浇一次水？")   # the title was taken; this is a question again
    [reply] = admin.wait_replies(1)
    assert "标题" not in shown(reply)
    send_document(bot, admin, UNTITLED.encode("utf-8"), "again.txt")
    admin.wait_replies(1)
    admin.send("/cancel")
    [dropped] = admin.wait_replies(1)
    assert "已放弃 again.txt" in shown(dropped) and not (seeds / "again.txt").exists()


def test_a_file_that_is_not_utf8_is_refused(operated) -> None:
    bot, seeds, _ = operated
    admin = bot.user(user_id=ADMIN_ID)
    send_document(bot, admin, GARDEN.encode("gbk"), "garden-gbk.md")
    [refused] = admin.wait_replies(1)
    assert "不是 UTF-8" in shown(refused) and not (seeds / "garden-gbk.md").exists()
    send_document(bot, admin, b"PK\x03\x04 zipped", "archive.zip")
    [wrong_type] = admin.wait_replies(1)
    assert "只收 .txt / .md" in shown(wrong_type)


def test_a_broken_file_in_seeds_fails_the_reload_and_the_bot_keeps_answering(operated) -> None:
    bot, seeds, _ = operated
    broken = seeds / "broken.txt"
    broken.write_bytes("这不是 UTF-8 编码的文章".encode("gbk"))
    try:
        admin = bot.user(user_id=ADMIN_ID)
        admin.send("/reload")
        _, failed = admin.wait_replies(2, timeout=60)
        assert "重新读取失败，正在运行的文章库没有变" in shown(failed) and "broken.txt" in shown(failed)
    finally:
        broken.unlink()
    someone = bot.user()
    someone.send("DeepSeek-V3 的训练成本是多少？")
    [answer] = someone.wait_replies(1)
    assert "557 万美元" in shown(answer)


def test_non_admins_get_the_unknown_command_reply_and_cannot_upload(operated) -> None:
    bot, seeds, _ = operated
    user = bot.user()
    for command in ("/stats", "/reload"):
        user.send(command)
        [reply] = user.wait_replies(1)
        assert f"不认识 {command} 这个命令" in shown(reply)
    send_document(bot, user, GARDEN.encode("utf-8"), "intruder.md")
    [hint] = user.wait_replies(1)
    assert "我只能读文字" in shown(hint) and not (seeds / "intruder.md").exists()
    # The admin's own menu has /stats and /reload; the default menu does not.
    default_menus = [c for c in bot.proxy.calls("setMyCommands") if "chat_id" not in str(c.params.get("scope"))]
    assert default_menus and all("stats" not in str(c.params["commands"]) for c in default_menus)
    admin_menu = bot.proxy.wait_for("setMyCommands", lambda c: str(ADMIN_ID) in str(c.params.get("scope")))
    assert "reload" in str(admin_menu.params["commands"])


def test_stats_shows_volumes_outcomes_and_what_found_nothing(operated) -> None:
    bot, _, _ = operated
    admin = bot.user(user_id=ADMIN_ID)
    for question in ("怎么做红烧肉？", "怎么做红烧肉", "DeepSeek 为什么开源？"):
        admin.send(question)
        admin.wait_replies(1)
    admin.send("/stats")
    [stats] = admin.wait_replies(1)
    text = shown(stats)
    assert re.search(r"今天 \d+ 个问题，最近 7 天 \d+ 个", text)
    assert "找到答案" in text and "没找到" in text and "被限流 0%" in text
    assert re.search(r"回复时间中位数：\d+\.\d\d 秒", text)
    assert "1. 怎么做红烧肉 ×2" in text      # two spellings, one question, most asked first
    assert f"{admin.chat_id} (3)" in text      # busiest chats, by id


def test_metrics_are_scraped_over_http_while_the_bot_runs(operated) -> None:
    bot, _, url = operated
    user = bot.user()
    user.send("DeepSeek 为什么开源？")
    user.wait_replies(1)
    bot.proxy.fail("sendMessage", 429, times=1)
    user.send("出口管制有什么影响？")
    user.wait_replies(1)                      # the apology, once Telegram lets the bot send again
    assert wait_healthy(url) == 200
    scraped = httpx.get(f"{url}/metrics", timeout=5)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert metric(text, 'quotebot_questions_total{outcome="answered"}') >= 1
    assert metric(text, "quotebot_reply_seconds_count") >= 1
    assert metric(text, 'quotebot_telegram_api_errors_total{kind="too_many_requests"}') >= 1
    assert metric(text, "quotebot_telegram_rate_limited_total") >= 1
    assert metric(text, "quotebot_index_passages") > 0 and metric(text, "quotebot_index_articles") >= 4
    assert "quotebot_inbox_backlog" in text
    assert httpx.get(f"{url}/nothing", timeout=5).status_code == 404


def test_check_online_names_the_bot_and_its_settings(isolated_env, tmp_path, index_cache, new_proxy) -> None:
    token = make_token()
    proxy = new_proxy(token)
    config = write_config(tmp_path, index_cache)
    done = subprocess.run([sys.executable, "-m", "bot", "check", "--online", "--config", str(config),
                           "--db", str(tmp_path / "h.sqlite3"), "--api-base-url", proxy.base_url],
                          env={**isolated_env, "TELEGRAM_BOT_TOKEN": token}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "ok   telegram: @TestNameBot (id 666), reached through getMe" in lines
    assert "ok   telegram: inline mode on" in lines
    assert any(line.startswith("ok   telegram: group privacy on") for line in lines)
    assert token not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_check_online_in_webhook_mode_reports_the_webhook(isolated_env, tmp_path, index_cache, new_proxy) -> None:
    token = make_token()
    proxy = new_proxy(token)
    secret = tmp_path / "secret"
    secret.write_text("s3cret")
    config = write_config(tmp_path, index_cache, mode="webhook",
                          webhook={"url": "https://bot.example.org/hook", "secret_token_file": str(secret)})
    done = subprocess.run([sys.executable, "-m", "bot", "check", "--online", "--config", str(config),
                           "--db", str(tmp_path / "h.sqlite3"), "--api-base-url", proxy.base_url],
                          env={**isolated_env, "TELEGRAM_BOT_TOKEN": token}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "ok   webhook: https://bot.example.org/hook, listening on 127.0.0.1:8443, secret token set" in lines
    assert lines[-1] == "ok   telegram: no webhook set yet: the bot sets https://bot.example.org/hook when it starts"


def test_check_online_with_a_rejected_token_fails_in_one_line(isolated_env, tmp_path, index_cache, new_proxy) -> None:
    proxy = new_proxy(make_token())
    config = write_config(tmp_path, index_cache)
    done = subprocess.run([sys.executable, "-m", "bot", "check", "--online", "--config", str(config),
                           "--db", str(tmp_path / "h.sqlite3"), "--api-base-url", proxy.base_url],
                          env={**isolated_env, "TELEGRAM_BOT_TOKEN": make_token()}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "FAIL telegram: getMe: Telegram rejected the token (revoked, or mistyped?)"
    assert "Traceback" not in done.stderr


def test_webhook_mode_is_healthy_once_telegram_reports_the_webhook(start_bot, new_proxy, tmp_path, index_cache) -> None:
    token = make_token()
    proxy = new_proxy(token)
    hook_port, metrics_port = free_port(), free_port()
    config = write_config(tmp_path, index_cache, mode="webhook",
                          webhook={"listen": "127.0.0.1", "port": hook_port, "url": f"http://127.0.0.1:{hook_port}/hook"},
                          metrics={"enabled": True, "port": metrics_port})
    bot = start_bot(proxy=proxy, token=token, config=config, wait_for="setWebhook")
    assert proxy.wait_for("setWebhook").ok
    assert wait_healthy(f"http://127.0.0.1:{metrics_port}") == 200
    assert bot.stop() == 0
    with pytest.raises(httpx.ConnectError):   # the endpoint goes away with the bot
        httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=2)


def test_a_taken_metrics_port_stops_the_start_with_one_sentence(isolated_env, tmp_path, index_cache, new_proxy) -> None:
    import socket
    token = make_token()
    proxy = new_proxy(token)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, index_cache, metrics={"enabled": True, "port": port})
        done = subprocess.run([sys.executable, "-m", "bot", "telegram", "--config", str(config),
                               "--db", str(tmp_path / "h.sqlite3"), "--api-base-url", proxy.base_url],
                              env={**isolated_env, "TELEGRAM_BOT_TOKEN": token}, capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"quotebot: cannot serve metrics on 127.0.0.1:{port} (")

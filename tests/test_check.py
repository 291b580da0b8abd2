"""`quotebot check` in a subprocess, on a good set-up and on broken ones: one line per item, exit 0 / 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import default_config_path, load_config
from bot.corpus import load_corpus

TOKEN = "123456789:AAbbccddeeffgghhiijjkkllmmnnooppqqr"


def assert_clean(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    for line in proc.stdout.splitlines():
        assert line.split(" ", 1)[0] in ("ok", "warn", "FAIL"), line


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(default_config_path().parent.parent / "seeds", folder)
    return folder


def test_a_good_set_up_passes_every_item(run_cli, isolated_env, seeds: Path, tmp_path: Path) -> None:
    isolated_env["TELEGRAM_BOT_TOKEN"] = TOKEN
    db = tmp_path / "state" / "h.sqlite3"
    proc = run_cli("check", "--seeds", str(seeds), "--db", str(db))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_clean(proc)
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   config", "ok   library", "ok   index", "ok   database", "ok   token"]
    passages = len(load_corpus(load_config(env={}).with_overrides(corpus={"seeds_dir": seeds}).corpus).passages)
    assert f"4 articles, {passages} passages in {seeds}" in lines[1]
    assert "built in" in lines[2] and "cached in" in lines[2]
    assert f"{db}, schema version" in lines[3] and db.exists()
    assert lines[4] == "ok   token: well-formed, from TELEGRAM_BOT_TOKEN"
    assert TOKEN not in proc.stdout
    again = run_cli("check", "--seeds", str(seeds), "--db", str(db))
    assert "loaded from the cache" in again.stdout.splitlines()[2] and "verified" in again.stdout


def test_a_broken_config_names_the_file_and_the_key(run_cli, isolated_env, tmp_path: Path) -> None:
    isolated_env["TELEGRAM_BOT_TOKEN"] = TOKEN
    config = tmp_path / "bot.yaml"
    config.write_text("telegram:\n  admin: [1]\n", encoding="utf-8")
    proc = run_cli("check", "--config", str(config))
    assert proc.returncode == 1
    assert_clean(proc)
    assert proc.stdout.splitlines() == [f"FAIL config: {config}: unknown key 'telegram.admin' (expected one of: "
                                        f"admins, api_base_url, delivery, limits, max_upload_bytes, metrics, mode, poll_interval, "
                                        f"questions_per_minute, rate_limiter, token_file, webhook)"]


def test_untitled_empty_and_undecodable_articles_and_no_token(run_cli, seeds: Path, tmp_path: Path) -> None:
    (seeds / "notes.txt").write_text("这一段没有标题，只是一段关于开源模型的笔记，写得很随意。\n\n第二段也是笔记。\n",
                                     encoding="utf-8")
    (seeds / "blank.md").write_text("\n\n", encoding="utf-8")
    proc = run_cli("check", "--seeds", str(seeds), "--db", str(tmp_path / "h.sqlite3"))
    assert proc.returncode == 1   # no token
    assert_clean(proc)
    lines = proc.stdout.splitlines()
    assert "ok   library: 6 articles" in lines[1]
    assert any(line.startswith("warn library: 1 article (notes.txt) without a title") for line in lines)
    assert any(line.startswith("warn library: 1 article (blank.md) with no text") for line in lines)
    assert lines[-1].startswith("FAIL token: No Telegram bot token")

    (seeds / "gbk.txt").write_bytes("不是 UTF-8 的文章".encode("gbk"))
    proc = run_cli("check", "--seeds", str(seeds), "--db", str(tmp_path / "h.sqlite3"))
    assert proc.returncode == 1
    assert_clean(proc)
    assert f"FAIL library: {seeds / 'gbk.txt'}: article is not UTF-8 text" in proc.stdout.splitlines()
    assert any(line.startswith("ok   database") for line in proc.stdout.splitlines())   # the rest still checked


def test_a_malformed_token_a_bad_database_and_webhook_without_url(run_cli, isolated_env, tmp_path: Path) -> None:
    isolated_env["TELEGRAM_BOT_TOKEN"] = "not-a-token"
    db = tmp_path / "junk.sqlite3"
    db.write_bytes(b"definitely not sqlite " * 200)
    config = tmp_path / "bot.yaml"
    config.write_text(yaml.safe_dump({"telegram": {"mode": "webhook"}}), encoding="utf-8")
    proc = run_cli("check", "--config", str(config), "--db", str(db))
    assert proc.returncode == 1
    assert_clean(proc)
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"FAIL database: {db}: not a usable history database") for line in lines)
    assert any(line.startswith("FAIL token: The Telegram bot token is malformed") for line in lines)
    assert "not-a-token" not in proc.stdout

    isolated_env["TELEGRAM_BOT_TOKEN"] = TOKEN
    proc = run_cli("check", "--config", str(config), "--db", str(tmp_path / "h.sqlite3"))
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1].startswith("FAIL webhook: telegram.webhook.url must be the public https URL")


def test_the_token_from_a_systemd_credential(run_cli, isolated_env, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "telegram-token").write_text(TOKEN + "\n", encoding="utf-8")
    isolated_env["CREDENTIALS_DIRECTORY"] = str(credentials)
    proc = run_cli("check", "--db", str(tmp_path / "h.sqlite3"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"ok   token: well-formed, from {credentials / 'telegram-token'}"

"""The real bot as a subprocess for the tests and the benchmark: its config, environment and life cycle."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bot.config import default_config_path
from emulator_harness import User
from repair_proxy import RepairingProxy

_chat_ids = itertools.count(70_001)
_group_ids = itertools.count(-1_000_000_001, -1)


def make_token() -> str:
    """A token of Telegram's shape, different for every bot run so the emulator's queues stay apart."""
    return f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(24)[:33].replace('-', 'x')}"


def write_config(folder: Path, index_cache: Path, source: Path | None = None, **telegram: object) -> Path:
    """The bundled bot.yaml (or source) with absolute paths, the shared index cache and telegram overrides."""
    source = source or default_config_path()
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    for section in ("corpus", "retrieval"):
        for key, value in raw[section].items():
            if key.endswith(("_file", "_dir")) and isinstance(value, str):
                raw[section][key] = str((source.parent / value).resolve())
    raw["retrieval"]["cache_dir"] = str(index_cache)
    raw["telegram"].update({"rate_limiter": False, "questions_per_minute": 1000, **telegram})
    path = folder / "bot.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


class BotProcess:
    """`python -m bot telegram` against the proxy, logging at DEBUG into a file."""

    def __init__(self, proxy: RepairingProxy, config: Path, db: Path, env: dict[str, str],
                 log_path: Path, token: str) -> None:
        self.proxy, self.config, self.db, self.env, self.log_path = proxy, config, db, env, log_path
        self.token = token
        self.cwd: Path | None = None   # where `python -m bot` starts: its bot/ comes first
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self, timeout: float = 60.0, ready_method: str = "getUpdates") -> "BotProcess":
        """Start the bot and wait until it polls, or sets its webhook (its profile is set by then)."""
        started = time.monotonic()
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "telegram", "--config", str(self.config), "--db", str(self.db),
                 "--log-level", "DEBUG", "--api-base-url", self.proxy.base_url],
                env={**self.env, "TELEGRAM_BOT_TOKEN": self.token}, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.cwd)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if self.proxy.arrived(ready_method, since=started):
                return self
            time.sleep(0.05)
        raise AssertionError(f"the bot did not start polling within {timeout:g} s:\n{self.log()[-3000:]}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the bot did not stop within {timeout:g} s of SIGTERM")
        if self.process is not None:
            self.returncode = self.process.returncode
        return self.returncode if self.returncode is not None else -1

    def log(self) -> str:
        """Everything the bot logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def user(self, chat_type: str = "private", **kwargs: object) -> User:
        """A new user in a new chat of this bot (a group chat id is negative, as in Telegram)."""
        chat_id = next(_chat_ids) if chat_type == "private" else next(_group_ids)
        return User(self.proxy.client_url, self.token, chat_id=chat_id, chat_type=chat_type, **kwargs)


def bot_env(home: Path) -> dict[str, str]:
    """The environment of a bot subprocess: HOME and XDG folders under home, no inherited secrets."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QUOTEBOT_DB", "TELEGRAM_BOT_TOKEN", "QUOTEBOT_WEBHOOK_SECRET")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    return env


def assert_token_not_logged(bot: BotProcess) -> None:
    """Neither the token nor its secret half may appear anywhere in the bot's output."""
    log = bot.log()
    assert log, "the bot logged nothing at DEBUG"
    assert bot.token not in log
    assert bot.token.split(":", 1)[1] not in log

"""Fixtures for the Telegram tests: the emulator, the repairing proxy, and the real bot as a subprocess."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from bot.config import default_config_path
from emulator_harness import Emulator, HarnessError, User, install_emulator
from repair_proxy import RepairingProxy

_chat_ids = itertools.count(70_001)
_group_ids = itertools.count(-1_000_000_001, -1)


def make_token() -> str:
    """A token of Telegram's shape, different for every bot run so the emulator's queues stay apart."""
    return f"{secrets.randbelow(10**9) + 10**9}:AA{secrets.token_urlsafe(24)[:33].replace('-', 'x')}"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """telegram-test-api@4.2.1 on a free port for the whole session (fails, never skips, without node)."""
    try:
        server = Emulator(install_emulator()).start()
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def index_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One retrieval index cache for every bot of the session (built once, then reused)."""
    return tmp_path_factory.mktemp("index-cache")


def write_config(folder: Path, index_cache: Path, **telegram: object) -> Path:
    """The bundled bot.yaml with absolute paths, the shared index cache and telegram overrides."""
    source = default_config_path()
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    for section, keys in {"corpus": ("seeds_dir", "sources_file"),
                          "retrieval": ("aliases_file", "userdict_file", "stopwords_file")}.items():
        for key in keys:
            raw[section][key] = str((source.parent / raw[section][key]).resolve())
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
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self, timeout: float = 60.0, ready_method: str = "getUpdates") -> "BotProcess":
        """Start the bot and wait until it polls, or sets its webhook (its command menu is set by then)."""
        started = time.monotonic()
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "telegram", "--config", str(self.config), "--db", str(self.db),
                 "--log-level", "DEBUG", "--api-base-url", self.proxy.base_url],
                env={**self.env, "TELEGRAM_BOT_TOKEN": self.token}, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            if any(c.started >= started for c in self.proxy.calls(ready_method)):
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
        return User(self.proxy.upstream, self.token, chat_id=chat_id, chat_type=chat_type, **kwargs)


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


@pytest.fixture
def start_bot(emulator: Emulator, index_cache: Path, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Start bots (each with its own proxy unless one is given); all are stopped, then checked, at the end."""
    bots: list[BotProcess] = []
    proxies: list[RepairingProxy] = []

    def start(proxy: RepairingProxy | None = None, db: Path | None = None, token: str | None = None,
              config: Path | None = None, wait_for: str = "getUpdates", **telegram: object) -> BotProcess:
        token = token or make_token()
        if proxy is None:
            proxy = RepairingProxy(emulator.url, token=token).start()
            proxies.append(proxy)
        folder = tmp_path / f"bot{len(bots)}"
        folder.mkdir()
        config = config or write_config(folder, index_cache, **telegram)
        bot = BotProcess(proxy, config, db or tmp_path / "history.sqlite3", bot_env(tmp_path / "home"),
                         folder / "bot.log", token)
        bots.append(bot)
        return bot.start(ready_method=wait_for)

    yield start
    for bot in bots:
        bot.stop()
    for proxy in proxies:
        proxy.stop()
    for bot in bots:
        assert_token_not_logged(bot)


@pytest.fixture
def new_proxy(emulator: Emulator) -> Iterator[Callable[[str], RepairingProxy]]:
    """Make proxies for a given token (for tests that set the proxy up before the bot starts)."""
    made: list[RepairingProxy] = []

    def make(token: str) -> RepairingProxy:
        made.append(RepairingProxy(emulator.url, token=token).start())
        return made[-1]
    yield make
    for proxy in made:
        proxy.stop()


@pytest.fixture(scope="module")
def shared_bot(emulator: Emulator, index_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One bot for the many tests that each use chats of their own (saves a start-up per test)."""
    folder = tmp_path_factory.mktemp("shared-bot")
    token = make_token()
    proxy = RepairingProxy(emulator.url, token=token).start()
    bot = BotProcess(proxy, write_config(folder, index_cache), folder / "history.sqlite3",
                     bot_env(folder / "home"), folder / "bot.log", token).start()
    yield bot
    code = bot.stop()
    proxy.stop()
    assert code == 0, bot.log()[-3000:]
    assert_token_not_logged(bot)

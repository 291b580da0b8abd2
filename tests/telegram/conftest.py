"""Fixtures for the Telegram tests: the emulator, the repairing proxy, and the real bot as a subprocess."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot_harness import BotProcess, assert_token_not_logged, bot_env, make_token, write_config
from emulator_harness import Emulator, HarnessError, install_emulator
from repair_proxy import RepairingProxy

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

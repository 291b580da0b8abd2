"""`quotebot check`: whether a set-up will run — config, articles, index, database, token, Telegram — one line each."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.corpus import Corpus, CorpusError, load_corpus
from bot.history import HistoryError, HistoryStore

OK, WARN, FAIL = "ok", "warn", "FAIL"
EXIT_OK, EXIT_FAILED = 0, 1
TITLES_LISTED = 5   # untitled or empty articles named on their line; the rest are counted


@dataclass(frozen=True)
class Item:
    """One line of the report."""
    status: str    # OK, WARN or FAIL
    name: str      # what was checked: config, library, index, ...
    detail: str    # one sentence

    def line(self) -> str:
        """The item as printed: status, name, detail."""
        return f"{self.status:<4} {self.name}: {self.detail}"


@dataclass(frozen=True)
class CheckOptions:
    """What to check: the command line's choices."""
    config_path: Path | None = None
    seeds_dir: Path | None = None
    db_path: Path | None = None
    api_base_url: str | None = None
    online: bool = False


def run_checks(options: CheckOptions, env: Mapping[str, str] | None = None) -> Iterator[Item]:
    """Check each part of the set-up in the order the bot starts them, yielding a line as each is done."""
    env = os.environ if env is None else env
    try:
        config = _load(options, env)
    except ConfigError as exc:
        yield Item(FAIL, "config", str(exc))
        return
    yield Item(OK, "config", f"{config.source} ({_config_summary(config)})")
    corpus = None
    try:
        corpus = load_corpus(config.corpus)
    except CorpusError as exc:
        yield Item(FAIL, "library", str(exc))
    if corpus is not None:
        yield from _library_items(corpus, config)
        yield from _index_items(corpus, config)
    yield _database_item(config)
    token = None
    for item, found in _token_items(config, env):
        token = token or found
        yield item
    if options.online and token:
        yield from asyncio.run(_online_items(config, token))


def exit_code(items: list[Item]) -> int:
    """1 when anything failed, else 0 (warnings do not stop the bot)."""
    return EXIT_FAILED if any(item.status == FAIL for item in items) else EXIT_OK


def _load(options: CheckOptions, env: Mapping[str, str]) -> Config:
    """The config with the command line's overrides, as `quotebot telegram` would build it."""
    config = load_config(options.config_path, env=env)
    if options.seeds_dir:
        config = config.with_overrides(corpus={"seeds_dir": options.seeds_dir})
    if options.db_path:
        config = config.with_overrides(history={"db_path": options.db_path})
    if options.api_base_url:
        config = config.with_overrides(telegram={"api_base_url": options.api_base_url})
    return config


def _config_summary(config: Config) -> str:
    """Mode, admins, metrics: the choices that change how the bot runs."""
    admins = len(config.telegram.admins)
    parts = [config.telegram.mode,
             f"{admins} admin{'s' if admins != 1 else ''}" if admins else "no admins: admin commands off"]
    metrics = config.telegram.metrics
    parts.append(f"metrics on http://{metrics.listen}:{metrics.port}/metrics" if metrics.enabled else "metrics off")
    return ", ".join(parts)


def _library_items(corpus: Corpus, config: Config) -> Iterator[Item]:
    """Counts, and the articles that lack a title or hold no passage."""
    yield Item(OK, "library", f"{len(corpus.sources)} articles, {len(corpus.passages)} passages "
                              f"in {config.corpus.seeds_dir}")
    untitled = [s.path.name for s in corpus.sources if s.title == s.id and s.passages]
    empty = [s.path.name for s in corpus.sources if not s.passages]
    if untitled:
        yield Item(WARN, "library", f"{_names(untitled)} without a title (shown under the file name): "
                                    "start the file with '# Title' or add it to the sources file")
    if empty:
        yield Item(WARN, "library", f"{_names(empty)} with no text to quote (empty files?)")


def _names(names: list[str]) -> str:
    """'2 articles (a.txt, b.md)', listing a few."""
    shown = ", ".join(names[:TITLES_LISTED]) + (", ..." if len(names) > TITLES_LISTED else "")
    return f"{len(names)} article{'s' if len(names) != 1 else ''} ({shown})"


def _index_items(corpus: Corpus, config: Config) -> Iterator[Item]:
    """Build the index, or load and verify the cached one; warnings the build logs become lines."""
    from bot.retrieval import Retriever   # imported here: it pulls in jieba
    from bot.text import AnalyzerError
    caught = _Collect()
    logging.getLogger("bot").addHandler(caught)
    started = time.perf_counter()
    try:
        retriever = Retriever(corpus, config.retrieval)
    except AnalyzerError as exc:
        yield Item(FAIL, "index", str(exc))
        return
    finally:
        logging.getLogger("bot").removeHandler(caught)
    seconds = time.perf_counter() - started
    cache_dir = config.retrieval.cache_dir
    if retriever.cache_hit:
        yield Item(OK, "index", f"{len(corpus.passages)} passages, loaded from the cache in {cache_dir} "
                                f"and verified ({seconds:.1f} s)")
    elif cache_dir is not None and os.access(cache_dir, os.W_OK):
        yield Item(OK, "index", f"{len(corpus.passages)} passages, built in {seconds:.1f} s and cached in "
                                f"{cache_dir} (the bot's start will load it)")
    else:
        yield Item(WARN, "index", f"built in {seconds:.1f} s, but {cache_dir} is not writable: "
                                  "every start will build it again")
    for message in caught.messages:
        yield Item(WARN, "index", message)


class _Collect(logging.Handler):
    """Keeps the warnings logged while the index is built."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _database_item(config: Config) -> Item:
    """Open (creating or migrating) the history database, as the bot's start does."""
    async def probe() -> tuple[int, int]:
        async with await HistoryStore.open(config.history.db_path, config.history.max_turns_per_chat) as store:
            [(turns,)] = await store.read("SELECT COUNT(*) FROM turns")
            [(version,)] = await store.read("PRAGMA user_version")
        return turns, version
    try:
        turns, version = asyncio.run(probe())
    except HistoryError as exc:
        return Item(FAIL, "database", str(exc))
    history = config.history
    age = f"at most {history.max_age_days} days" if history.max_age_days else "no age limit"
    return Item(OK, "database", f"{history.db_path}, schema version {version}, {turns} turns stored "
                                f"(keeps {history.max_turns_per_chat} per chat, {age})")


def _token_items(config: Config, env: Mapping[str, str]) -> Iterator[tuple[Item, str | None]]:
    """The token (present, well-formed, where from) and, for webhook mode, its URL and secret."""
    from bot.telegram.app import TokenError, locate_token   # imported here: it pulls in telegram
    try:
        token, where = locate_token(config, env)
    except TokenError as exc:
        yield Item(FAIL, "token", str(exc)), None
        return
    yield Item(OK, "token", f"well-formed, from {where}"), token
    if config.telegram.mode == "webhook":
        yield _webhook_item(config, env), None


def _webhook_item(config: Config, env: Mapping[str, str]) -> Item:
    """Webhook mode needs a public https URL; a secret token is made up at each start if none is set."""
    from bot.config import ENV_WEBHOOK_SECRET
    from bot.telegram.app import CREDENTIAL_WEBHOOK_SECRET, ENV_CREDENTIALS
    hook = config.telegram.webhook
    if not hook.url or not hook.url.startswith("https://"):
        return Item(FAIL, "webhook", f"telegram.webhook.url must be the public https URL Telegram posts to, "
                                     f"got {hook.url!r}")
    credentials = Path(env.get(ENV_CREDENTIALS) or "/nonexistent") / CREDENTIAL_WEBHOOK_SECRET
    if env.get(ENV_WEBHOOK_SECRET) or hook.secret_token_file or credentials.is_file():
        return Item(OK, "webhook", f"{hook.url}, listening on {hook.listen}:{hook.port}, secret token set")
    return Item(WARN, "webhook", f"{hook.url}: no secret token set, so a random one is made at each start "
                                 f"(a reverse proxy cannot check it): set {ENV_WEBHOOK_SECRET} or "
                                 "telegram.webhook.secret_token_file")


async def _online_items(config: Config, token: str) -> list[Item]:
    """getMe: the bot's username, and whether inline mode and group privacy are as the README advises."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError
    try:
        async with Bot(token, base_url=config.telegram.api_base_url) as bot:
            me = await bot.get_me()
            hook = await bot.get_webhook_info() if config.telegram.mode == "webhook" else None
    except InvalidToken:
        return [Item(FAIL, "telegram", "getMe: Telegram rejected the token (revoked, or mistyped?)")]
    except NetworkError as exc:
        return [Item(FAIL, "telegram", f"getMe: cannot reach the Bot API at {config.telegram.api_base_url} "
                                       f"({exc.__class__.__name__})")]
    except TelegramError as exc:
        return [Item(FAIL, "telegram", f"getMe failed: {exc.message}")]
    items = [Item(OK, "telegram", f"@{me.username} (id {me.id}), reached through getMe")]
    if me.supports_inline_queries:
        items.append(Item(OK, "telegram", "inline mode on"))
    else:
        items.append(Item(WARN, "telegram", "inline mode off: send /setinline to @BotFather to allow @bot queries"))
    if me.can_read_all_group_messages:
        items.append(Item(WARN, "telegram", "group privacy off: the bot receives every group message; "
                                            "send /setprivacy to @BotFather and enable it"))
    else:
        items.append(Item(OK, "telegram", "group privacy on (groups send it commands and mentions only)"))
    if hook is not None:
        items.append(_webhook_status(hook, config.telegram.webhook.url))
    return items


def _webhook_status(hook, url: str | None) -> Item:
    """What Telegram says of the webhook: where it points, what waits, the last delivery error."""
    if not hook.url:
        return Item(OK, "telegram", f"no webhook set yet: the bot sets {url} when it starts")
    waiting = f"{hook.pending_update_count} updates waiting"
    if hook.last_error_message:
        return Item(WARN, "telegram", f"webhook {hook.url}, {waiting}, last delivery error: {hook.last_error_message}")
    if hook.url != url:
        return Item(WARN, "telegram", f"webhook set to {hook.url}, not {url}: the bot's start will change it")
    return Item(OK, "telegram", f"webhook {hook.url}, {waiting}, no delivery error")

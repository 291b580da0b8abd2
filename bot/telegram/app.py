"""Wire and run the Telegram application: token, logging, the one factory, polling or webhook."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import secrets
import sys
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor,
                          CallbackQueryHandler, InlineQueryHandler, MessageHandler, filters)

from bot.config import ENV_TOKEN, ENV_WEBHOOK_SECRET, Config
from bot.history import open_history
from bot.library import Library
from bot.messages import say
from bot.metrics import MetricsError
from bot.telegram import admin, handlers, monitor
from bot.telegram.render import CONTEXT_HASH_PREFIX, CONTEXT_PREFIX, EXAMPLE_PREFIX, MORE_PREFIX
from bot.telegram.throttle import Throttle

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
# Telegram tokens are "<bot id>:<35 characters>"; checked before anything is sent with one.
TOKEN_FORMAT = re.compile(r"^[0-9]{3,20}:[A-Za-z0-9_-]{30,64}$")
# systemd passes secrets as files in $CREDENTIALS_DIRECTORY (LoadCredential= in deploy/quotebot.service).
ENV_CREDENTIALS = "CREDENTIALS_DIRECTORY"
CREDENTIAL_TOKEN = "telegram-token"
CREDENTIAL_WEBHOOK_SECRET = "webhook-secret"
MENU_COMMANDS = ("start", "help", "quote", "more", "sources", "history", "forget")
MAX_CONCURRENT_UPDATES = 64
# Loggers that print request URLs, which carry the token: quiet unless something goes wrong.
NOISY_LOGGERS = ("httpx", "httpcore")


class TokenError(Exception):
    """The bot token is missing, unreadable or malformed; the message is one sentence for the user."""


# --- token and logging --------------------------------------------------------------------------

def read_token(config: Config, env: Mapping[str, str] | None = None) -> str:
    """The bot token from TELEGRAM_BOT_TOKEN, the config's token_file or a systemd credential."""
    return locate_token(config, env)[0]


def locate_token(config: Config, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(token, where it came from), checked for its shape; TokenError says what is wrong."""
    env = os.environ if env is None else env
    token, where = (env.get(ENV_TOKEN) or "").strip(), ENV_TOKEN
    if not token and config.telegram.token_file is not None:
        token, where = _read_secret_file(config.telegram.token_file), str(config.telegram.token_file)
    if not token:
        token, where = _read_credential(env, CREDENTIAL_TOKEN)
    if not token:
        raise TokenError(say("tg_no_token", "en"))
    if not TOKEN_FORMAT.match(token):
        raise TokenError(say("tg_bad_token", "en"))
    return token, where


def _read_credential(env: Mapping[str, str], name: str) -> tuple[str, str]:
    """A systemd credential (LoadCredential=name:...) from $CREDENTIALS_DIRECTORY, or ("", "")."""
    folder = env.get(ENV_CREDENTIALS)
    if not folder or not (Path(folder) / name).is_file():
        return "", ""
    path = Path(folder) / name
    return _read_secret_file(path), str(path)


def _read_secret_file(path: Path) -> str:
    """The stripped contents of a token or secret file."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise TokenError(say("tg_token_file_unreadable", "en", path=path)) from None


class TokenRedactor(logging.Filter):
    """Replaces the token in every record a handler emits, message and traceback alike."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._secrets = sorted({token, quote(token, safe=""), token.split(":", 1)[-1]}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """text with every form of the token replaced by a marker."""
        for secret in self._secrets:
            text = text.replace(secret, "<TOKEN>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str | int | None, token: str) -> None:
    """Log to stderr at level, the token redacted on every root handler, noisy HTTP loggers quiet."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level or logging.INFO)
    redactor = TokenRedactor(token)
    for handler in root.handlers:
        handler.addFilter(redactor)
    logging.captureWarnings(True)  # PTB's warnings then pass the redactor too
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# --- the application ----------------------------------------------------------------------------

class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat run in order.

    A follow-up must not overtake the question it follows, but one slow chat must not hold
    up the others.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: collections.Counter = collections.Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _order_key(update: object) -> object:
    """The chat an update belongs to (inline queries: their user), for ordering."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("other", id(update))


def build_application(config: Config, token: str, api_base_url: str | None = None) -> Application:
    """The one place the Telegram application is wired: services, handlers, life cycle."""
    base_url = api_base_url or config.telegram.api_base_url
    watched = monitor.new_monitor(config)
    request, get_updates_request = monitor.observed_requests(watched)
    builder = (ApplicationBuilder().token(token)
               .base_url(base_url).base_file_url(file_url(base_url))
               .request(request).get_updates_request(get_updates_request)
               .concurrent_updates(ChatOrderedProcessor(MAX_CONCURRENT_UPDATES))
               .post_init(post_init).post_shutdown(post_shutdown))
    if config.telegram.rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter())
    application = builder.build()
    application.bot_data["config"] = config
    application.bot_data[monitor.MONITOR] = watched
    admin.register(application, config)   # first: an admin's /stats must not reach the engine
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new = filters.UpdateType.MESSAGE  # an edited message is not asked again
    application.add_handler(MessageHandler(private & new & filters.TEXT, handlers.on_private_text))
    application.add_handler(MessageHandler(private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL,
                                           handlers.on_private_non_text))
    application.add_handler(MessageHandler(groups & new & filters.COMMAND, handlers.on_group_command))
    application.add_handler(MessageHandler(groups & new & filters.TEXT & filters.Entity("mention"),
                                           handlers.on_group_mention))
    application.add_handler(CallbackQueryHandler(handlers.on_more_button, pattern=f"^{MORE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(handlers.on_context_button,
                                                 pattern=f"^({CONTEXT_PREFIX}|{CONTEXT_HASH_PREFIX})"))
    application.add_handler(CallbackQueryHandler(handlers.on_example_button, pattern=f"^{EXAMPLE_PREFIX}"))
    application.add_handler(InlineQueryHandler(handlers.on_inline_query))
    application.add_error_handler(handlers.on_error)
    return application


async def post_init(application: Application) -> None:
    """Load the articles, build the index, open the history, then register the command menu."""
    config: Config = application.bot_data["config"]
    history = await open_history(config.history)
    try:
        library = await Library.open(config, history, bot_username=application.bot.username)
    except BaseException:
        await history.close()
        raise
    application.bot_data[handlers.SERVICES] = handlers.Services(
        library=library, history=history, throttle=Throttle(config.telegram.questions_per_minute))
    await monitor.start_monitoring(application, library, history)
    await set_command_menu(application)
    corpus = library.edition.corpus
    log.info("ready as @%s with %d passages from %d articles", application.bot.username,
             len(corpus.passages), len(corpus.sources))


async def post_shutdown(application: Application) -> None:
    """Close the history database (after in-flight answers have finished)."""
    await monitor.stop_monitoring(application)
    services = application.bot_data.get(handlers.SERVICES)
    if services is not None:
        await services.history.close()
        log.info("history database closed")


async def set_command_menu(application: Application) -> None:
    """Register the command menu in Chinese (default) and English; a failure is logged, not fatal."""
    for language in ("zh", "en"):
        commands = [BotCommand(name, say(f"tg_cmd_{name}", language)) for name in MENU_COMMANDS]
        try:
            await application.bot.set_my_commands(commands, scope=BotCommandScopeDefault(),
                                                   language_code=None if language == "zh" else language)
        except TelegramError as exc:
            log.warning("could not register the %s command menu: %s", language, exc)
    await admin.advertise(application, application.bot_data["config"],
                          [BotCommand(name, say(f"tg_cmd_{name}", "zh")) for name in MENU_COMMANDS])


# --- running ------------------------------------------------------------------------------------

def run_telegram(config: Config, api_base_url: str | None = None, log_level: str | None = None) -> int:
    """Run the bot until SIGINT/SIGTERM; returns the exit code (2 with one sentence on bad set-up)."""
    try:
        token = read_token(config)
    except TokenError as exc:
        print(f"quotebot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(log_level, token)
    base_url = api_base_url or config.telegram.api_base_url
    application = build_application(config, token, base_url)
    try:
        if config.telegram.mode == "webhook":
            _run_webhook(application, config)
        else:
            application.run_polling(poll_interval=config.telegram.poll_interval,
                                    allowed_updates=Update.ALL_TYPES, close_loop=False)
    except TokenError as exc:
        print(f"quotebot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidToken:
        print(f"quotebot: {say('tg_token_rejected', 'en')}", file=sys.stderr)
        return EXIT_USAGE
    except NetworkError:
        print(f"quotebot: {say('tg_unreachable', 'en', url=base_url)}", file=sys.stderr)
        return EXIT_USAGE
    except MetricsError as exc:
        print(f"quotebot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def file_url(base_url: str) -> str:
    """The Bot API's file download URL beside its method URL (".../bot" -> ".../file/bot")."""
    if base_url.rstrip("/").endswith("/bot"):
        return base_url.rstrip("/")[:-len("/bot")] + "/file/bot"
    return "https://api.telegram.org/file/bot"


def _run_webhook(application: Application, config: Config) -> None:
    """Serve Telegram's webhook calls; the secret token is checked on every request."""
    hook = config.telegram.webhook
    if not hook.url:
        raise TokenError(say("tg_webhook_no_url", "en"))
    secret = os.environ.get(ENV_WEBHOOK_SECRET, "").strip()
    if not secret and hook.secret_token_file is not None:
        secret = _read_secret_file(hook.secret_token_file)
    if not secret:
        secret = _read_credential(os.environ, CREDENTIAL_WEBHOOK_SECRET)[0]
    # Telegram sends the secret back on each call; without a configured one, any random one works.
    secret = secret or secrets.token_urlsafe(32)
    application.run_webhook(listen=hook.listen, port=hook.port, url_path=urlsplit(hook.url).path.lstrip("/"),
                            webhook_url=hook.url, secret_token=secret, allowed_updates=Update.ALL_TYPES,
                            close_loop=False)

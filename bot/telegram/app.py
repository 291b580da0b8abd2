"""Wire and run the Telegram application: token, logging, the one factory, polling or webhook."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit

from telegram import (BotCommand, BotCommandScope, BotCommandScopeAllChatAdministrators,
                      BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats, BotCommandScopeDefault, Update)
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, InlineQueryHandler, MessageHandler, filters

from bot.config import ENV_TOKEN, ENV_WEBHOOK_SECRET, Config
from bot.history import open_history
from bot.library import Library
from bot.messages import say
from bot.metrics import MetricsError
from bot.telegram import admin, handlers, monitor
from bot.telegram.delivery import Connectivity, Delivery, FailureLog, WatchedRequest, describe, is_transient
from bot.telegram.inbox import Inbox, InboxQueue, UpdateProcessor
from bot.telegram.pacing import ChatPacer, GroupBacklog
from bot.telegram.render import (CONTEXT_HASH_PREFIX, CONTEXT_PREFIX, DIGEST_HASH_PREFIX, DIGEST_PREFIX,
                                 EXAMPLE_PREFIX, MORE_PREFIX, SOURCES_PREFIX)
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
# The command menu per scope: groups get what makes sense there, their admins /forget too.
PRIVATE_MENU = ("start", "help", "quote", "more", "sources", "history", "forget")
MENUS: tuple[tuple[BotCommandScope, tuple[str, ...]], ...] = (
    (BotCommandScopeDefault(), PRIVATE_MENU),
    (BotCommandScopeAllPrivateChats(), PRIVATE_MENU),
    (BotCommandScopeAllGroupChats(), ("quote", "more", "sources", "help")),
    (BotCommandScopeAllChatAdministrators(), ("quote", "more", "sources", "history", "forget", "help")),
)
# The profile's languages: Chinese for everyone (no language_code), English for English clients.
PROFILE_LANGUAGES = (("zh", None), ("en", "en"))
MAX_CONCURRENT_UPDATES = 64
# Loggers that print request URLs, which carry the token: quiet unless something goes wrong.
NOISY_LOGGERS = ("httpx", "httpcore")
# PTB's limiter logs every 429 retry at INFO; Connectivity logs a flood wait's start and end instead.
QUIET_LOGGERS = ("telegram.ext.AIORateLimiter",)


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
    for name in NOISY_LOGGERS + QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# --- the application ----------------------------------------------------------------------------


# --- the application ----------------------------------------------------------------------------

def build_application(config: Config, token: str, api_base_url: str | None = None) -> Application:
    """The one place the Telegram application is wired: transport, pacing, inbox, handlers, life cycle."""
    connectivity = Connectivity()
    stopping = asyncio.Event()
    telegram = config.telegram
    base_url = api_base_url or telegram.api_base_url
    watched = monitor.new_monitor(config)
    pacer = ChatPacer(telegram.limits, telegram.delivery.flood_retries) if telegram.rate_limiter else None
    builder = (ApplicationBuilder().token(token)
               .base_url(base_url).base_file_url(file_url(base_url))
               .request(WatchedRequest(connectivity, watched, connection_pool_size=monitor.POOL_SIZE))
               .get_updates_request(WatchedRequest(connectivity, watched, patient=stopping,
                                                   connection_pool_size=monitor.POLL_POOL_SIZE))
               .update_queue(InboxQueue())
               .concurrent_updates(UpdateProcessor(MAX_CONCURRENT_UPDATES))
               .post_init(post_init).post_shutdown(post_shutdown))
    if pacer is not None:
        builder = builder.rate_limiter(pacer)
    application = builder.build()
    application.bot_data.update(config=config, connectivity=connectivity, pacer=pacer, stopping=stopping)
    application.bot_data[monitor.MONITOR] = watched
    admin.register(application, config)   # first: an admin's /stats must not reach the engine
    add_handlers(application)
    return application


def add_handlers(application: Application) -> None:
    """Register every handler, in the order they are tried."""
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    new, edited = filters.UpdateType.MESSAGE, filters.UpdateType.EDITED_MESSAGE
    words = filters.TEXT | filters.CAPTION  # a photo's caption is read as a question too
    group_command = filters.COMMAND | filters.CaptionRegex(r"^/")
    group_mention = filters.Entity("mention") | filters.CaptionEntity("mention")
    application.add_handler(MessageHandler(private & new & words, handlers.on_private_text))
    application.add_handler(MessageHandler(private & new & ~words & ~filters.StatusUpdate.ALL,
                                           handlers.on_private_non_text))
    application.add_handler(MessageHandler(groups & new & group_command, handlers.on_group_command))
    application.add_handler(MessageHandler(groups & new & words & group_mention, handlers.on_group_mention))
    application.add_handler(MessageHandler(edited & words & (private | groups), handlers.on_edited_message))
    application.add_handler(CallbackQueryHandler(handlers.on_more_button, pattern=f"^{MORE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(handlers.on_context_button,
                                                 pattern=f"^({CONTEXT_PREFIX}|{CONTEXT_HASH_PREFIX})"))
    application.add_handler(CallbackQueryHandler(handlers.on_example_button, pattern=f"^{EXAMPLE_PREFIX}"))
    application.add_handler(CallbackQueryHandler(handlers.on_digest_button,
                                                 pattern=f"^({DIGEST_PREFIX}|{DIGEST_HASH_PREFIX})"))
    application.add_handler(CallbackQueryHandler(handlers.on_sources_page_button, pattern=f"^{SOURCES_PREFIX}"))
    application.add_handler(CallbackQueryHandler(handlers.on_unknown_button))  # every other press
    application.add_handler(InlineQueryHandler(handlers.on_inline_query))
    application.add_error_handler(handlers.on_error)


async def post_init(application: Application) -> None:
    """Load the articles, build the index, open the history and the inbox, set the profile, queue leftovers."""
    config: Config = application.bot_data["config"]
    history = await open_history(config.history)
    try:
        library = await Library.open(config, history, bot_username=application.bot.username)
    except BaseException:
        await history.close()
        raise
    delivery_config = config.telegram.delivery
    watched = application.bot_data[monitor.MONITOR]
    inbox = Inbox(history, delivery_config.max_age_seconds, on_backlog=watched.metrics.inbox_backlog.set)
    pacer = application.bot_data["pacer"]
    application.bot_data[handlers.SERVICES] = handlers.Services(
        library=library, history=history, throttle=Throttle(config.telegram.questions_per_minute), inbox=inbox,
        delivery=Delivery(delivery_config, application.bot_data["connectivity"], application.bot_data["stopping"]),
        backlog=GroupBacklog(pacer, config.telegram.limits), failures=FailureLog(logging.getLogger(handlers.__name__)),
        edit_window=delivery_config.edit_window_seconds, rate_limited=pacer is not None)
    application.update_queue.inbox = inbox
    application.update_processor.inbox = inbox
    application.update_processor.stopping = application.bot_data["stopping"]
    await monitor.start_monitoring(application, library, history)
    await set_profile(application)
    for update in await inbox.pending(application.bot):
        await application.update_queue.put(update)
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


async def set_profile(application: Application) -> None:
    """Descriptions and command menus per scope, in Chinese (default) and English; failures are logged."""
    bot = application.bot
    for lang, code in PROFILE_LANGUAGES:
        calls = [("description", bot.set_my_description(say("tg_description", lang), language_code=code)),
                 ("short description", bot.set_my_short_description(say("tg_short_description", lang),
                                                                    language_code=code))]
        for scope, names in MENUS:
            commands = [BotCommand(name, say(f"tg_cmd_{name}", lang)) for name in names]
            calls.append((f"{scope.type} command menu", bot.set_my_commands(commands, scope=scope, language_code=code)))
        for what, call in calls:
            try:
                await call
            except TelegramError as exc:
                log.warning("could not register the %s %s: %s", lang, what, describe(exc))
    await admin.advertise(application, application.bot_data["config"],
                          [BotCommand(name, say(f"tg_cmd_{name}", "zh")) for name in PRIVATE_MENU])


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
        asyncio.run(serve(application, config))
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


async def serve(application: Application, config: Config) -> None:
    """Start, receive updates until SIGINT/SIGTERM, then stop: in-flight replies finish, the rest wait.

    On a stop signal, updates not started yet stay pending in the inbox (answered after the
    restart) and retries give up at once; what is being sent when it comes is sent.
    """
    stopping: asyncio.Event = application.bot_data["stopping"]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await application.initialize()  # getMe: an unusable token or an unreachable API stops here
    try:
        await application.post_init(application)
        if config.telegram.mode == "webhook":
            await _start_webhook(application, config)
        else:
            await application.updater.start_polling(poll_interval=config.telegram.poll_interval,
                                                    allowed_updates=Update.ALL_TYPES, error_callback=_poll_failed)
        await application.start()
        await stopping.wait()
        log.info("stopping: replies in progress finish, the others are answered after the restart")
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


def _poll_failed(exc: TelegramError) -> None:
    """A failed getUpdates: network trouble is Connectivity's to log; anything else is logged here."""
    if not is_transient(exc):
        log.error("polling for updates failed: %s", describe(exc))


async def _start_webhook(application: Application, config: Config) -> None:
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
    await application.updater.start_webhook(listen=hook.listen, port=hook.port,
                                            url_path=urlsplit(hook.url).path.lstrip("/"), webhook_url=hook.url,
                                            secret_token=secret, allowed_updates=Update.ALL_TYPES)

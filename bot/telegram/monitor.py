"""What the Telegram side tells the operator: question outcomes, Bot API errors, health, and the metrics server's life."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ContextTypes
from telegram.request import HTTPXRequest

from bot.config import Config
from bot.conversation import Reply
from bot.history import HistoryStore, keep_expiring
from bot.library import Library
from bot.metrics import Health, Metrics, MetricsServer, api_error_kind
from bot.stats import record_reply

log = logging.getLogger(__name__)

MONITOR = "monitor"
# run_polling's getUpdates timeout (python-telegram-bot's default): a healthy connection answers
# at least this often.
POLL_TIMEOUT = 10.0
# Silence beyond a poll timeout before /healthz says 503: room for python-telegram-bot's retry
# back-off after a passing network error (it waits up to 30 s between tries).
HEALTH_GRACE = 30.0
WEBHOOK_CHECK_INTERVAL = 60.0   # getWebhookInfo this often in webhook mode
# Calls whose success shows the connection works: each poll, and setting the webhook (after which
# _watch_webhook keeps looking).
_HEALTH_SIGNS = ("/getUpdates", "/setWebhook")
# python-telegram-bot's own pool sizes (ApplicationBuilder): many concurrent sends, one poller.
POOL_SIZE, POLL_POOL_SIZE = 256, 1


@dataclass
class Monitor:
    """The metrics, the health signs and the background tasks of one running bot."""
    metrics: Metrics
    health: Health
    history: HistoryStore | None = None   # where question outcomes are logged, once started
    server: MetricsServer | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)


def monitor(context: ContextTypes.DEFAULT_TYPE) -> Monitor:
    """The application's monitor."""
    return context.application.bot_data[MONITOR]


def new_monitor(config: Config) -> Monitor:
    """Metrics and health for a bot in this config's mode (nothing is served until start_monitoring)."""
    silence = (2 * WEBHOOK_CHECK_INTERVAL if config.telegram.mode == "webhook" else POLL_TIMEOUT) + HEALTH_GRACE
    return Monitor(Metrics(), Health(silence))


class ObservedRequest(HTTPXRequest):
    """python-telegram-bot's HTTP transport, counting failed calls by kind and noting each good poll."""

    def __init__(self, watched: Monitor, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._monitor = watched

    async def do_request(self, url: str, method: str, *args: object, **kwargs: object) -> tuple[int, bytes]:
        """Send one Bot API request; a network failure or an HTTP error is counted, then passed on."""
        try:
            status, payload = await super().do_request(url, method, *args, **kwargs)
        except NetworkError:
            self._monitor.metrics.api_error(api_error_kind(None))
            raise
        if status >= 400:
            self._monitor.metrics.api_error(api_error_kind(status))
        elif url.endswith(_HEALTH_SIGNS):
            self._monitor.health.sign()
        return status, payload


def observed_requests(watched: Monitor) -> tuple[ObservedRequest, ObservedRequest]:
    """(request, get_updates_request) for ApplicationBuilder, with its default pool sizes."""
    return (ObservedRequest(watched, connection_pool_size=POOL_SIZE),
            ObservedRequest(watched, connection_pool_size=POLL_POOL_SIZE))


# --- questions ----------------------------------------------------------------------------------

async def observe_reply(context: ContextTypes.DEFAULT_TYPE, update: Update, reply: Reply, seconds: float) -> None:
    """After a reply was sent: log its question's outcome (for /stats) and count it (for /metrics)."""
    watched = monitor(context)
    outcome = await record_reply(watched.history, update.effective_chat.id, update.effective_user.id, reply, seconds)
    if outcome is not None:
        watched.metrics.question(outcome, seconds)


async def observe_throttled(context: ContextTypes.DEFAULT_TYPE, update: Update) -> None:
    """A message refused by the per-user limit."""
    watched = monitor(context)
    await watched.history.record_question(update.effective_chat.id, update.effective_user.id, "throttled")
    watched.metrics.question("throttled", None)


# --- life cycle ---------------------------------------------------------------------------------

async def start_monitoring(application: Application, library: Library, history: HistoryStore) -> None:
    """Serve metrics if configured, keep the history's age limit daily, watch a webhook's health."""
    config: Config = application.bot_data["config"]
    watched: Monitor = application.bot_data[MONITOR]
    watched.history = history
    edition = library.edition
    watched.metrics.library(len(edition.corpus.sources), len(edition.corpus.passages))
    settings = config.telegram.metrics
    if settings.enabled:
        watched.server = MetricsServer(watched.metrics, watched.health, settings.listen, settings.port).start()
    if config.history.max_age_days is not None:
        watched.tasks.append(asyncio.create_task(keep_expiring(history, config.history.max_age_days)))
    if config.telegram.mode == "webhook":
        watched.tasks.append(asyncio.create_task(_watch_webhook(application, watched.health)))


async def stop_monitoring(application: Application) -> None:
    """Stop the background tasks and the metrics server (before the history closes)."""
    watched: Monitor | None = application.bot_data.get(MONITOR)
    if watched is None:
        return
    watched.health.lost()
    for task in watched.tasks:
        task.cancel()
    await asyncio.gather(*watched.tasks, return_exceptions=True)
    watched.tasks.clear()
    if watched.server is not None:
        watched.server.stop()
        watched.server = None


async def _watch_webhook(application: Application, health: Health) -> None:
    """Webhook mode: healthy while Telegram reports our webhook set and no delivery error since the last look."""
    last_look = time.time()   # delivery errors from before this start are not ours to report
    while True:
        await asyncio.sleep(WEBHOOK_CHECK_INTERVAL)   # setWebhook, once it succeeds, is the first sign
        try:
            info = await application.bot.get_webhook_info()
        except TelegramError as exc:
            log.warning("webhook health check failed: %s", exc.__class__.__name__)
            health.lost()
        else:
            error_at = info.last_error_date.timestamp() if info.last_error_date else 0.0
            if info.url and error_at <= last_look:
                health.sign()
            else:
                log.warning("webhook unhealthy: url %r, last error %r", info.url, info.last_error_message)
                health.lost()
            last_look = time.time()

"""The bot's Prometheus metrics and health, and the small HTTP server that shows them (/metrics, /healthz)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from bot.history import OUTCOMES

log = logging.getLogger(__name__)

# Kinds of failed Bot API calls, by HTTP status (Telegram's error_code); see api_error_kind().
API_ERROR_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   409: "conflict", 429: "too_many_requests"}
RELOAD_RESULTS = ("ok", "failed")


class MetricsError(Exception):
    """The metrics endpoint cannot listen on its address (e.g. the port is taken)."""


class Metrics:
    """Every metric the bot exports, in a registry of its own (nothing global, nothing at import)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter("quotebot_questions", "Questions, by how they ended.", ["outcome"], registry=r)
        # prometheus-client's default buckets (5 ms to 10 s) hold our replies: about 12 ms against
        # the local emulator (bench/bench_telegram.py), a few hundred ms over the Internet.
        self.reply_seconds = Histogram("quotebot_reply_seconds",
                                       "Seconds from the bot taking up a question to Telegram accepting its reply.", registry=r)
        self.api_errors = Counter("quotebot_telegram_api_errors",
                                  "Failed Bot API calls, by kind (HTTP status, or network).", ["kind"], registry=r)
        self.rate_limited = Counter("quotebot_telegram_rate_limited",
                                    "Bot API calls Telegram answered 429 Too Many Requests (retry_after).",
                                    registry=r)
        self.inbox_backlog = Gauge("quotebot_inbox_backlog", "Updates received and not yet handled.", registry=r)
        self.index_passages = Gauge("quotebot_index_passages", "Passages in the index in force.", registry=r)
        self.index_articles = Gauge("quotebot_index_articles", "Articles in the library in force.", registry=r)
        self.reloads = Counter("quotebot_library_reloads", "Library reloads, by result.", ["result"], registry=r)
        # Every labelled series exists from the start, at zero, so a rate() has a baseline.
        for outcome in OUTCOMES:
            self.questions.labels(outcome)
        for result in RELOAD_RESULTS:
            self.reloads.labels(result)

    def question(self, outcome: str, seconds: float | None) -> None:
        """Count one question; answered and unanswered ones also time their reply."""
        self.questions.labels(outcome).inc()
        if seconds is not None:
            self.reply_seconds.observe(seconds)

    def api_error(self, kind: str) -> None:
        """Count one failed Bot API call (429s also count as rate limited)."""
        self.api_errors.labels(kind).inc()
        if kind == "too_many_requests":
            self.rate_limited.inc()

    def library(self, articles: int, passages: int) -> None:
        """Record the size of the library in force."""
        self.index_articles.set(articles)
        self.index_passages.set(passages)


def api_error_kind(status: int | None) -> str:
    """The kind of a failed Bot API call from its HTTP status; None means it never got an answer."""
    if status is None:
        return "network"
    if status >= 500:
        return "server_error"
    return API_ERROR_KINDS.get(status, "other")


class Health:
    """Healthy while the last sign of a working Telegram connection is recent enough.

    Polling: each successful getUpdates is a sign (one ends at least every poll timeout); webhook:
    each successful check of the webhook's status. max_silence is how long the signs may stop.
    """

    def __init__(self, max_silence: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_silence = max_silence
        self._clock = clock
        self._last_sign: float | None = None

    def sign(self) -> None:
        """The connection works right now."""
        self._last_sign = self._clock()

    def lost(self) -> None:
        """The connection is known to be down (or stopping)."""
        self._last_sign = None

    def healthy(self) -> bool:
        """Whether a sign came within max_silence seconds."""
        return self._last_sign is not None and self._clock() - self._last_sign <= self.max_silence


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: scrapes every few seconds would drown the bot's own log."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class MetricsServer:
    """/metrics (Prometheus text format) and /healthz (200 or 503) on a thread of their own.

    A thread, not the bot's event loop: a stuck loop stops the signs of health, and /healthz,
    still answering, says 503 instead of hanging.
    """

    def __init__(self, metrics: Metrics, health: Health, listen: str, port: int) -> None:
        self._metrics_app = make_wsgi_app(metrics.registry)
        self._health = health
        try:
            self._server: WSGIServer = make_server(listen, port, self._app, handler_class=_QuietHandler)
        except OSError as exc:
            raise MetricsError(f"cannot serve metrics on {listen}:{port} ({exc.strerror or exc})") from None
        self.address = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def url(self) -> str:
        """The base URL it serves on."""
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> "MetricsServer":
        """Serve until stop()."""
        self._thread.start()
        log.info("metrics on %s/metrics, health on %s/healthz", self.url, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread.is_alive():   # shutdown() waits for serve_forever, which must be running
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def _app(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """The WSGI application: two paths, everything else 404."""
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return self._metrics_app(environ, start_response)
        if path == "/healthz":
            ok = self._health.healthy()
            body = b"ok\n" if ok else b"unavailable\n"
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics or /healthz\n"]

"""Getting replies through: retries with backoff, outage and flood logging, readable failure logs.

Three layers share the work. AIORateLimiter (behind pacing.ChatPacer) honours a 429's retry_after
with its own retries. `Delivery.call` retries what is worth retrying (network errors, timeouts,
5xx, a 429 the limiter gave up on) with exponential backoff and jitter, until the question is too
old (telegram.delivery.max_age_seconds) or the bot is stopping, when the update is left pending
in the inbox for the next run. `WatchedRequest` sees every HTTP exchange with the Bot API, polls
included, so `Connectivity` logs one line when an outage or a flood wait starts and one when it
ends, and wakes the waiting retries as soon as Telegram answers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from bot.config import DeliveryConfig
from bot.telegram.monitor import Monitor, ObservedRequest

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often the poller tries again while the Bot API is unreachable (sooner if a send gets through).
POLL_RETRY_SECONDS = 1.0
# A flood wait is over once no 429 came for this long (Telegram's retry_after values are seconds
# to minutes; a shorter quiet spell is the same episode).
FLOOD_QUIET_SECONDS = 5.0


class Abandoned(Exception):
    """The bot is stopping while Telegram is unreachable: the update stays pending for the next run."""


class Expired(Exception):
    """The question grew older than telegram.delivery.max_age_seconds while Telegram was unreachable."""


def is_transient(exc: BaseException) -> bool:
    """Whether a failed Bot API call may succeed if tried again (BadRequest is a NetworkError in PTB)."""
    return isinstance(exc, (RetryAfter, TimedOut)) or (isinstance(exc, NetworkError)
                                                        and not isinstance(exc, BadRequest))


def retry_after_seconds(exc: RetryAfter) -> float:
    """A 429's retry_after in seconds (read as PTB's own limiter does: the public attribute's type
    is changing from int to timedelta and warns on every read)."""
    value = getattr(exc, "_retry_after", None)
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value or 0)


def describe(exc: BaseException) -> str:
    """An exception as one short line: its class and message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Connectivity:
    """Whether the Bot API answers; logs an outage's start and end, and a flood wait's."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._down_since: float | None = None
        self._failed_requests = 0
        self._up = asyncio.Event()
        self._up.set()
        self._flood_since: float | None = None
        self._flood_count = 0
        self._flood_longest = 0.0
        self._flood_timer: asyncio.TimerHandle | None = None

    @property
    def down(self) -> bool:
        """Whether the last exchange with the Bot API failed."""
        return self._down_since is not None

    def failed(self, method: str, cause: str) -> None:
        """A request got no answer (connection refused or reset, timeout) or a 5xx."""
        self._failed_requests += 1
        if self._down_since is None:
            self._down_since = self._clock()
            self._up.clear()
            log.warning("Bot API unreachable (%s: %s): replies are held and retried", method, cause)

    def now(self) -> float:
        """The clock requests are timed with."""
        return self._clock()

    def answered(self, sent_at: float) -> None:
        """A request sent at sent_at got Telegram's answer (any status but 5xx).

        Only a request sent after an outage began proves it is over: a long poll sent before
        may still come back after the first failures.
        """
        if self._down_since is not None and sent_at >= self._down_since:
            log.warning("Bot API reachable again after %.1f s (%d failed requests)",
                        self._clock() - self._down_since, self._failed_requests)
            self._down_since = None
            self._failed_requests = 0
            self._up.set()

    def flooded(self, method: str, retry_after: float) -> None:
        """Telegram answered 429 with retry_after: the rate limiter waits and retries."""
        if self._flood_since is None:
            self._flood_since = self._clock()
            log.warning("Telegram flood control (%s: retry after %g s): sending waits as asked", method,
                        retry_after)
        self._flood_count += 1
        self._flood_longest = max(self._flood_longest, retry_after)
        if self._flood_timer is not None:
            self._flood_timer.cancel()
        self._flood_timer = asyncio.get_running_loop().call_later(
            retry_after + FLOOD_QUIET_SECONDS, self._flood_over)

    def _flood_over(self) -> None:
        if self._flood_since is not None:
            log.warning("Telegram flood control over: %d request(s) asked to wait (at most %g s) in %.1f s",
                        self._flood_count, self._flood_longest, self._clock() - self._flood_since)
        self._flood_since, self._flood_count, self._flood_longest, self._flood_timer = None, 0, 0.0, None

    async def wait_up(self, timeout: float) -> None:
        """Wait until the Bot API answers again, at most timeout seconds."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class WatchedRequest(ObservedRequest):
    """The monitor's transport (metrics, health), also reporting each exchange's fate to Connectivity.

    patient (the poller's transport), an event: until it is set (the bot is stopping), a network
    error or a 5xx is retried here, every POLL_RETRY_SECONDS or as soon as any request gets
    through again, instead of raised: PTB's polling loop would back off up to 30 s between
    tries, so questions asked during a long outage would wait that long after it ended.
    """

    def __init__(self, connectivity: Connectivity, watched: Monitor, patient: asyncio.Event | None = None,
                 **kwargs: Any) -> None:
        super().__init__(watched, **kwargs)
        self.connectivity = connectivity
        self._stopping = patient

    @property
    def patient(self) -> bool:
        """Whether a failure is retried here rather than raised."""
        return self._stopping is not None and not self._stopping.is_set()

    async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]   # the method name only: the URL carries the token
        while True:
            sent_at = self.connectivity.now()
            try:
                code, payload = await super().do_request(url, method, *args, **kwargs)
            except NetworkError as exc:  # connection refused or reset, timeouts
                self.connectivity.failed(endpoint, describe(exc))
                if not self.patient:
                    raise
            else:
                if code < 500:
                    self.connectivity.answered(sent_at)
                    if code == 429:
                        self.connectivity.flooded(endpoint, _retry_after(payload))
                    return code, payload
                self.connectivity.failed(endpoint, f"HTTP {code}")
                if not self.patient:
                    return code, _as_error_json(code, payload)
            await self.connectivity.wait_up(POLL_RETRY_SECONDS)


def _as_error_json(code: int, payload: bytes) -> bytes:
    """A 5xx answer in the Bot API's error shape: a proxy's HTML error page would make PTB log a
    traceback for every request of an outage before raising the same NetworkError."""
    try:
        json.loads(payload)
        return payload
    except ValueError:
        try:
            description = HTTPStatus(code).phrase
        except ValueError:
            description = f"HTTP error {code}"
        return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


def _retry_after(payload: bytes) -> float:
    """The retry_after of a 429 answer (0 when it has none)."""
    try:
        return float(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return 0.0


class Delivery:
    """Runs Bot API calls for replies, retrying transient failures until the question is too old."""

    def __init__(self, config: DeliveryConfig, connectivity: Connectivity, stopping: asyncio.Event,
                 clock: Callable[[], float] = time.time, jitter: Callable[[], float] = random.random) -> None:
        self.config = config
        self.connectivity = connectivity
        self.stopping = stopping
        self._clock = clock
        self._jitter = jitter

    async def call(self, make: Callable[[], Awaitable[T]], asked_at: float | None = None,
                   max_age: float | None = None) -> T:
        """make() until it succeeds; Expired once the question is too old, Abandoned when stopping.

        max_age overrides the configured bound (a button's answer is useless after seconds).
        Permanent errors (BadRequest, Forbidden...) are raised at once.
        """
        limit = self.config.max_age_seconds if max_age is None else max_age
        started = self._clock()
        attempt = 0
        while True:
            try:
                return await make()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if self.stopping.is_set():
                    raise Abandoned(describe(exc)) from exc
                age = self._clock() - (asked_at if asked_at is not None else started)
                if age > limit:
                    raise Expired(f"{describe(exc)}; gave up after {age:.0f} s") from exc
                await self._pause(self._backoff(attempt, exc))
                attempt += 1

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        """Exponential backoff with jitter; never shorter than a retry_after Telegram asked for."""
        ceiling = min(self.config.retry_max_seconds, self.config.retry_first_seconds * 2 ** attempt)
        wait = ceiling * (0.5 + 0.5 * self._jitter())
        if isinstance(exc, RetryAfter):
            wait = max(wait, retry_after_seconds(exc))
        return wait

    async def _pause(self, seconds: float) -> None:
        """Sleep, waking early when Telegram answers again or the bot starts stopping."""
        waits = [asyncio.ensure_future(self.stopping.wait())]
        if self.connectivity.down:
            waits.append(asyncio.ensure_future(self.connectivity.wait_up(seconds)))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()


class FailureLog:
    """One line per failed update with its cause; the traceback only the first time an error is seen."""

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger
        self._seen: set[tuple] = set()

    def report(self, update_id: int | None, what: str, exc: BaseException) -> None:
        """Log that update_id failed; an error of a kind and place seen before gets no traceback again."""
        frames = traceback.extract_tb(exc.__traceback__)
        signature = (type(exc).__qualname__, *((f.filename, f.lineno) for f in frames[-3:]))
        first = signature not in self._seen
        self._seen.add(signature)
        self._log.error("update %s failed (%s): %s%s", update_id, what, describe(exc),
                        "" if first else " (traceback logged before)", exc_info=exc if first else None)

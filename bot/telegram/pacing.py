"""Telegram's per-chat message limits, kept strictly, in front of AIORateLimiter.

PTB's AIORateLimiter honours a 429's retry_after with its own retries, and ChatPacer keeps that;
but its limits are leaky buckets (a burst of 20 in a group, then one every 3 s: up to 39 messages
in a rolling minute; 59 in one second overall), and it has no per-chat limit for private chats.
ChatPacer keeps all three as rolling windows measured on when Telegram answered: a group gets at
most `group_per_minute` messages in any 60 seconds, a private chat at most `private_burst` in any
`private_burst / private_per_second` seconds (a sustained 1 a second, with short bursts), and the
bot at most `overall_per_second` in any second, spread evenly (a burst of 30 sent in the same
instant would also leave 30 replies accepted but not yet recorded if the bot died then). Each
chat sends one message at a time, in order, and chats queue for the overall window first come,
first served: all chats are fair.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, BaseRateLimiter

from bot.config import LimitsConfig
from bot.telegram.delivery import retry_after_seconds
from bot.telegram.throttle import Verdict

# Methods that post a message into a chat: what Telegram's per-chat limits count.
MESSAGE_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendAnimation",
    "sendVoice", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendVenue", "sendContact",
    "sendPoll", "sendDice", "sendSticker", "copyMessage", "forwardMessage",
})
GROUP_PERIOD = 60.0  # Telegram's group limit is per minute


class Window:
    """A rolling window: at most `limit` messages in any `period` seconds, measured on acceptance.

    A message in flight holds a place as if Telegram had just accepted it (it will be accepted
    later, if at all), so the window holds however long Telegram takes to answer.
    """

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._done: deque[float] = deque()   # when Telegram answered the last sends, oldest first
        self.in_flight = 0
        self.lock = asyncio.Lock()            # FIFO: waiters go in the order they came

    def wait_time(self, reserve: int = 0) -> float:
        """Seconds until a message could start, leaving `reserve` places of the window free.

        A lower bound while messages are in flight: ask again after waiting.
        """
        now = self._clock()
        while self._done and self._done[0] <= now - self.period:
            self._done.popleft()
        room = self.limit - reserve
        if room <= 0:
            return self.period
        taken = list(self._done) + [now] * self.in_flight
        if len(taken) < room:
            return 0.0
        # The window frees a place when its (len - room + 1)-th oldest send leaves it.
        return max(taken[len(taken) - room] + self.period - now, 1e-3)

    def sent(self) -> None:
        """Count a message Telegram accepted, at the moment its answer arrived."""
        self._done.append(self._clock())

    def idle(self) -> bool:
        """Nothing in flight and nothing within the window: the window can be forgotten."""
        return not self.lock.locked() and not self.in_flight and self.wait_time() == 0.0 and not self._done


class ChatPacer(BaseRateLimiter[int]):
    """Per-chat rolling windows (groups, private chats) in front of AIORateLimiter (overall, retry_after)."""

    def __init__(self, limits: LimitsConfig, flood_retries: int,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        # AIORateLimiter only honours retry_after (its own limits off): the windows are ours.
        self._inner = AIORateLimiter(overall_max_rate=0, overall_time_period=0,
                                     group_max_rate=0, group_time_period=0, max_retries=flood_retries)
        self._overall = Window(limits.overall_per_second, 1.0, clock)
        self._spacing = 1.0 / limits.overall_per_second
        self._next_start = 0.0
        self._windows: dict[int, Window] = {}
        # Until when Telegram's last retry_after holds every request (_flood_gated).
        self._flood_until = 0.0

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    def window(self, chat_id: int) -> Window:
        """The chat's window (groups and channels have negative ids, private chats positive ones)."""
        window = self._windows.get(chat_id)
        if window is None:
            if len(self._windows) > 4096:  # forget chats that have gone quiet
                for key in [k for k, w in self._windows.items() if w.idle()]:
                    del self._windows[key]
            if chat_id < 0:
                window = Window(self.limits.group_per_minute, GROUP_PERIOD, self._clock)
            else:
                burst = self.limits.private_burst
                window = Window(burst, burst / self.limits.private_per_second, self._clock)
            self._windows[chat_id] = window
        return window

    def wait_time(self, chat_id: int, reserve: int = 0) -> float:
        """Seconds until the next message to this chat could start (0: now)."""
        return self.window(chat_id).wait_time(reserve)

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        """Wait for the chat's window (message methods only), then let AIORateLimiter send."""
        chat_id = _chat_id(data.get("chat_id"))
        callback = self._flood_gated(callback)
        if endpoint not in MESSAGE_METHODS or chat_id is None:
            return await self._inner.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        # A negative rate_limit_args is our marker (RESERVE_ONE); AIORateLimiter would read a
        # positive one as its max_retries, so it is given None.
        reserve = -rate_limit_args if isinstance(rate_limit_args, int) and rate_limit_args < 0 else 0
        window = self.window(chat_id)
        async with window.lock:
            await self._wait(window, reserve)
            async with self._overall.lock:   # chats ready to send queue here in turn
                await self._wait(self._overall, 0)
                if (gap := self._next_start - self._clock()) > 0:
                    await self._sleep(gap)
                self._next_start = self._clock() + self._spacing
                self._overall.in_flight += 1
            try:
                result = await self._inner.process_request(callback, args, kwargs, endpoint, data, None)
            finally:
                self._overall.in_flight -= 1
            self._overall.sent()
            window.sent()
            return result

    def _flood_gated(self, callback: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Coroutine[Any, Any, Any]]:
        """callback, started only once Telegram's last retry_after is over, and noting a new one.

        AIORateLimiter holds other requests while the one that got a 429 sleeps, but its gate is
        reopened when any request in flight meanwhile ends (each attempt's `finally`), so one
        waiting there could go out inside the window (seen by the emulator tests' proxy under
        load); this gate is closed until the window ends, whoever finishes first."""
        async def send(*args: Any, **kwargs: Any) -> Any:
            while (wait := self._flood_until - self._clock()) > 0:
                await self._sleep(wait)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._flood_until = max(self._flood_until, self._clock() + retry_after_seconds(exc))
                raise
        return send

    async def _wait(self, window: Window, reserve: int) -> None:
        """Until the window has a place (leaving `reserve` free)."""
        while (wait := window.wait_time(reserve)) > 0:
            await self._sleep(wait)


# rate_limit_args for a group answer: it leaves one place of the group's window free, so the
# notice that the group is busy (handlers.GroupBacklog) can always go out at once.
RESERVE_ONE = -1


def _chat_id(value: object) -> int | None:
    """A numeric chat id, or None (no chat, or an @username, which Telegram's limits count apart)."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class GroupBacklog:
    """A group whose next reply would wait past the bound: told once, then its excess is dropped.

    Telegram lets a group have 20 messages a minute; a flood of /quote would otherwise queue
    replies minutes late. An answer may start only while the group's window has a place left
    besides the last one (RESERVE_ONE), so the notice always goes out at once. Once a reply can
    go out within the bound again, the group may be told again the next time.
    """

    def __init__(self, pacer: ChatPacer | None, limits: LimitsConfig) -> None:
        self._pacer = pacer
        self.limits = limits
        self.bound = limits.group_backlog_seconds
        self._told: set[int] = set()

    def check(self, chat_id: int) -> tuple[Verdict, float]:
        """Whether to answer the group now, tell it that it is busy, or drop this one; and the wait."""
        if self._pacer is None:
            return Verdict.ALLOW, 0.0
        wait = self._pacer.wait_time(chat_id, reserve=1)
        if wait <= self.bound:
            self._told.discard(chat_id)
            return Verdict.ALLOW, wait
        if chat_id in self._told:
            return Verdict.DROP, wait
        self._told.add(chat_id)
        return Verdict.NOTIFY, wait

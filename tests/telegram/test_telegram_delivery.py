"""The delivery core without Telegram: pacing windows, the group backlog, retries, logs, the inbox.

Clocks are fakes that tests move by hand, so nothing here waits or measures time.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.config import DeliveryConfig, LimitsConfig
from bot.history import HistoryStore
from bot.telegram.delivery import Abandoned, Connectivity, Delivery, Expired, FailureLog, is_transient
from bot.telegram.inbox import Inbox, UpdateProcessor
from bot.telegram.pacing import RESERVE_ONE, ChatPacer, GroupBacklog, Window
from bot.telegram.throttle import Verdict


class Clock:
    """A clock tests move by hand; sleep() moves it too."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)  # let others run, as a real sleep does


# --- pacing -----------------------------------------------------------------------------------------

def test_a_rolling_window_counts_what_telegram_accepted_in_the_last_period() -> None:
    clock = Clock()
    window = Window(20, 60.0, clock)
    for _ in range(20):
        assert window.wait_time() == 0
        window.sent()
        clock.now += 1
    assert window.wait_time() == pytest.approx(40.0)   # the first one leaves the window at +60
    assert window.wait_time(reserve=1) == pytest.approx(41.0)  # with a place kept free, one later
    clock.now += 40
    assert window.wait_time() == 0


async def test_the_pacer_keeps_20_a_minute_in_a_group_and_a_burst_then_1_a_second_in_private() -> None:
    clock = Clock()
    pacer = ChatPacer(LimitsConfig(), flood_retries=3, clock=clock, sleep=clock.sleep)
    starts: dict[int, list[float]] = {-5: [], 7: []}

    async def post(chat_id: int, **_: object) -> bool:
        starts[chat_id].append(clock.now)
        return True

    for chat_id, count in ((-5, 25), (7, 6)):
        for _ in range(count):
            await pacer.process_request(post, (), {"chat_id": chat_id}, "sendMessage", {"chat_id": chat_id}, None)
    group, private = starts[-5], starts[7]
    assert all(b - a >= 60 for a, b in zip(group, group[20:]))      # never 21 in a rolling minute
    assert group[19] - group[0] < 1.0                               # the first 20 go at once (spread)
    assert private[2] - private[0] < 0.1                            # a burst of 3...
    assert all(b - a >= 3 for a, b in zip(private, private[3:]))    # ...then 1 a second


async def test_the_pacer_keeps_30_a_second_overall_and_serves_chats_in_turn() -> None:
    clock = Clock()
    pacer = ChatPacer(LimitsConfig(), flood_retries=3, clock=clock, sleep=clock.sleep)
    order: list[tuple[int, float]] = []

    async def post(chat_id: int, **_: object) -> bool:
        order.append((chat_id, clock.now))
        await asyncio.sleep(0)
        return True

    async def chat(chat_id: int) -> None:
        for _ in range(3):
            await pacer.process_request(post, (), {"chat_id": chat_id}, "sendMessage", {"chat_id": chat_id}, None)
    await asyncio.gather(*(chat(n) for n in range(1, 41)))   # 40 chats, 120 messages
    starts = [t for _, t in order]
    assert len(starts) == 120 and all(b - a >= 1.0 for a, b in zip(starts, starts[30:]))
    assert all(b - a >= 1 / 30 - 1e-9 for a, b in zip(starts, starts[1:]))   # spread, not in bursts
    assert {chat_id for chat_id, _ in order[:40]} == set(range(1, 41))   # everyone's first before seconds


async def test_a_group_answer_leaves_the_last_place_for_the_busy_notice() -> None:
    clock = Clock()
    pacer = ChatPacer(LimitsConfig(), flood_retries=3, clock=clock, sleep=clock.sleep)

    async def post(**_: object) -> bool:
        return True
    for _ in range(19):
        await pacer.process_request(post, (), {}, "sendMessage", {"chat_id": -5}, RESERVE_ONE)
    assert pacer.wait_time(-5, reserve=1) > 0 and pacer.wait_time(-5) == 0
    backlog = GroupBacklog(pacer, LimitsConfig(group_backlog_seconds=30))
    assert backlog.check(-5)[0] is Verdict.NOTIFY
    assert backlog.check(-5)[0] is Verdict.DROP
    clock.now += 40  # the oldest answer leaves the window within the bound again
    assert backlog.check(-5)[0] is Verdict.ALLOW
    assert backlog.check(-6)[0] is Verdict.ALLOW  # other groups are not affected


async def test_a_429_holds_every_request_until_its_retry_after_is_over() -> None:
    """Telegram's retry_after holds the bot's requests: one started after a 429 waits out the
    window even when another request that was in flight meanwhile ends first (which reopens
    AIORateLimiter's own gate), in another chat or with no chat at all; later ones go at once."""
    clock = Clock()
    pacer = ChatPacer(LimitsConfig(), flood_retries=0, clock=clock, sleep=clock.sleep)
    started: list[tuple[str, float]] = []
    release = asyncio.Event()

    async def slow(**_: object) -> bool:          # in flight while the 429 comes
        started.append(("slow", clock.now))
        await release.wait()
        return True

    async def flooded(**_: object) -> bool:
        started.append(("flooded", clock.now))
        raise RetryAfter(timedelta(seconds=5))

    async def post(name: str) -> bool:
        started.append((name, clock.now))
        return True

    in_flight = asyncio.create_task(pacer.process_request(slow, (), {}, "sendMessage", {"chat_id": 1}, None))
    await asyncio.sleep(0)
    with pytest.raises(RetryAfter):
        await pacer.process_request(flooded, (), {}, "sendMessage", {"chat_id": 2}, None)
    release.set()
    assert await in_flight
    flood_at = clock.now
    await pacer.process_request(post, ("other chat",), {}, "sendMessage", {"chat_id": 3}, None)
    await pacer.process_request(post, ("no chat",), {}, "answerCallbackQuery", {"callback_query_id": "9"}, None)
    await pacer.process_request(post, ("after",), {}, "sendMessage", {"chat_id": 4}, None)
    times = dict(started)
    assert times["other chat"] >= flood_at + 5 and times["no chat"] >= flood_at + 5
    assert times["after"] - times["other chat"] < 1.0


async def test_calls_without_a_chat_pass_straight_through() -> None:
    clock = Clock()
    pacer = ChatPacer(LimitsConfig(private_burst=1), flood_retries=0, clock=clock, sleep=clock.sleep)

    async def answer(**_: object) -> bool:
        return True
    for _ in range(5):
        await pacer.process_request(answer, (), {}, "answerCallbackQuery", {"callback_query_id": "1"}, None)
    assert clock.now == 1000.0


# --- retries --------------------------------------------------------------------------------------

class Flaky:
    """A Bot API call that fails with the given exceptions, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "sent"


def delivery(stopping: asyncio.Event | None = None, clock: Clock | None = None, **config: float) -> Delivery:
    values = {"retry_first_seconds": 0.001, "retry_max_seconds": 0.004, **config}
    return Delivery(DeliveryConfig(**values), Connectivity(), stopping or asyncio.Event(),
                    clock=clock or Clock(), jitter=lambda: 1.0)


# PTB's RetryAfter reads its own deprecated int attribute when it is made.
ptb_retry_after_warning = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@ptb_retry_after_warning
def test_transient_and_permanent_errors_are_told_apart() -> None:
    assert is_transient(NetworkError("httpx.ConnectError: refused")) and is_transient(TimedOut())
    assert is_transient(RetryAfter(timedelta(seconds=2))) and is_transient(NetworkError("Bad Gateway"))
    assert not is_transient(BadRequest("Message is too long")) and not is_transient(Forbidden("blocked"))


async def test_network_errors_and_5xx_are_retried_until_the_call_succeeds() -> None:
    call = Flaky(NetworkError("httpx.ConnectError"), NetworkError("Bad Gateway"), TimedOut())
    assert await delivery().call(call) == "sent" and call.calls == 4


async def test_a_bad_request_is_not_retried() -> None:
    call = Flaky(BadRequest("Message is too long"))
    with pytest.raises(BadRequest):
        await delivery().call(call)
    assert call.calls == 1


async def test_retries_give_up_once_the_question_is_too_old() -> None:
    clock = Clock()
    call = Flaky(*[NetworkError("refused")] * 100)
    with pytest.raises(Expired):
        await delivery(clock=clock, max_age_seconds=10).call(call, asked_at=clock.now - 11)
    assert call.calls == 1


async def test_stopping_abandons_the_retries_so_the_update_stays_pending() -> None:
    stopping = asyncio.Event()
    stopping.set()
    with pytest.raises(Abandoned):
        await delivery(stopping).call(Flaky(NetworkError("refused")))


@ptb_retry_after_warning
def test_backoff_doubles_up_to_its_cap_and_never_undercuts_retry_after() -> None:
    d = Delivery(DeliveryConfig(retry_first_seconds=0.5, retry_max_seconds=10), Connectivity(), asyncio.Event(),
                 jitter=lambda: 1.0)
    assert [d._backoff(n, NetworkError("x")) for n in range(6)] == [0.5, 1, 2, 4, 8, 10]
    assert d._backoff(0, RetryAfter(timedelta(seconds=3))) == 3


# --- logs ---------------------------------------------------------------------------------------------

def test_an_outage_logs_its_start_and_its_end_once(caplog) -> None:
    clock = Clock()
    connectivity = Connectivity(clock)
    with caplog.at_level(logging.WARNING, "bot.telegram.delivery"):
        connectivity.answered(clock.now)
        for _ in range(50):
            connectivity.failed("sendMessage", "NetworkError: Bad Gateway")
        connectivity.answered(clock.now - 1)  # sent before the outage began: proves nothing
        clock.now += 10
        connectivity.answered(clock.now)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Bot API unreachable (sendMessage: NetworkError: Bad Gateway): replies are held and retried",
                     "Bot API reachable again after 10.0 s (50 failed requests)"]


def test_failures_log_one_line_each_and_a_traceback_per_distinct_error(caplog) -> None:
    failures = FailureLog(logging.getLogger("test.failures"))

    def fail(exc: Exception) -> Exception:
        try:
            raise exc
        except Exception as caught:
            return caught
    with caplog.at_level(logging.ERROR, "test.failures"):
        for n in range(3):
            failures.report(n, "message in chat 1", fail(BadRequest("Chat not found")))
        failures.report(9, "message in chat 2", fail(Forbidden("bot was blocked by the user")))
    assert len(caplog.records) == 4
    assert [r.exc_info is not None for r in caplog.records] == [True, False, False, True]
    assert caplog.records[1].getMessage() == ("update 1 failed (message in chat 1): BadRequest: Chat not found "
                                              "(traceback logged before)")


# --- the inbox ----------------------------------------------------------------------------------------

def message_update(update_id: int, chat_id: int, text: str, date: int = 1_700_000_000) -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": date, "text": text, "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "U"}}}, None)


async def test_the_inbox_runs_an_update_once_and_skips_one_too_old(tmp_path: Path) -> None:
    clock = Clock(1_700_000_100)
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 10) as store:
        inbox = Inbox(store, max_age=3600, clock=clock)
        fresh, old = message_update(1, 7, "问"), message_update(2, 7, "问", date=1_700_000_100 - 7200)
        for update in (fresh, old):
            await inbox.receive(update)
        ticket = await inbox.begin(fresh)
        assert ticket is not None and await inbox.begin(fresh) is None  # a second copy meanwhile
        ticket.sent.append(41)
        await inbox.end(ticket)
        assert await inbox.begin(fresh) is None  # redelivered later: done already
        assert await inbox.begin(old) is None
        assert (await store.inbox_entry(2)).outcome == "expired"
        assert (await store.inbox_entry(1)).outcome == "answered"


async def test_start_up_replays_what_is_pending_but_not_inline_queries_or_the_too_old(tmp_path: Path) -> None:
    clock = Clock(1_700_000_100)
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 10) as store:
        inbox = Inbox(store, max_age=3600, clock=clock)
        await inbox.receive(message_update(1, 7, "问"))
        await inbox.receive(message_update(2, 7, "旧", date=1_700_000_100 - 7200))
        await inbox.receive(Update.de_json({"update_id": 3, "inline_query": {
            "id": "iq", "from": {"id": 7, "is_bot": False, "first_name": "U"}, "query": "开源", "offset": ""}}, None))
        abandoned = await inbox.begin(message_update(4, 7, "停"))
        abandoned.abandoned = True
        await inbox.end(abandoned)
        replayed = await inbox.pending(bot=None)
        assert [u.update_id for u in replayed] == [1, 4]
        assert replayed[0].message.text == "问"
        assert [(await store.inbox_entry(n)).outcome for n in (2, 3)] == ["expired", "expired"]


async def test_the_processor_keeps_a_chat_in_order_and_lets_other_chats_pass(tmp_path: Path) -> None:
    processor = UpdateProcessor(max_concurrent_updates=1)
    order: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        order.append(name)
    slow = asyncio.create_task(processor.do_process_update(message_update(1, 7, "a"), handle("7a", wait=True)))
    queued = asyncio.create_task(processor.do_process_update(message_update(2, 7, "b"), handle("7b")))
    await asyncio.sleep(0)
    other = asyncio.create_task(processor.do_process_update(message_update(3, 8, "c"), handle("8c")))
    await asyncio.sleep(0.01)
    assert order == []      # one slot, held by chat 7's slow update; 7b waits for its turn, not a slot
    gate.set()
    await asyncio.gather(slow, queued, other)
    assert order.index("7a") < order.index("7b")

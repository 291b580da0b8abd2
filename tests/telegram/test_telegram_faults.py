"""Faults Telegram really produces, injected through the proxy, judged by what the users see.

Each test drives the real bot (rate limiter on, Telegram's limits) through a fault: 429 flood
control with retry_after, connections refused or reset, 502 Bad Gateway, SIGKILL and SIGTERM
mid-reply, a flooded group, buttons nobody knows. What is asserted is what users get: every
question exactly one answer (or an honest notice), the rates Telegram allows, nothing the strict
proxy refused, and logs an operator can read. Waits are short: retry_after of 1 s, backoff capped
at half a second.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections import Counter

import pytest

from bot.telegram.rules import visible_text
from bot_harness import BotProcess

COST_QUESTION = "DeepSeek-V3 的训练成本是多少？"
# Questions with clearly different top passages, so a duplicate or a lost answer shows.
QUESTIONS = ("DeepSeek-V3 的训练成本是多少？", "出口管制对中国 AI 有什么影响？", "梁文锋怎么看开源？",
             "星际之门项目是什么？", "应用层有哪些创业机会？")
FAST_RETRIES = {"retry_first_seconds": 0.1, "retry_max_seconds": 0.5}
LIMITED = {"rate_limiter": True, "delivery": FAST_RETRIES}


def shown(message: dict) -> str:
    return visible_text(message["text"])


def is_answer(message: dict) -> bool:
    """A reply that quotes the articles (not an apology or a notice)."""
    return message["text"].startswith(("<blockquote", "<i>", "（")) and "<blockquote" in message["text"]


def answers(bot: BotProcess, chat_id: int) -> list[dict]:
    """The messages Telegram accepted from the bot in one chat (what the user has), in order."""
    return [c.params for c in bot.proxy.calls("sendMessage", chat_id) if c.ok]


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


def rejected(bot: BotProcess) -> list:
    """What the strict proxy refused as Telegram would (400s) and what Telegram would punish (429 windows)."""
    refused = [(c.method, c.response.get("description")) for c in bot.proxy.calls()
               if 400 <= c.status < 500 and c.status != 429]
    return refused + [(what, call.method) for what, call in bot.proxy.violations]


def tracebacks(bot: BotProcess) -> int:
    return bot.log().count("Traceback (most recent call last)")


def kill(bot: BotProcess) -> None:
    """SIGKILL: no handler runs, nothing is flushed but what was committed."""
    bot.process.send_signal(signal.SIGKILL)
    bot.process.wait(10)


# --- flood control --------------------------------------------------------------------------------

def test_429_flood_every_question_answered_once_and_retry_after_kept(start_bot) -> None:
    bot = start_bot(**LIMITED)
    users = [bot.user() for _ in range(8)]
    bot.proxy.flood(fraction=0.3, retry_after=1, seconds=3.0)
    for user in users:
        user.send(QUESTIONS[user.chat_id % 5])
        user.send(QUESTIONS[(user.chat_id + 1) % 5])
    wait_until(lambda: all(len(answers(bot, u.chat_id)) >= 2 for u in users), 60, "two answers each")
    time.sleep(1.0)  # anything sent twice would show up now
    assert [len(answers(bot, u.chat_id)) for u in users] == [2] * 8
    assert all(is_answer(m) for u in users for m in answers(bot, u.chat_id))
    assert sum(c.status == 429 for c in bot.proxy.calls("sendMessage")) >= 1  # the flood did bite
    assert rejected(bot) == []        # no request went out inside a retry_after window
    log = bot.log()
    assert "Telegram flood control" in log and "抱歉" not in str([answers(bot, u.chat_id) for u in users])
    assert tracebacks(bot) == 0


# --- network outages ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["refused", "reset", "502"])
def test_outage_mid_reply_loses_no_answer(start_bot, kind: str) -> None:
    bot = start_bot(**LIMITED)
    users = [bot.user() for _ in range(4)]
    bot.proxy.hold("sendMessage")
    for user in users:
        user.send(COST_QUESTION)
    wait_until(lambda: bot.proxy.held() == 4, 30, "four answers on their way")
    bot.proxy.outage(kind, 1.5)
    bot.proxy.release(forward=False)  # the answers being sent never reach Telegram
    late = bot.user()
    late.send("出口管制对中国 AI 有什么影响？")  # asked during the outage: fetched once it ends
    wait_until(lambda: all(len(answers(bot, u.chat_id)) >= 1 for u in users + [late]), 60, "every answer")
    time.sleep(0.5)
    assert [len(answers(bot, u.chat_id)) for u in users + [late]] == [1] * 5
    assert all("557 万美元" in visible_text(answers(bot, u.chat_id)[0]["text"]) for u in users)
    assert rejected(bot) == []
    log = bot.log()
    assert log.count("Bot API unreachable") == 1 and log.count("Bot API reachable again") == 1
    assert "failed (" not in log and tracebacks(bot) == 0


# --- crashes and restarts ------------------------------------------------------------------------------

def test_sigkill_mid_burst_answers_every_question_once_after_restart(start_bot, tmp_path) -> None:
    db = tmp_path / "killed.sqlite3"
    bot = start_bot(db=db, **LIMITED)
    users = [bot.user() for _ in range(6)]
    for user in users:
        for question in QUESTIONS:
            user.send(question)
    total = lambda: sum(len(answers(bot, u.chat_id)) for u in users)  # noqa: E731
    wait_until(lambda: total() >= 8, 60, "the burst under way")
    bot.proxy.hold("sendMessage")
    wait_until(lambda: bot.proxy.held() >= 3, 30, "answers on their way")
    time.sleep(0.3)  # what was accepted before the hold is marked answered by now
    kill(bot)
    assert bot.proxy.release(forward=False) >= 3  # the answers in flight at the kill are lost
    before = total()
    assert 8 <= before < 30
    again = start_bot(proxy=bot.proxy, db=db, token=bot.token, **LIMITED)
    wait_until(lambda: total() >= 30, 90, "every question answered")
    time.sleep(1.0)
    assert [len(answers(again, u.chat_id)) for u in users] == [5] * 6
    for user in users:  # each question answered in its order, none twice
        firsts = [shown(m).split("\n")[0][:12] for m in answers(again, user.chat_id)]
        assert len(set(firsts)) == 5
    history = sqlite3.connect(db)
    bot_turns = Counter(chat for (chat,) in history.execute("SELECT chat_id FROM turns WHERE role = 'bot'"))
    assert all(bot_turns[u.chat_id] == 5 for u in users)  # the history holds what was delivered
    assert history.execute("SELECT COUNT(*) FROM inbox WHERE state = 'pending'").fetchone() == (0,)
    assert rejected(again) == []


def test_sigterm_mid_reply_finishes_it_and_the_restart_sends_nothing_twice(start_bot, tmp_path) -> None:
    db = tmp_path / "stopped.sqlite3"
    bot = start_bot(db=db, **LIMITED)
    user = bot.user()
    bot.proxy.hold("sendMessage")
    user.send(COST_QUESTION)
    wait_until(lambda: bot.proxy.held() == 1, 30, "the answer on its way")
    bot.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    bot.proxy.release(forward=True)
    assert bot.stop() == 0
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    again = start_bot(proxy=bot.proxy, db=db, token=bot.token, **LIMITED)
    user.send("/history")
    [history] = user.wait_replies(1)
    assert COST_QUESTION in shown(history) and "引用了" in shown(history)
    assert len(answers(again, user.chat_id)) == 2  # the answer and /history: nothing re-sent
    assert again.stop() == 0


def test_sigterm_during_an_outage_leaves_the_question_for_the_restart(start_bot, tmp_path) -> None:
    db = tmp_path / "outage.sqlite3"
    bot = start_bot(db=db, **LIMITED)
    user = bot.user()
    bot.proxy.hold("sendMessage")
    user.send(COST_QUESTION)
    wait_until(lambda: bot.proxy.held() == 1, 30, "the answer on its way")
    bot.proxy.outage("502", 600.0)  # longer than the harness waits for a stop
    bot.proxy.release(forward=False)
    time.sleep(0.5)  # retrying against the 502s
    assert bot.stop() == 0  # gives up the retries (and the poller's) at once, leaves the update pending
    assert "left pending" in bot.log()
    bot.proxy.outage_over()
    again = start_bot(proxy=bot.proxy, db=db, token=bot.token, **LIMITED)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    assert "answering 1 update(s) the last run left unanswered" in again.log()
    assert user.no_reply(1.0) == []


def test_a_question_older_than_the_bound_is_not_answered_after_a_restart(start_bot, tmp_path) -> None:
    db = tmp_path / "old.sqlite3"
    bot = start_bot(db=db, **LIMITED)
    kill(bot)
    user = bot.user()
    old = user.message(COST_QUESTION)
    old["date"] = int(time.time()) - 7200  # two hours ago: beyond max_age_seconds (3600)
    user.send_raw(old)
    user.send("出口管制对中国 AI 有什么影响？")
    again = start_bot(proxy=bot.proxy, db=db, token=bot.token, **LIMITED)
    [reply] = user.wait_replies(1)
    assert "出口管制" in shown(reply)
    assert user.no_reply(1.0) == []
    assert "older than telegram.delivery.max_age_seconds" in again.log()


# --- rates ------------------------------------------------------------------------------------------

def test_group_flood_keeps_20_a_minute_and_says_so_once(start_bot) -> None:
    bot = start_bot(**LIMITED)
    members = [bot.user("supergroup") for _ in range(4)]
    for member in members[1:]:
        member.chat_id = members[0].chat_id
    for k in range(40):
        members[k % 4].send(f"/quote {QUESTIONS[k % 5]}")
    wait_until(lambda: len(answers(bot, members[0].chat_id)) >= 20, 60, "20 messages in the group")
    time.sleep(2.0)  # nothing more comes within the minute
    sent = answers(bot, members[0].chat_id)
    assert len(sent) == 20
    busy = [m for m in sent if "太多" in visible_text(m["text"])]
    assert len(busy) == 1 and sent[-1] is busy[0]
    assert all(is_answer(m) for m in sent[:-1])
    assert all("message_id" in m["reply_parameters"] for m in sent)
    assert rejected(bot) == []  # the proxy keeps Telegram's 20 a minute: none over
    assert bot.log().count(" s): dropped") == 20  # each dropped /quote is logged


def test_private_chat_gets_one_message_a_second_after_a_short_burst(start_bot) -> None:
    bot = start_bot(**LIMITED)
    user = bot.user()
    for question in QUESTIONS:
        user.send(question)
    replies = user.wait_replies(5, timeout=30)
    assert all(is_answer(r) for r in replies)
    accepted = [c.finished for c in bot.proxy.calls("sendMessage", user.chat_id) if c.ok]
    # At most 3 (the burst) in any 3 seconds: the 4th message comes 3 s after the 1st, and so on.
    assert all(later - earlier >= 3.0 for earlier, later in zip(accepted, accepted[3:]))


# --- buttons and logs --------------------------------------------------------------------------------

def test_every_button_press_is_answered_even_unknown_or_stale_ones(start_bot) -> None:
    bot = start_bot()
    user = bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    started = time.monotonic()
    for data in ("forged:1", "ex:zh:99", "ctx#000000000000000000000000", "more:zh:x"):
        user.press(reply, data)
    wait_until(lambda: len([c for c in bot.proxy.calls("answerCallbackQuery") if c.started >= started]) == 4,
               20, "four answers")
    notices = [c.params.get("text", "") for c in bot.proxy.calls("answerCallbackQuery") if c.started >= started]
    assert "这个按钮已经失效了，请重新提问。" in notices
    assert all(bot.proxy.state.callbacks.values())  # every delivered press was answered, once
    assert rejected(bot) == []


def test_each_failed_update_logs_one_line_and_the_traceback_once(start_bot, new_proxy) -> None:
    from bot_harness import make_token
    token = make_token()
    proxy = new_proxy(token)
    bot = start_bot(proxy=proxy, token=token)
    for user in [bot.user() for _ in range(3)]:
        proxy.fail("sendMessage", 400, times=1, description="Bad Request: chat not found")
        user.send(COST_QUESTION)
        [apology] = user.wait_replies(1)  # the answer was refused; the apology went through
        assert "抱歉" in shown(apology)
    errors = [line for line in bot.log().splitlines() if " ERROR " in line]
    assert len(errors) == 3
    assert all("failed (message in chat" in line and "BadRequest: Chat not found" in line for line in errors)
    assert tracebacks(bot) == 1 and "(traceback logged before)" in errors[2]

"""End to end: the real `quotebot telegram` against the Bot API emulator, driven as users would.

Users act through the emulator's client API; the bot reaches the emulator through the repairing
proxy, which refuses what Telegram would refuse and records every call.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from bot.telegram.rules import problems, visible_text
from bot_harness import BotProcess, assert_token_not_logged, make_token, write_config
from emulator_harness import free_port

COST_QUESTION = "DeepSeek-V3 的训练成本是多少？"
COST_TITLE = "DeepSeek 开源 LLM 对闭源 LLM 的影响"
SENDING = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
           "answerInlineQuery")


def shown(message: dict) -> str:
    """What the user sees of a bot message (its HTML parsed as Telegram would)."""
    return visible_text(message["text"])


def assert_sendable(message: dict) -> None:
    """The message passes Telegram's rules: HTML subset, length, keyboard."""
    assert problems(message["text"], message.get("parse_mode"), message.get("reply_markup")) == []


def buttons(message: dict) -> dict[str, str]:
    """The message's callback buttons: label -> callback data."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row if "callback_data" in b}


def passage_buttons(message: dict) -> set[str]:
    """The callback data of the message's 上下文 buttons (one per passage shown)."""
    return {data for data in buttons(message).values() if data.startswith("ctx")}


def assert_all_calls_accepted(bot: BotProcess) -> None:
    """Every message, edit and answer the bot sent was accepted (none broke Telegram's rules)."""
    refused = [(c.method, c.response) for c in bot.proxy.calls() if c.method in SENDING and not c.ok]
    assert refused == []
    assert bot.proxy.violations == []


# --- private chat ---------------------------------------------------------------------------------

def test_private_question_gets_the_quote_and_its_title(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    assert COST_TITLE in shown(reply)
    assert reply["text"].startswith("<blockquote>")
    assert "<b>" in reply["text"]
    assert reply["parse_mode"] == "HTML"
    call = shared_bot.proxy.wait_for("sendMessage", lambda c: c.params["chat_id"] == str(user.chat_id))
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert {"更多", "上下文 1"} <= set(buttons(reply))
    assert all(len(data.encode()) <= 64 for data in buttons(reply).values())
    assert_sendable(reply)


def test_follow_up_and_more_button_continue_the_question(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("美国的出口管制对中国 AI 有什么影响？")
    [first] = user.wait_replies(1)
    user.press(first, buttons(first)["更多"])
    [page] = user.wait_replies(1)
    first_passages = passage_buttons(first)
    assert passage_buttons(page) and not passage_buttons(page) & first_passages
    assert "上下文 4" in buttons(page)  # numbering goes on from the first page
    edit = shared_bot.proxy.wait_for("editMessageReplyMarkup",
                                     lambda c: c.params["message_id"] == str(first["message_id"]))
    assert edit.ok and "更多" not in str(edit.params.get("reply_markup"))
    assert shared_bot.proxy.wait_for("answerCallbackQuery").ok
    user.send("更多")
    [typed_more] = user.wait_replies(1)
    assert passage_buttons(typed_more) and not passage_buttons(typed_more) & (first_passages | passage_buttons(page))
    user.send("那梁文锋怎么看？")
    [follow_up] = user.wait_replies(1)
    assert "接着上一个问题" in shown(follow_up)
    assert "梁文" in shown(follow_up)


def test_more_button_under_an_older_answer_says_it_is_stale(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("美国的出口管制对中国 AI 有什么影响？")
    [first] = user.wait_replies(1)
    user.send(COST_QUESTION)
    [second] = user.wait_replies(1)
    started = time.monotonic()
    user.press(first, buttons(first)["更多"])
    answer = shared_bot.proxy.wait_for("answerCallbackQuery", after=started)
    assert "之前的问题" in answer.params["text"]
    assert user.no_reply(0.5) == []
    user.press(second, buttons(second)["更多"])
    [page] = user.wait_replies(1)
    assert passage_buttons(page) and not passage_buttons(page) & passage_buttons(second)


def test_context_button_shows_the_passage_with_its_neighbours(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    user.press(reply, buttons(reply)["上下文 1"])
    [context] = user.wait_replies(1)
    assert "557 万美元" in shown(context)
    assert COST_TITLE in shown(context)
    assert len(shown(context)) > len(shown(reply).split("\n")[0])
    assert_sendable(context)


def test_start_offers_example_questions_that_ask_when_pressed(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("/start")
    [welcome] = user.wait_replies(1)
    examples = buttons(welcome)
    assert len(examples) == 3
    label, data = next(iter(examples.items()))
    user.press(welcome, data)
    [answer] = user.wait_replies(1)
    assert answer["text"].startswith("<blockquote>")


def test_english_user_gets_english_interface(shared_bot: BotProcess) -> None:
    user = shared_bot.user(language_code="en")
    user.send("/start")
    [welcome] = user.wait_replies(1)
    assert "Hello" in shown(welcome)
    user.send("How much did it cost to train DeepSeek-V3?")
    [answer] = user.wait_replies(1)
    assert "557 万美元" in shown(answer)   # the quote stays as the article wrote it
    assert "More" in buttons(answer)


def test_off_topic_question_says_nothing_found_and_what_is_covered(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("明天北京的天气怎么样？")
    [reply] = user.wait_replies(1)
    assert "没有找到" in shown(reply)
    assert COST_TITLE in shown(reply)
    assert "<blockquote>" not in reply["text"]


@pytest.mark.parametrize("text", ["", "   ", "问" * 5000, "<b>&", "😀🎉🔥", "\x00\x01abc\x1b[31m\x7f",
                                  "</blockquote><a href='x'>", "&amp;&lt;"])
def test_bad_input_gets_a_reply_telegram_accepts(shared_bot: BotProcess, text: str) -> None:
    user = shared_bot.user()
    user.send(text)
    [reply] = user.wait_replies(1)
    assert_sendable(reply)
    assert shown(reply).strip()


def test_sticker_in_private_gets_a_hint(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send_raw({"sticker": {"file_id": "s1", "file_unique_id": "u1", "type": "regular",
                               "width": 512, "height": 512, "is_animated": False, "is_video": False}})
    [hint] = user.wait_replies(1)
    assert "文字" in shown(hint)


def test_forget_empties_the_private_history(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send(COST_QUESTION)
    user.wait_replies(1)
    user.send("/history")
    [before] = user.wait_replies(1)
    assert COST_QUESTION in shown(before)
    user.send("/forget")
    [forgotten] = user.wait_replies(1)
    assert "删除" in shown(forgotten)
    user.send("/history")
    [after] = user.wait_replies(1)
    assert COST_QUESTION not in shown(after)
    assert "还没有记录" in shown(after)


def test_inline_query_offers_quotes(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    shared_bot.proxy.inject({"inline_query": {"id": "iq-1", "from": user.sender(), "query": "开源", "offset": ""}})
    call = shared_bot.proxy.wait_for("answerInlineQuery", lambda c: c.params["inline_query_id"] == "iq-1")
    results = call.params["results"]
    assert call.ok and 1 <= len(results) <= 10
    for result in results:
        assert result["title"] and result["description"]
        content = result["input_message_content"]
        assert problems(content["message_text"], content["parse_mode"]) == []
        assert content["message_text"].startswith("<blockquote>")


def test_empty_inline_query_offers_notable_quotations(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    shared_bot.proxy.inject({"inline_query": {"id": "iq-2", "from": user.sender(), "query": "", "offset": ""}})
    call = shared_bot.proxy.wait_for("answerInlineQuery", lambda c: c.params["inline_query_id"] == "iq-2")
    assert call.ok and call.params["results"]
    assert any("“" in r["input_message_content"]["message_text"] or "「" in r["input_message_content"]["message_text"]
               for r in call.params["results"])


# --- groups -----------------------------------------------------------------------------------------

def test_group_quote_replies_with_the_single_best_passage(shared_bot: BotProcess) -> None:
    user = shared_bot.user("supergroup")
    user.send("/quote DeepSeek-V3 的训练成本是多少")
    [reply] = user.wait_replies(1)
    assert reply["text"].count("<blockquote>") == 1
    assert "557 万美元" in shown(reply) and COST_TITLE in shown(reply)
    call = shared_bot.proxy.wait_for("sendMessage", lambda c: c.params["chat_id"] == str(user.chat_id))
    assert "message_id" in call.params["reply_parameters"]


def test_group_commands_addressed_to_this_bot_or_another(shared_bot: BotProcess) -> None:
    user = shared_bot.user("group")
    user.send("/quote@TestNameBot 出口管制")
    [reply] = user.wait_replies(1)
    assert reply["text"].count("<blockquote>") == 1
    user.send("/quote@SomeOtherBot 出口管制")
    user.send("今天中午吃什么？")
    user.send("/help@SomeOtherBot")
    assert user.no_reply() == []


def test_group_mention_is_answered_as_a_question(shared_bot: BotProcess) -> None:
    user = shared_bot.user("supergroup")
    user.send("@TestNameBot DeepSeek-V3 的训练成本是多少")
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)


def test_group_quote_as_a_reply_uses_the_replied_message(shared_bot: BotProcess) -> None:
    user = shared_bot.user("supergroup")
    replied = {"message_id": 5, "date": int(time.time()), "chat": user.chat(),
               "from": {"id": 4242, "is_bot": False, "first_name": "Ann"}, "text": COST_QUESTION}
    user.send("/quote", reply_to=replied)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)


def test_bare_group_quote_gives_a_notable_quotation(shared_bot: BotProcess) -> None:
    user = shared_bot.user("group")
    user.send("/quote")
    [reply] = user.wait_replies(1)
    assert reply["text"].count("<blockquote>") == 1
    assert_sendable(reply)
    # The first two notable quotations are both 李彦宏's: the rotation moves on by one, not by a page.
    user.send("/quote")
    [second] = user.wait_replies(1)
    assert "李彦宏" in shown(reply) and "李彦宏" in shown(second) and shown(second) != shown(reply)


def test_group_ignores_stickers_and_chatter(shared_bot: BotProcess) -> None:
    user = shared_bot.user("group")
    user.send_raw({"sticker": {"file_id": "s2", "file_unique_id": "u2", "type": "regular",
                               "width": 512, "height": 512, "is_animated": False, "is_video": False}})
    user.send("DeepSeek-V3 的训练成本是多少")
    assert user.no_reply() == []


def test_only_group_admins_may_forget(shared_bot: BotProcess) -> None:
    member = shared_bot.user("supergroup")
    admin = shared_bot.user("supergroup")
    admin.chat_id = member.chat_id
    shared_bot.proxy.set_admins(member.chat_id, {admin.user_id})
    member.send("/quote 出口管制")
    member.wait_replies(1)
    member.send("/forget")
    [refused] = member.wait_replies(1)
    assert "管理员" in shown(refused)
    admin.send("/history")
    [kept] = admin.wait_replies(1)
    assert "出口管制" in shown(kept)
    admin.send("/forget")
    [done] = admin.wait_replies(1)
    assert "删除" in shown(done)
    admin.send("/history")
    [empty] = admin.wait_replies(1)
    assert "还没有记录" in shown(empty)


def test_every_call_of_the_shared_bot_was_accepted(shared_bot: BotProcess) -> None:
    # Runs after the tests above (file order): nothing the bot sent broke Telegram's rules.
    assert_all_calls_accepted(shared_bot)
    assert any(c.method == "setMyCommands" and c.params.get("language_code") == "en"
               for c in shared_bot.proxy.calls())


# --- life cycle ---------------------------------------------------------------------------------------

def test_restart_keeps_the_history(start_bot, tmp_path) -> None:
    db = tmp_path / "kept.sqlite3"
    bot = start_bot(db=db)
    user = bot.user()
    user.send(COST_QUESTION)
    [first] = user.wait_replies(1)
    assert bot.stop() == 0
    assert "history database closed" in bot.log()
    again = start_bot(proxy=bot.proxy, db=db, token=bot.token)
    user.send("/history")
    [history] = user.wait_replies(1)
    assert COST_QUESTION in shown(history)
    user.send("更多")
    [page] = user.wait_replies(1)
    assert page["text"].startswith("<blockquote>")
    assert set(buttons(page).values()).isdisjoint(buttons(first).values())
    assert again.stop() == 0


def test_token_never_appears_in_debug_logs(start_bot) -> None:
    bot = start_bot()
    user = bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    user.press(reply, buttons(reply)["更多"])
    user.wait_replies(1)
    assert bot.stop() == 0
    log = bot.log()
    assert "DEBUG" in log and "getUpdates" in log  # the log really was at DEBUG
    assert_token_not_logged(bot)


def test_command_menu_failure_is_logged_and_the_bot_carries_on(start_bot, new_proxy) -> None:
    token = make_token()
    proxy = new_proxy(token)
    proxy.fail("setMyCommands", 500)
    bot = start_bot(proxy=proxy, token=token)
    user = bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    assert "could not register" in bot.log()


def test_handler_error_is_logged_and_answered_with_an_apology(start_bot, new_proxy) -> None:
    token = make_token()
    proxy = new_proxy(token)
    bot = start_bot(proxy=proxy, token=token)
    proxy.fail("sendMessage", 400, times=1, description="Bad Request: chat not found")
    user = bot.user()
    user.send(COST_QUESTION)
    [apology] = user.wait_replies(1)
    assert "抱歉" in shown(apology)
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    log = bot.log()
    assert "Traceback" in log and "failed" in log


def test_questions_over_the_limit_get_one_notice(start_bot) -> None:
    bot = start_bot(questions_per_minute=3)
    user = bot.user()
    for _ in range(6):
        user.send(COST_QUESTION)
    replies = user.wait_replies(4)
    replies += user.no_reply(1.0)
    assert len(replies) == 4
    assert sum("557 万美元" in shown(r) for r in replies) == 3
    assert "每分钟最多 3 个问题" in shown(replies[3])


def test_sigterm_stops_cleanly(start_bot) -> None:
    bot = start_bot()
    assert bot.stop() == 0
    log = bot.log()
    assert "history database closed" in log
    assert "Traceback" not in log


def _run_cli(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "telegram", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_missing_token_exits_at_once_with_one_sentence(isolated_env) -> None:
    started = time.monotonic()
    done = _run_cli(isolated_env)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in done.stderr
    assert time.monotonic() - started < 15


def test_malformed_token_exits_without_echoing_it(isolated_env) -> None:
    done = _run_cli({**isolated_env, "TELEGRAM_BOT_TOKEN": "not-a-token-secret-value"})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "not-a-token-secret-value" not in done.stderr + done.stdout


def test_token_file_is_read(isolated_env, tmp_path, index_cache) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("garbage\n")
    config = write_config(tmp_path, index_cache, token_file=str(token_file))
    done = _run_cli(isolated_env, "--config", str(config))
    assert done.returncode == 2 and "malformed" in done.stderr


def test_webhook_mode_checks_the_secret_token(start_bot, new_proxy, tmp_path, index_cache) -> None:
    token = make_token()
    proxy = new_proxy(token)
    port = free_port()
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret-for-tests")
    config = write_config(tmp_path, index_cache, mode="webhook",
                          webhook={"listen": "127.0.0.1", "port": port, "url": f"http://127.0.0.1:{port}/hook",
                                   "secret_token_file": str(secret_file)})
    bot = start_bot(proxy=proxy, token=token, config=config, wait_for="setWebhook")
    hook = proxy.wait_for("setWebhook")
    assert hook.params["secret_token"] == "s3cret-for-tests"
    user = bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    assert "557 万美元" in shown(reply)
    update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "text": "x",
                                          "chat": {"id": 1, "type": "private"}}}
    forged = httpx.post(f"http://127.0.0.1:{port}/hook", json=update, timeout=5)
    wrong = httpx.post(f"http://127.0.0.1:{port}/hook", json=update, timeout=5,
                       headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    assert forged.status_code == 403 and wrong.status_code == 403


def test_rejected_token_exits_with_one_sentence(isolated_env, new_proxy, tmp_path, index_cache) -> None:
    proxy = new_proxy(make_token())
    wrong = make_token()
    config = write_config(tmp_path, index_cache)
    done = _run_cli({**isolated_env, "TELEGRAM_BOT_TOKEN": wrong}, "--config", str(config),
                    "--api-base-url", proxy.base_url, "--db", str(tmp_path / "h.sqlite3"), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "quotebot: Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN."
    assert wrong not in done.stderr and wrong.split(":")[1] not in done.stderr

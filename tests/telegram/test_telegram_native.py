"""Telegram's own features, end to end: profile and menus, expandable quotes, inline paging, the
分享 button, /start links, edited questions, captions and forum topics.

Where the emulator has no such update (an edited message, an inline query) the proxy injects it
as Telegram would send it; what the bot does is read back from the calls the strict proxy accepted.
"""

from __future__ import annotations

import re
import time

from bot.telegram.links import start_payload
from bot.telegram.rules import problems, visible_text
from bot_harness import BotProcess
from emulator_harness import User, telegram_entities

COST_QUESTION = "DeepSeek-V3 的训练成本是多少？"
COST_TITLE = "DeepSeek 开源 LLM 对闭源 LLM 的影响"


def shown(message: dict) -> str:
    return visible_text(message["text"])


def keyboard(message: dict) -> list[dict]:
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def share_query(message: dict) -> str:
    [share] = [b for b in keyboard(message) if b["text"] == "分享"]
    chosen = share["switch_inline_query_chosen_chat"]
    assert chosen["allow_group_chats"] and chosen["allow_user_chats"]
    return chosen["query"]


def message_id_of(bot: BotProcess, user: User, text: str) -> int:
    """The id Telegram gave the user's message (from the updates the bot received)."""
    for update in bot.proxy.delivered_updates():
        message = update.get("message") or {}
        if message.get("text") == text and str(message.get("chat", {}).get("id")) == str(user.chat_id):
            return int(message["message_id"])
    raise AssertionError(f"no delivered message {text!r} in chat {user.chat_id}")


def ask_inline(bot: BotProcess, user: User, query: str, offset: str = "", chat_type: str = "supergroup") -> dict:
    """Inject an inline query as Telegram sends it; returns the bot's accepted answerInlineQuery params."""
    query_id = f"iq-{time.monotonic_ns()}"
    bot.proxy.inject({"inline_query": {"id": query_id, "from": user.sender(), "query": query, "offset": offset,
                                       "chat_type": chat_type}})
    call = bot.proxy.wait_for("answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id)
    assert call.ok, call.response
    return call.params


# --- the bot's profile --------------------------------------------------------------------------------

def test_descriptions_and_command_menus_per_scope_and_language(shared_bot: BotProcess) -> None:
    profile = shared_bot.proxy.profile()
    assert "逐字引用" in profile[("description", "")] and "word for word" in profile[("description", "en")]
    assert len(profile[("short_description", "")]) <= 120 and profile[("short_description", "en")]
    for language in ("", "en"):
        assert "forget" in profile[("commands:all_private_chats", language)]
        assert "start" not in profile[("commands:all_group_chats", language)]
        assert "forget" not in profile[("commands:all_group_chats", language)]
        assert "forget" in profile[("commands:all_chat_administrators", language)]


# --- how answers look -----------------------------------------------------------------------------

def test_the_best_quote_is_open_later_long_ones_fold_and_each_ends_with_its_source(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("美国的出口管制对中国 AI 有什么影响？")
    [reply] = user.wait_replies(1)
    quotes = re.findall(r"(<blockquote[^>]*>)(.*?)</blockquote>\n<i>(—— .*?)</i>", reply["text"], re.S)
    assert len(quotes) == 3 and quotes[0][0] == "<blockquote>"
    for tag, body, _ in quotes[1:]:
        assert (tag == "<blockquote expandable>") == (len(visible_text(body)) > 120)
    assert "<blockquote expandable>" in reply["text"]   # its later passages are long
    assert shown(reply).rstrip().splitlines()[-1] == quotes[-1][2]   # the source is the last line
    context_button = next(b for b in keyboard(reply) if b["text"] == "上下文 1")
    user.press(reply, context_button["callback_data"])
    [context] = user.wait_replies(1)
    quoted = re.findall(r"(<blockquote[^>]*>)(.*?)</blockquote>", context["text"], re.S)
    long_open = [body for tag, body in quoted if tag == "<blockquote>" and len(visible_text(body)) > 120]
    assert len(quoted) >= 2 and len(long_open) <= 1   # only the pressed passage itself stays open
    assert all(len(visible_text(body)) > 120 for tag, body in quoted if tag != "<blockquote>")


# --- inline mode and the share button ------------------------------------------------------------------

def test_inline_results_page_with_next_offset(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    first = ask_inline(shared_bot, user, "开源")
    assert len(first["results"]) == 10 and first["next_offset"] == "10"
    second = ask_inline(shared_bot, user, "开源", offset="10")
    assert second["results"]
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    offset, pages = second.get("next_offset", ""), 2
    while offset:
        offset = ask_inline(shared_bot, user, "开源", offset=offset).get("next_offset", "")
        pages += 1
    assert pages <= 5  # paging ends (at 50 results at most)


def test_share_button_puts_the_quote_with_its_source_into_another_chat(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send(COST_QUESTION)
    [reply] = user.wait_replies(1)
    query = share_query(reply)
    assert query.startswith("DeepSeek-V3") and "#" in query
    # The user picks a group: the client types "@bot <query>" there, and the bot answers inline.
    answer = ask_inline(shared_bot, user, query, chat_type="group")
    first = answer["results"][0]["input_message_content"]
    quoted = visible_text(first["message_text"])
    assert "557 万美元" in quoted and quoted.rstrip().endswith(shown(reply).split("\n")[1].strip()[3:])
    assert COST_TITLE in quoted
    assert problems(first["message_text"], first["parse_mode"]) == []
    [ask] = keyboard(answer["results"][0])
    assert ask["url"].startswith("https://t.me/TestNameBot?start=q")


def test_a_start_link_asks_its_question(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send(f"/start {start_payload(COST_QUESTION)}")
    [answer] = user.wait_replies(1)
    assert "557 万美元" in shown(answer) and "你好" not in shown(answer)
    user.send("/start not-a-question-payload")
    [welcome] = user.wait_replies(1)
    assert "你好" in shown(welcome)


# --- edits, captions, topics -------------------------------------------------------------------------

def test_an_edited_question_is_answered_again_in_the_same_message(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("美国的出口管制有什么影响？")
    [reply] = user.wait_replies(1)
    message_id = message_id_of(shared_bot, user, "美国的出口管制有什么影响？")
    edited = {**user.message(COST_QUESTION), "message_id": message_id, "date": int(time.time()) - 30,
              "edit_date": int(time.time())}
    started = time.monotonic()
    shared_bot.proxy.inject({"edited_message": edited})
    edit = shared_bot.proxy.wait_for("editMessageText", lambda c: c.params["message_id"] == str(reply["message_id"]),
                                     after=started)
    assert edit.ok and "557 万美元" in visible_text(edit.params["text"])
    assert user.no_reply(0.5) == []  # the reply was edited, not sent again
    [current] = [m for m in user.transcript() if m["message_id"] == reply["message_id"]]
    assert "557 万美元" in shown(current)


def test_an_edit_long_after_the_question_is_not_answered_again(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("星际之门计划")
    user.wait_replies(1)
    message_id = message_id_of(shared_bot, user, "星际之门计划")
    started = time.monotonic()
    shared_bot.proxy.inject({"edited_message": {**user.message(COST_QUESTION), "message_id": message_id,
                                                "date": int(time.time()) - 3600, "edit_date": int(time.time())}})
    time.sleep(1.0)
    assert [c for c in shared_bot.proxy.calls("editMessageText") if c.started >= started] == []
    assert user.no_reply(0.2) == []


def test_a_caption_is_read_as_a_question(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
    user.send_raw({"photo": photo, "caption": COST_QUESTION})
    [answer] = user.wait_replies(1)
    assert "557 万美元" in shown(answer)
    group = shared_bot.user("supergroup")
    caption = "/quote DeepSeek-V3 的训练成本是多少"
    group.send_raw({"photo": photo, "caption": caption, "caption_entities": telegram_entities(caption)})
    [quoted] = group.wait_replies(1)
    assert quoted["text"].count("<blockquote") == 1 and "557 万美元" in shown(quoted)


def test_replies_in_a_forum_topic_stay_in_it(shared_bot: BotProcess) -> None:
    user = shared_bot.user("supergroup", is_forum=True)
    text = "/quote DeepSeek-V3 的训练成本是多少"
    user.send_raw({"text": text, "entities": telegram_entities(text), "message_thread_id": 77,
                   "is_topic_message": True})
    [reply] = user.wait_replies(1)
    call = shared_bot.proxy.wait_for("sendMessage", lambda c: c.params["chat_id"] == str(user.chat_id))
    assert call.ok and call.params["message_thread_id"] == "77"
    user.press(reply, next(b["callback_data"] for b in keyboard(reply) if b["text"] == "上下文 1"))
    [context] = user.wait_replies(1)
    calls = [c for c in shared_bot.proxy.calls("sendMessage", user.chat_id) if c.ok]
    assert len(calls) == 2 and calls[1].params["message_thread_id"] == "77" and "557 万美元" in shown(context)


def test_every_call_of_the_native_features_was_accepted(shared_bot: BotProcess) -> None:
    # Runs last in this file: nothing the bot sent broke Telegram's rules.
    refused = [(c.method, c.response) for c in shared_bot.proxy.calls() if 400 <= c.status < 500]
    assert refused == [] and shared_bot.proxy.violations == []

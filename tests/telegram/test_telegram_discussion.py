"""Discussing the material in Telegram: the real bot against the emulator, and the rendering itself."""

from __future__ import annotations

from bot.conversation import Reply, ReplyKind
from bot.corpus import Passage
from bot.discussion import Group
from bot.retrieval import Hit
from bot.telegram.render import CallbackKeys, render_reply
from bot.telegram.rules import MAX_MESSAGE_UTF16, problems, utf16_len, visible_text
from bot_harness import BotProcess
from test_telegram_e2e import assert_all_calls_accepted, assert_sendable, buttons, shown

KEYS = CallbackKeys(["a#0", "b#0"], ["a", "b"])


def quote(source: str, text: str, speaker: str | None = None, title: str = "<标题> & 副题") -> Hit:
    passage = Passage(f"{source}#0", source, title, "", 0, text)
    return Hit(passage, 0.0, text, (), speaker)


def keyboard(out) -> dict[str, str]:
    """A rendered message's buttons: label -> callback data."""
    return {b.text: b.callback_data for row in out.keyboard.inline_keyboard for b in row}


def valid(messages) -> bool:
    return all(problems(m.text, "HTML", m.keyboard.to_dict() if m.keyboard else None) == [] for m in messages)


# --- rendering -------------------------------------------------------------------------------------

def test_overview_numbers_each_title_and_offers_its_digest() -> None:
    hits = (quote("a", "甲文的导语 <b>。"), quote("b", "乙文的导语。"))
    groups = tuple(Group(h.passage.source_title, (h,), show_source=False) for h in hits)
    reply = Reply(ReplyKind.OVERVIEW, "zh", hits=hits, groups=groups, query="这些文章讲了什么", offset=5,
                  has_more=True, lines=("共 7 篇文章：",))
    [out] = render_reply(reply, KEYS)
    text = visible_text(out.text)
    assert "6. 《<标题> & 副题》\n甲文的导语 <b>。" in text and "7. 《" in text
    data = keyboard(out)
    assert data["要点 6"] == "dig:a" and data["要点 7"] == "dig:b" and data["更多"].startswith("more:zh:7:")
    assert KEYS.source_id(data["要点 6"]) == "a" and valid([out])


def test_comparison_heads_each_side_and_says_when_one_has_nothing() -> None:
    side = quote("a", "甲方的看法。")
    reply = Reply(ReplyKind.COMPARISON, "en", hits=(side,), query="A vs B", lines=("A and B:",),
                  groups=(Group("A <x>", (side,), heading=True), Group("B", (), heading=True, note="Nothing on B.")))
    [out] = render_reply(reply, KEYS)
    assert "<b>A &lt;x&gt;</b>\n<blockquote>甲方的看法。</blockquote>" in out.text
    assert "<b>B</b>\n<i>Nothing on B.</i>" in out.text
    assert list(keyboard(out)) == ["Context 1"] and valid([out])


def test_long_discussion_replies_split_within_telegrams_limit() -> None:
    hits = tuple(quote("a", "很长的一段话。" * 300, speaker=f"说话人{i}") for i in range(5))
    groups = tuple(Group(h.speaker, (h,)) for h in hits)
    messages = render_reply(Reply(ReplyKind.SPEAKERS, "zh", hits=hits, groups=groups, lines=("引用了：",)), KEYS)
    assert len(messages) >= 2 and valid(messages)
    assert all(utf16_len(visible_text(m.text)) <= MAX_MESSAGE_UTF16 for m in messages)
    assert messages[-1].keyboard is not None and messages[0].keyboard is None


# --- the real bot ----------------------------------------------------------------------------------

def test_overview_digest_buttons_and_more_through_the_emulator(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("这几篇文章主要讲什么？")
    [overview] = user.wait_replies(1)
    assert "共 4 篇文章" in shown(overview) and "《开源AI模型的崛起:谁将主导未来的科技战场?》" in shown(overview)
    assert {"要点 1", "要点 4"} <= set(buttons(overview))
    user.press(overview, buttons(overview)["要点 2"])
    [digest] = user.wait_replies(1)
    assert "《DeepSeek 开源 LLM 对闭源 LLM 的影响》共" in shown(digest) and "成本效益" in shown(digest)
    user.press(digest, buttons(digest)["更多"])
    [page] = user.wait_replies(1)
    assert "\n6. " in "\n" + shown(page) and "上下文 6" in buttons(page)
    for message in (overview, digest, page):
        assert_sendable(message)
    assert_all_calls_accepted(shared_bot)


def test_sources_buttons_comparison_and_who_said_through_the_emulator(shared_bot: BotProcess) -> None:
    user = shared_bot.user()
    user.send("/sources")
    [sources] = user.wait_replies(1)
    assert "1. DeepSeek为何选择开源" in shown(sources) and buttons(sources)["要点 4"].startswith("dig")
    user.press(sources, buttons(sources)["要点 4"])
    [digest] = user.wait_replies(1)
    assert "亮点" in shown(digest)
    user.send("李彦宏与梁文锋在开源上有何不同？")
    [compared] = user.wait_replies(1)
    assert "<b>李彦宏</b>" in compared["text"] and "<b>梁文锋</b>" in compared["text"]
    user.send("“开源其实是一种智商税”是谁说的？")
    [said] = user.wait_replies(1)
    assert "这句话是 李彦宏 说的" in shown(said) and "—— 李彦宏，《" in shown(said)
    for message in (sources, digest, compared, said):
        assert_sendable(message)
    assert_all_calls_accepted(shared_bot)


def test_where_from_and_a_request_for_more_through_the_emulator(shared_bot: BotProcess) -> None:
    # After an answer, 出处呢 names the first passage's article and link; 详细说说 is the next page,
    # with the buttons a page of 更多 has; 好的 gets a prompt to ask on.
    user = shared_bot.user()
    user.send("Sarah Guo 怎么看应用层公司？")
    [answer] = user.wait_replies(1)
    assert "《开源AI模型的崛起" in shown(answer) and "更多" in buttons(answer)
    user.send("出处呢？")
    [source] = user.wait_replies(1)
    assert "这段出自《开源AI模型的崛起:谁将主导未来的科技战场?》。" in shown(source)
    assert "原文：https://www.youtube.com/watch?v=fwodaUGKSPk" in shown(source)
    user.send("详细说说")
    [page] = user.wait_replies(1)
    assert "上下文 4" in buttons(page) and shown(page) != shown(answer)
    user.send("好的")
    [ack] = user.wait_replies(1)
    assert shown(ack).startswith("好的。还想知道什么，直接问就行")
    for message in (answer, source, page, ack):
        assert_sendable(message)
    assert_all_calls_accepted(shared_bot)


def test_who_takes_a_side_through_the_emulator(shared_bot: BotProcess) -> None:
    # No article says 反对: those quoted on 开源, each under their name with their words, and a
    # line saying the sides are the reader's to judge; as a contrast after 谁支持开源？ too.
    user = shared_bot.user()
    user.send("有谁反对开源吗？")
    [side] = user.wait_replies(1)
    text = shown(side)
    assert text.startswith("（文章里没有直接说谁「反对」；") and "就「开源」，文章引用了" in text
    assert "开源模型打不过闭源模型" in text and "—— 李彦宏，《" in text
    assert "上下文 1" in buttons(side)
    user.send("那谁支持呢？")
    [other] = user.wait_replies(1)
    assert "（上一个问题反过来问：有谁支持开源吗？）" in shown(other)
    for message in (side, other):
        assert_sendable(message)
    assert_all_calls_accepted(shared_bot)

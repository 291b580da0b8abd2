"""Rendering the engine's replies as Telegram HTML: escaping, highlighting, limits, buttons, language."""

from __future__ import annotations

import re

from bot.conversation import Reply, ReplyKind, SourceInfo
from bot.corpus import Passage
from bot.retrieval import Hit
from bot.telegram.links import question_from_payload, start_link, start_payload
from bot.telegram.render import (CallbackKeys, clean, cut, example_question, highlight, pack, parse_more,
                                 parse_sources_page, query_key, render_context, render_inline_results,
                                 render_reply, render_sources, share_query, split_share_tag, without_more_button)
from bot.telegram.rules import MAX_MESSAGE_UTF16, problems, utf16_len, visible_text


def passage(number: int = 1, text: str = "DeepSeek-V3 的开发成本约为 557 万美元。", section: str = "成本效益",
            source_id: str = "001_e2f9413533b5e171", title: str = "DeepSeek 开源 LLM 对闭源 LLM 的影响") -> Passage:
    return Passage(id=f"{source_id}#{number}", source_id=source_id, source_title=title, section=section,
                   position=number, text=text)


def hit(number: int = 1, text: str = "DeepSeek-V3 的开发成本约为 557 万美元。", terms: tuple[str, ...] = ("成本",),
        **kwargs: str) -> Hit:
    return Hit(passage=passage(number, text, **kwargs), score=1.0, snippet=text, matched_terms=terms)


def answer(*hits: Hit, lang: str = "zh", has_more: bool = True, offset: int = 0,
           lines: tuple[str, ...] = ()) -> Reply:
    return Reply(ReplyKind.ANSWER, lang, hits=hits, query="成本是多少", offset=offset, has_more=has_more,
                 lines=lines)


KEYS = CallbackKeys([])


def assert_valid(messages) -> None:
    for out in messages:
        markup = out.keyboard.to_dict() if out.keyboard else None
        assert problems(out.text, "HTML", markup) == [], out.text[:200]


def test_answer_quotes_each_passage_with_its_source_and_bold_terms() -> None:
    [out] = render_reply(answer(hit(1), hit(2, text="开源让成本下降。", section="")), KEYS)
    assert out.text.count("<blockquote>") == 2
    assert "<b>成本</b>" in out.text
    shown = visible_text(out.text)
    assert "《DeepSeek 开源 LLM 对闭源 LLM 的影响》 · 成本效益" in shown
    assert "《DeepSeek 开源 LLM 对闭源 LLM 的影响》\n" in shown + "\n"
    assert_valid([out])


def test_article_and_user_text_are_escaped() -> None:
    nasty = hit(text="a <b>bold</b> & <script>x</script> &amp;", terms=("<b>", "&"))
    reply = answer(nasty, lines=("（接着上一个问题：<i>&lt;）",))
    [out] = render_reply(reply, KEYS)
    assert "<script>" not in out.text and "<i>&lt;" not in out.text
    assert "a <b>bold</b> & <script>x</script> &amp;" in visible_text(out.text)
    assert_valid([out])


def test_highlight_prefers_longest_terms_ignores_case_and_merges_touching_runs() -> None:
    assert highlight("DeepSeek-V3 与 deepseek", ["DeepSeek", "DeepSeek-V3"]) == \
        "<b>DeepSeek-V3</b> 与 <b>deepseek</b>"
    assert highlight("成本价格低廉", ["成本", "价格"]) == "<b>成本价格</b>低廉"
    assert highlight("a<b", ["<"]) == "a<b>&lt;</b>b"


def test_control_characters_and_lone_surrogates_are_not_sent() -> None:
    assert clean("a\x00b\x1b[31mc\u202ed\ud800e\n") == "ab[31mcd\ufffde\n"


def test_a_passage_too_long_for_one_message_is_cut() -> None:
    long_text = "长" * 6000
    [out] = render_reply(answer(hit(text=long_text, terms=())), KEYS)
    shown = visible_text(out.text)
    assert utf16_len(shown) <= MAX_MESSAGE_UTF16
    assert "…" in shown and "《DeepSeek" in shown
    assert_valid([out])


def test_a_long_answer_is_split_between_passages_with_buttons_on_the_last() -> None:
    hits = [hit(i, text=f"第{i}段" + "字" * 2500, terms=("字",)) for i in range(1, 4)]
    messages = render_reply(answer(*hits), KEYS)
    assert len(messages) == 3
    assert all(m.keyboard is None for m in messages[:-1]) and messages[-1].keyboard is not None
    assert [visible_text(m.text)[:3] for m in messages] == ["第1段", "第2段", "第3段"]
    assert_valid(messages)


def test_length_is_counted_in_utf16_units() -> None:
    emoji = "😀" * 1500  # 3000 UTF-16 units though 1500 characters
    messages = render_reply(answer(hit(1, text=emoji, terms=()), hit(2, text=emoji, terms=())), KEYS)
    assert len(messages) == 2
    assert_valid(messages)
    assert utf16_len(cut("😀" * 10, 5)) <= 5


def test_buttons_context_per_passage_and_more_with_small_callback_data() -> None:
    [out] = render_reply(answer(hit(1), hit(2), offset=3), KEYS)
    labels = {b.text: b.callback_data for row in out.keyboard.inline_keyboard for b in row}
    assert labels["上下文 4"] == "ctx:001_e2f9413533b5e171#1"
    assert labels["上下文 5"] == "ctx:001_e2f9413533b5e171#2"
    press = parse_more(labels["更多"])
    assert press is not None and press.lang == "zh" and press.offset == 5
    assert press.continues("成本是多少", 5) and not press.continues("别的问题", 5)
    assert not press.continues("成本是多少", 8)


def test_no_more_button_when_nothing_follows() -> None:
    [out] = render_reply(answer(hit(1), has_more=False), KEYS)
    assert [b.text for row in out.keyboard.inline_keyboard for b in row] == ["上下文 1", "分享"]
    assert without_more_button(out.keyboard) == out.keyboard


def test_long_passage_ids_become_short_keys_that_resolve_back() -> None:
    long_id = "一篇名字非常非常长的文章关于开源模型和出口管制以及更多内容#12"
    keys = CallbackKeys([long_id, "short#1"])
    data = keys.context_data(long_id)
    assert len(data.encode("utf-8")) <= 64
    assert keys.passage_id(data) == long_id
    assert keys.passage_id(keys.context_data("short#1")) == "short#1"
    assert keys.passage_id("ctx#unknown") is None


def test_english_reply_has_english_buttons_and_source_line() -> None:
    [out] = render_reply(answer(hit(1), lang="en"), KEYS)
    labels = [b.text for row in out.keyboard.inline_keyboard for b in row]
    assert labels == ["Context 1", "More", "Share"]
    assert "— “DeepSeek 开源 LLM 对闭源 LLM 的影响”, 成本效益" in visible_text(out.text)
    assert "557 万美元" in visible_text(out.text)


def test_ignored_reply_sends_nothing() -> None:
    assert render_reply(Reply(ReplyKind.IGNORED, "zh"), KEYS) == []


def test_start_offers_example_buttons_in_the_users_language() -> None:
    [out] = render_reply(Reply(ReplyKind.START, "en", lines=("Hello!",)), KEYS)
    data = [b.callback_data for row in out.keyboard.inline_keyboard for b in row]
    assert len(data) == 3
    question, lang = example_question(data[0])
    assert lang == "en" and question == out.keyboard.inline_keyboard[0][0].text
    assert example_question("ex:xx:9") is None


def test_sources_page_ten_articles_with_a_digest_button_each_and_escape() -> None:
    sources = tuple(SourceInfo(f"s{i}", f"<标题 {i}>", 10, ("开源", "成本"), None, None) for i in range(300))
    [first] = render_reply(Reply(ReplyKind.SOURCES, "zh", lines=("收录了 300 篇文章：",), sources=sources), KEYS)
    shown = visible_text(first.text)
    assert "300" in shown and "1. <标题 0>" in shown and "10. <标题 9>" in shown and "<标题 10>" not in shown
    data = [b.callback_data for row in first.keyboard.inline_keyboard for b in row]
    assert data[:10] == [f"dig:s{i}" for i in range(10)] and data[-1] == "src:zh:10"
    assert parse_sources_page(data[-1]) == ("zh", 10) and parse_sources_page("src:x") is None
    [last] = render_sources(sources, "en", KEYS, 290)
    assert "300. <标题 299>" in visible_text(last.text)
    assert not any(b.callback_data.startswith("src:") for row in last.keyboard.inline_keyboard for b in row)
    assert_valid([first, last])


def test_a_reply_with_nothing_to_show_still_says_something() -> None:
    [out] = render_reply(Reply(ReplyKind.NO_MORE, "zh"), KEYS)
    assert visible_text(out.text).strip()


def test_context_quotes_the_passage_between_its_neighbours() -> None:
    passages = (passage(1, "前一段 <x>"), passage(2, "这一段"), passage(3, "后一段"))
    [out] = render_context(passages, passages[1].id, "zh")
    assert "<blockquote>这一段</blockquote>" in out.text
    assert "前一段 &lt;x&gt;" in out.text
    assert "《DeepSeek 开源 LLM 对闭源 LLM 的影响》" in visible_text(out.text)
    assert_valid([out])
    [missing] = render_context((), "", "en")
    assert "no longer" in visible_text(missing.text)


def test_inline_results_have_titles_snippets_and_valid_quotes() -> None:
    hits = [hit(i % 12, text=f"第{i}段 <开源> " + "字" * 300, terms=("开源",)) for i in range(15)]
    results = render_inline_results(hits, "zh")
    assert len(results) == 10
    assert len({r.id for r in results}) == 10
    for result in results:
        data = result.to_dict()
        assert data["title"] and len(data["description"]) <= 120
        content = data["input_message_content"]
        assert problems(content["message_text"], content["parse_mode"]) == []
        assert content["link_preview_options"] == {"is_disabled": True}


def test_pack_keeps_every_block_within_the_limit() -> None:
    blocks = ["<b>x</b>" * 10, "y" * 5000, "z"]
    messages = pack(blocks, limit=100)
    assert all(utf16_len(visible_text(m)) <= 100 for m in messages)
    assert visible_text(messages[-1]).endswith("z")


def test_query_key_is_stable_and_short() -> None:
    assert query_key("成本是多少") == query_key("成本是多少") != query_key("成本")
    assert len(query_key("x" * 1000)) == 10


def test_a_notable_quotation_names_its_speaker_and_source() -> None:
    quotation = Hit(passage=passage(), score=0.0, snippet="开源其实是一种智商税。", matched_terms=(),
                    speaker="李彦宏")
    text = render_reply(Reply(ReplyKind.QUOTES, "zh", hits=(quotation,)), KEYS)[0].text
    assert "—— 李彦宏，《DeepSeek 开源 LLM 对闭源 LLM 的影响》" in visible_text(text)
    assert problems(text, "HTML", None) == []


# --- folding, sharing, deep links ---------------------------------------------------------------

LONG = "开源" + "让更多的人用上大模型，" * 14   # about 150 characters


def test_the_first_quote_stays_open_and_later_long_ones_fold() -> None:
    [out] = render_reply(answer(hit(1, text=LONG), hit(2, text=LONG), hit(3, text="开源让成本下降。")), KEYS)
    tags = [t for t in ("<blockquote>", "<blockquote expandable>") for _ in range(out.text.count(t))]
    assert out.text.index("<blockquote>") < out.text.index("<blockquote expandable>")
    assert sorted(tags) == sorted(["<blockquote>", "<blockquote expandable>", "<blockquote>"])
    assert visible_text(out.text).rstrip().endswith("《DeepSeek 开源 LLM 对闭源 LLM 的影响》 · 成本效益")
    assert_valid([out])


def test_the_share_button_names_the_first_passage_and_its_tag_resolves_back() -> None:
    keys = CallbackKeys(["001_e2f9413533b5e171#1", "001_e2f9413533b5e171#2"])
    [out] = render_reply(answer(hit(1), hit(2)), keys)
    [share] = [b for row in out.keyboard.inline_keyboard for b in row if b.text == "分享"]
    query = share.switch_inline_query_chosen_chat.query
    words, tag = split_share_tag(query)
    assert words == "成本是多少" and keys.shared_passage(tag) == "001_e2f9413533b5e171#1"
    assert split_share_tag("开源 #nothex") == ("开源 #nothex", None)
    assert len(share_query("问" * 300, "0" * 24)) < 256   # an inline query holds 256 characters


def test_inline_results_carry_a_link_that_asks_the_question_in_the_bot() -> None:
    results = render_inline_results([hit(1)], "zh", ask_link="https://t.me/QuoteBot?start=qabc")
    [[button]] = results[0].reply_markup.inline_keyboard
    assert button.url == "https://t.me/QuoteBot?start=qabc"
    assert problems(results[0].input_message_content.message_text, "HTML",
                    results[0].reply_markup.to_dict()) == []


def test_start_payloads_carry_a_question_and_refuse_what_they_cannot() -> None:
    for question in ("DeepSeek 为什么开源？", "出口管制对中国的 AI 有什么影响？", "What do export controls change?"):
        payload = start_payload(question)
        assert payload is not None and len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
        assert question_from_payload(payload) == question
    assert start_payload("问" * 30) is None                      # too long for 64 characters
    assert question_from_payload("q" + "L2ZvcmdldA") == "forget"  # "/forget": a link only asks
    assert question_from_payload("ref_123") is None and question_from_payload("q!!") is None
    assert start_link("QuoteBot", "开源") == f"https://t.me/QuoteBot?start={start_payload('开源')}"
    assert start_link(None, "开源") is None

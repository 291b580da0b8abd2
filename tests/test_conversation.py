"""The engine on a tiny hand-made corpus with the real retriever and a real SQLite history."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.conversation import (MAX_QUESTION_CHARS, Engine, ReplyKind, is_more, parse_command,
                              prepare_question)
from bot.corpus import Corpus, Passage, Source
from bot.history import HistoryStore
from bot.messages import detect_lang
from bot.retrieval import Retriever

PANDA = "大熊猫保护手记"
COFFEE = "云南咖啡产业观察"
_TEXTS = {
    ("panda", PANDA, "栖息地"): [
        "大熊猫主要生活在四川的山区竹林里，每天要吃大量竹子。",
        "保护区的工作人员说，野外大熊猫的数量在过去十年里稳定增长。",
        "研究员王明认为，栖息地之间的走廊连通是保护大熊猫的关键。",
        "王明说：“公众参与让保护经费更加充足，也让巡护队伍更加稳定。”",
    ],
    ("coffee", COFFEE, ""): [
        "云南普洱是中国最大的咖啡产区，海拔适中，气候温和。",
        "咖啡农李华表示，精品咖啡的收购价格比普通咖啡高出一倍。",
        "李华认为，种植技术培训比政府补贴更重要。",
        "咖啡豆的烘焙程度决定了咖啡的风味。",
    ],
}


def tiny_corpus() -> Corpus:
    """Two sources of four passages each, small enough to check every ranking by hand."""
    sources, passages = [], []
    for (source_id, title, section), texts in _TEXTS.items():
        own = tuple(Passage(f"{source_id}#{i}", source_id, title, section, i, text)
                    for i, text in enumerate(texts))
        sources.append(Source(source_id, title, Path(f"{source_id}.txt"), None, None, None, own))
        passages += own
    return Corpus(tuple(sources), tuple(passages))


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Config:
    base = tmp_path_factory.mktemp("tiny")
    config = load_config(env={"HOME": str(base)})
    return config.with_overrides(retrieval={"top_k": 2, "cache_dir": base / "cache"},
                                 history={"db_path": base / "unused.sqlite3"})


@pytest.fixture(scope="module")
def retriever(tiny_config: Config) -> Retriever:
    return Retriever(tiny_corpus(), tiny_config.retrieval)


@pytest.fixture
async def store(tmp_path: Path):
    history = await HistoryStore.open(tmp_path / "h.sqlite3", max_turns_per_chat=100)
    yield history
    await history.close()


@pytest.fixture
def engine(tiny_config: Config, retriever: Retriever, store: HistoryStore) -> Engine:
    return Engine(tiny_config, tiny_corpus(), retriever, store, bot_username="QuoteBot")


def ids(reply) -> list[str]:
    return [h.passage.id for h in reply.hits]


# --- questions and paging -------------------------------------------------------------------

async def test_question_gets_the_passage_with_its_source(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "种植技术培训重要吗？")
    assert reply.kind is ReplyKind.ANSWER and reply.lang == "zh"
    assert ids(reply)[0] == "coffee#2"
    assert reply.hits[0].passage.source_title == COFFEE


async def test_more_pages_through_results_without_repeats(engine: Engine) -> None:
    first = await engine.handle(1, 1, "咖啡")
    assert first.kind is ReplyKind.ANSWER and len(first.hits) == 2 and first.has_more
    second = await engine.handle(1, 1, "更多")
    assert second.kind is ReplyKind.ANSWER and second.offset == 2 and second.query == "咖啡"
    assert not set(ids(first)) & set(ids(second))
    # The coffee article's passages (its title names coffee even where the text does not).
    assert {*ids(first), *ids(second)} <= {"coffee#0", "coffee#1", "coffee#2", "coffee#3"}
    while second.has_more:
        second = await engine.handle(1, 1, "/more")
    last = await engine.handle(1, 1, "/more")
    assert last.kind is ReplyKind.NO_MORE and last.lines


async def test_more_without_a_question_says_so(engine: Engine) -> None:
    reply = await engine.handle(9, 9, "/more")
    assert reply.kind is ReplyKind.NO_MORE
    assert "先问一个" in reply.lines[0]


async def test_paging_survives_a_restart(tiny_config: Config, retriever: Retriever,
                                         tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    async with await HistoryStore.open(path, 100) as store:
        first = await Engine(tiny_config, tiny_corpus(), retriever, store).handle(4, 4, "咖啡")
    async with await HistoryStore.open(path, 100) as store:
        second = await Engine(tiny_config, tiny_corpus(), retriever, store).handle(4, 4, "more")
    assert second.kind is ReplyKind.ANSWER and second.offset == 2
    assert not set(ids(first)) & set(ids(second))


async def test_off_topic_question_abstains_and_names_the_sources(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "明天北京会下雨吗？")
    assert reply.kind is ReplyKind.NO_MATCH and reply.hits == ()
    assert PANDA in "".join(reply.lines) and COFFEE in "".join(reply.lines)


# --- follow-ups -----------------------------------------------------------------------------

async def test_follow_up_leans_on_the_previous_question(engine: Engine) -> None:
    await engine.handle(2, 2, "栖息地走廊连通有什么用？")
    reply = await engine.handle(2, 2, "那他怎么看？")
    assert reply.kind is ReplyKind.ANSWER
    assert "栖息地走廊连通有什么用？" in f"{reply.query} {reply.context}"
    assert any("栖息地走廊连通" in line for line in reply.lines)
    assert reply.hits[0].passage.source_id == "panda"
    # In a chat with no earlier question there is nothing to lean on.
    alone = await engine.handle(3, 3, "那他怎么看？")
    assert alone.context is None and not any("接着" in line for line in alone.lines)


async def test_more_after_a_follow_up_keeps_its_context(engine: Engine, store: HistoryStore) -> None:
    await engine.handle(5, 5, "大熊猫的数量")
    await engine.handle(5, 5, "它们吃什么呢")
    await engine.handle(5, 5, "/more")
    last = await store.last_answer(5)
    assert last.offset > 0 and "它们吃什么呢" in last.query and "大熊猫的数量" in f"{last.query} {last.context}"


async def test_off_topic_follow_up_is_not_rescued_by_the_previous_question(engine: Engine) -> None:
    await engine.handle(6, 6, "王明怎么看栖息地走廊？")
    reply = await engine.handle(6, 6, "那他怎么看下雨天气？")
    assert reply.kind is ReplyKind.NO_MATCH and not reply.hits


async def test_follow_up_skips_a_question_that_found_nothing(engine: Engine) -> None:
    await engine.handle(7, 7, "王明怎么看栖息地走廊？")
    off_topic = await engine.handle(7, 7, "明天北京会下雨吗")
    assert off_topic.kind is ReplyKind.NO_MATCH
    reply = await engine.handle(7, 7, "那他呢？")
    assert reply.kind is ReplyKind.ANSWER and "王明怎么看栖息地走廊？" in f"{reply.query} {reply.context}"
    assert not any("下雨" in line for line in reply.lines)


@pytest.mark.parametrize("question", ["那他怎么看？", "他们呢", "这个呢？", "为什么？", "And what about him?"])
def test_follow_up_detection_catches_leaning_questions(engine: Engine, question: str) -> None:
    assert engine.is_follow_up(question)


@pytest.mark.parametrize("question", ["李华认为种植技术培训重要吗", "咖啡豆烘焙决定什么", "其他产区的咖啡",
                                      "明天北京会下雨吗", "Why do coffee prices rise?"])
def test_standalone_questions_are_not_follow_ups(engine: Engine, question: str) -> None:
    assert not engine.is_follow_up(question)


# --- commands -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind", [
    ("/start", ReplyKind.START), ("/help", ReplyKind.HELP), ("/sources", ReplyKind.SOURCES),
    ("/history", ReplyKind.HISTORY), ("/forget", ReplyKind.FORGOTTEN),
    ("/HELP", ReplyKind.HELP), ("/help@QuoteBot", ReplyKind.HELP), ("/help@quotebot", ReplyKind.HELP),
    ("/frobnicate", ReplyKind.UNKNOWN_COMMAND), ("/quote@OtherBot 咖啡", ReplyKind.IGNORED),
    ("/more@OtherBot", ReplyKind.IGNORED),
])
async def test_commands_route_to_their_reply(engine: Engine, text: str, kind: ReplyKind) -> None:
    reply = await engine.handle(1, 1, text)
    assert reply.kind is kind
    if kind is not ReplyKind.IGNORED:
        assert reply.lines, "every reply but IGNORED has something to say"


async def test_help_lists_every_command(engine: Engine) -> None:
    text = "\n".join((await engine.handle(1, 1, "/help")).lines)
    for command in ("/start", "/help", "/quote", "/more", "/sources", "/history", "/forget"):
        assert command in text


async def test_unknown_command_lists_the_commands(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "/frobnicate now")
    assert "/frobnicate" in reply.lines[0] and "/quote" in reply.lines[0]


async def test_quote_with_a_question_answers_it(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "/quote@QuoteBot 咖啡价格")
    assert reply.kind is ReplyKind.ANSWER and ids(reply)[0] == "coffee#1"


async def test_a_command_for_another_bot_is_ignored_only_when_we_know_our_name(
        tiny_config: Config, retriever: Retriever, store: HistoryStore) -> None:
    nameless = Engine(tiny_config, tiny_corpus(), retriever, store)
    assert (await nameless.handle(1, 1, "/quote@OtherBot 咖啡")).kind is ReplyKind.ANSWER


async def test_bare_quote_gives_notable_quotations(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "/quote")
    assert reply.kind is ReplyKind.QUOTES
    assert [h.snippet for h in reply.hits] == ["公众参与让保护经费更加充足，也让巡护队伍更加稳定。"]
    assert reply.hits[0].matched_terms == () and reply.hits[0].passage.id == "panda#3"


async def test_sources_have_titles_counts_and_own_keywords(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "/sources")
    by_title = {s.title: s for s in reply.sources}
    assert set(by_title) == {PANDA, COFFEE}
    assert by_title[COFFEE].passage_count == 4
    assert "咖啡" in by_title[COFFEE].keywords and "咖啡" not in by_title[PANDA].keywords
    assert "大熊猫" in by_title[PANDA].keywords


async def test_history_shows_turns_and_forget_erases_them(engine: Engine) -> None:
    await engine.handle(6, 6, "咖啡")
    await engine.handle(6, 6, "更多")
    history = await engine.handle(6, 6, "/history")
    assert [t.role for t in history.turns] == ["user", "bot", "user", "bot"]
    assert history.turns[0].text == "咖啡" and history.turns[1].passage_ids
    forgotten = await engine.handle(6, 6, "/forget")
    assert "4" in forgotten.lines[0]
    empty = await engine.handle(6, 6, "/history")
    assert empty.turns == () and "还没有记录" in empty.lines[0]
    assert (await engine.handle(6, 6, "/more")).kind is ReplyKind.NO_MORE


async def test_history_tells_passages_that_ran_out_from_a_question_that_found_none(engine: Engine) -> None:
    """/history's line for a page past the answers says they ran out (the reply the user saw),
    not that nothing relevant was found, which a question with no match says."""
    await engine.handle(7, 7, "咖啡")
    for _ in range(10):
        if (await engine.handle(7, 7, "更多")).kind is ReplyKind.NO_MORE:
            break
    else:
        raise AssertionError("更多 never ran out")
    await engine.handle(7, 7, "红烧肉怎么做？")
    bot_lines = [t.text for t in (await engine.handle(7, 7, "/history")).turns if t.role == "bot"]
    assert bot_lines[-2] == "没有更多相关段落了" and bot_lines[-1] == "没有找到相关段落", bot_lines


def test_context_gives_the_neighbours(engine: Engine) -> None:
    assert [p.id for p in engine.context("coffee#1")] == ["coffee#0", "coffee#1", "coffee#2"]
    assert engine.context("nope#1") == ()


def test_stateless_search_skips_bad_input(engine: Engine) -> None:
    assert engine.search("咖啡风味")[0].passage.id == "coffee#3"
    assert engine.search("   ") == [] and engine.search("😀") == []


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind", [
    ("", ReplyKind.EMPTY), ("   \t ", ReplyKind.EMPTY), ("\n", ReplyKind.EMPTY),
    ("😀🎉👍", ReplyKind.EMPTY), ("？！。…", ReplyKind.EMPTY), ("<b>&</b>", ReplyKind.EMPTY),
    ("\x00\x01\x02\x1b[31m", ReplyKind.EMPTY), ("\x00\x01\x02\x03\x04", ReplyKind.EMPTY),
    ("\ufffd\ufffd\ufffdPK\x03\x04\ufffd\ufffd", ReplyKind.EMPTY),
    ("<script>alert(1)</script>", ReplyKind.NO_MATCH),
])
async def test_bad_input_gets_a_clear_reply(engine: Engine, text: str, kind: ReplyKind) -> None:
    reply = await engine.handle(1, 1, text)
    assert reply.kind is kind and reply.lines and reply.hits == ()


async def test_html_around_a_real_question_is_stripped(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "<b>咖啡豆的烘焙</b> &amp; 风味")
    assert reply.kind is ReplyKind.ANSWER and ids(reply)[0] == "coffee#3"


async def test_a_huge_message_is_cut_and_the_reply_says_so(engine: Engine, store: HistoryStore) -> None:
    reply = await engine.handle(7, 7, "咖啡豆的烘焙程度" + "啊" * 10_000)
    assert reply.truncated and len(reply.query) <= MAX_QUESTION_CHARS
    assert any(str(MAX_QUESTION_CHARS) in line for line in reply.lines)
    assert reply.kind is ReplyKind.ANSWER and ids(reply)[0] == "coffee#3"
    assert len((await store.recent_turns(7))[0].text) < 10_000


def test_prepare_question_drops_controls_and_tags() -> None:
    prepared = prepare_question("  咖啡\x00\u200b 的<i>风味</i>\n ")
    assert prepared.text == "咖啡 的 风味" and prepared.problem is None


@pytest.mark.parametrize("text", ["更多", "more", "MORE!", " 下一页。", "更多？", "More...", "再来几段", "还有吗？",
                                  "继续", "next page", "Show more", "再來幾段", "下一頁", "還有嗎？", "繼續",
                                  "然后呢？", "后来呢", "接着说", "继续讲", "然後呢"])
def test_more_words(text: str) -> None:
    assert is_more(text)


@pytest.mark.parametrize("text", ["更多信息", "more about coffee", "/more", "", "还有谁支持开源", "继续开源吗", "還有誰支持開源",
                                  "然后呢开源怎么样", "后来怎么样了"])
def test_not_more_words(text: str) -> None:
    assert not is_more(text)


def test_parse_command() -> None:
    command = parse_command("/Quote@Some_Bot  梁文锋 怎么看")
    assert (command.name, command.bot, command.args) == ("quote", "Some_Bot", "梁文锋 怎么看")
    assert parse_command("你好 /help") is None


# --- language -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, hint, lang", [
    ("咖啡怎么样", "en", "zh"),                      # Han characters: Chinese whatever the hint
    ("how is the coffee priced", None, "en"),
    ("how is the coffee priced", "zh-hans", "en"),  # an English sentence wins over the hint
    ("DeepSeek", None, "zh"),                       # a brand alone: the articles' language...
    ("DeepSeek", "en-US", "en"),                    # ...unless the user's client says English
    ("Sarah Guo", "zh", "zh"),
    ("hello", None, "en"),
    ("Why?", None, "en"), ("How?", "zh-hans", "en"),  # a question word alone is English however written
    ("😀", "en", "en"), ("😀", None, "zh"),
])
def test_detect_lang(text: str, hint: str | None, lang: str) -> None:
    assert detect_lang(text, hint) == lang


async def test_english_question_gets_english_sentences(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "will it rain in Beijing tomorrow?")
    assert reply.lang == "en" and reply.kind is ReplyKind.NO_MATCH
    assert "nothing relevant" in reply.lines[0]
    assert (await engine.handle(1, 1, "/help", lang="en")).lines[0].startswith("Just send")


async def test_control_characters_never_reach_the_history(engine: Engine, store: HistoryStore) -> None:
    await engine.handle(8, 8, "咖啡\x1b[2J豆的\u202e烘焙")
    assert (await store.recent_turns(8))[0].text == "咖啡 [2J豆的 烘焙"


def test_source_keywords_read_a_bounded_number_of_passages(retriever: Retriever, monkeypatch) -> None:
    import bot.conversation as conversation
    full = conversation.source_infos(tiny_corpus(), retriever.analyzer)
    assert all(info.keywords for info in full)
    # A budget of one passage: the first source gets keywords from it, the second none.
    monkeypatch.setattr(conversation, "KEYWORD_PASSAGES", 1)
    bounded = conversation.source_infos(tiny_corpus(), retriever.analyzer)
    assert bounded[0].keywords and bounded[1].keywords == ()
    assert [i.passage_count for i in bounded] == [i.passage_count for i in full]

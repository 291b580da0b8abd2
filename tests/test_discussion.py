"""Discussing the material: recognizing the kinds of question, and each kind's reply.

On a tiny hand-made library (three articles, every answer checkable by hand) and on the bundled
articles, with the real corpus loader, retriever and a real SQLite history.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from engines import engine_over

from bot.config import load_config
from bot.console import render_text
from bot.conversation import Engine, ReplyKind
from bot.corpus import load_corpus
from bot.discussion import PAGE_ITEMS, Discussion, Kind
from bot.history import HistoryStore
from bot.retrieval import Retriever

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"

GARDEN = """\
# 城市菜园调查

本文介绍了城市屋顶菜园的兴起、种植方法和居民对屋顶菜园的看法。

## 兴起

近五年来，城市屋顶菜园的数量增长了三倍，许多小区把闲置的屋顶改成了菜园。

屋顶菜园大多种植番茄、黄瓜和生菜，这些蔬菜生长快、产量高、容易照料。

## 种植方法

屋顶菜园需要轻质土壤和滴灌设备，否则楼板难以承受浇透水以后的重量。

研究员王明表示，滴灌可以节省一半的用水，是屋顶菜园里最重要的设备。

## 居民看法

住在三楼的居民中，李华说：“自己种的菜吃起来更放心，孩子也喜欢来帮忙。”

物业公司则认为，屋顶菜园增加了楼顶防水层的维护成本，需要定期检查。
"""

COFFEE = """\
张强认为，精品咖啡的收购价格比普通咖啡高出一倍，所以他把家里的咖啡园都改种了精品咖啡。
云南普洱的咖啡产区海拔适中，气候温和，很适合种植阿拉比卡品种的咖啡树。
精品咖啡的收购价格每公斤四十元左右，农户需要精心挑选成熟的红色咖啡果。
相比之下，普通咖啡的收购价格只有每公斤二十元，但农户不需要逐颗挑选咖啡果。
咖啡豆的烘焙程度决定了咖啡的风味，浅烘焙的咖啡豆保留了更多果酸和花香。
每年十一月到次年二月是普洱咖啡的采摘季，采摘工人大多来自附近的村寨。
"""

INTERVIEW = """\
# 咖啡师访谈

记者：你当初为什么会选择做一名咖啡师，而不是去做别的工作？

Anna Berg: 因为咖啡能让人慢下来，每一杯咖啡都是和客人的一次认真交流。

这份工作最难的是保持稳定，每天的咖啡豆都不一样，要不停地调整研磨和水温。

记者：你对想入行的年轻人有什么建议，需要先去学校学习吗？
"""


def write_library(folder: Path, articles: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """(config, corpus, retriever) over the three hand-made articles."""
    base = tmp_path_factory.mktemp("tiny-library")
    seeds = write_library(base / "seeds", {"a_garden.md": GARDEN, "b_coffee.txt": COFFEE,
                                           "c_interview.txt": INTERVIEW})
    config = load_config(env={"HOME": str(base)}).with_overrides(
        corpus={"seeds_dir": seeds, "sources_file": FIXTURES / "sources.yaml"},
        retrieval={"cache_dir": base / "cache"}, history={"db_path": base / "unused.sqlite3"})
    corpus = load_corpus(config.corpus)
    return config, corpus, Retriever(corpus, config.retrieval)


@pytest.fixture(scope="module")
def bundled(bundled_parts):
    return bundled_parts


@pytest.fixture
async def engine(tiny, tmp_path: Path):
    async with engine_over(tiny, tmp_path / "h.sqlite3") as engine:
        yield engine


def discussion(parts) -> Discussion:
    _, corpus, retriever = parts
    return Discussion(corpus, retriever)


def texts(reply) -> list[str]:
    return [h.passage.text for h in reply.hits]


# --- recognizing the kinds ------------------------------------------------------------------------

@pytest.mark.parametrize("question, kind", [
    ("这些文章讲的都是什么？", Kind.OVERVIEW),
    ("文章主要有哪些观点", Kind.OVERVIEW),
    ("能简单介绍一下这些材料吗", Kind.OVERVIEW),
    ("這幾篇文章在講什麼", Kind.OVERVIEW),
    ("What do the articles cover?", Kind.OVERVIEW),
    ("summarize the library please", Kind.OVERVIEW),
    ("都有谁说了什么？", Kind.SPEAKERS),
    ("文章引用了哪些专家的话", Kind.SPEAKERS),
    ("Who is quoted?", Kind.SPEAKERS),
    ("whose words do these articles cite", Kind.SPEAKERS),
    ("王明和张强有什么不同？", Kind.COMPARISON),
    ("精品咖啡与普通咖啡的区别", Kind.COMPARISON),
    ("比较一下王明和李华", Kind.COMPARISON),
    ("精品咖啡 vs 普通咖啡", Kind.COMPARISON),
    ("DeepSeek 和 OpenAI 谁的模型便宜", Kind.COMPARISON),
    ("What is the difference between specialty and ordinary coffee?", Kind.COMPARISON),
    ("谁说过“自己种的菜吃起来更放心”？", Kind.WHO_SAID),
    ("「滴灌可以节省一半的用水」是谁说的", Kind.WHO_SAID),
    ("谁说的？", Kind.WHO_SAID),
    ("who said that drip irrigation saves water?", Kind.WHO_SAID),
    ("《城市菜园》讲了什么", Kind.DIGEST),
    ("《咖啡师访谈》", Kind.DIGEST),
    ("城市菜园调查这篇文章的要点", Kind.DIGEST),
    ("第二篇文章的主要内容", Kind.DIGEST),
    ("summarize the article 'city gardens'", None),   # no such title in the library
    ("What is this library about?", Kind.OVERVIEW),
    ("Who's quoted?", Kind.SPEAKERS),
    ("文章里有哪些名言", Kind.SPEAKERS),
    ("“楼板难以承受浇透水以后的重量”出自谁", Kind.WHO_SAID),
    ("give me the key points of '城市菜园'", Kind.DIGEST),
    ("给我讲讲《咖啡师访谈》", Kind.DIGEST),
    ("这是哪篇文章里的？", Kind.WHERE_FROM),
    ("出处呢", Kind.WHERE_FROM),
    ("這段話出自哪裡", Kind.WHERE_FROM),
    ("原文链接", Kind.WHERE_FROM),
    ("Where is this from?", Kind.WHERE_FROM),
    ("哪些人谈到了滴灌？", Kind.SPEAKERS),
    ("关于咖啡的价格，都有谁发表过看法", Kind.SPEAKERS),
    ("Who talked about drip irrigation?", Kind.SPEAKERS),
])
def test_questions_are_recognized_by_their_shape(tiny, question: str, kind: Kind | None) -> None:
    intent = discussion(tiny).recognize(question)
    assert (intent.kind if intent else None) is kind


@pytest.mark.parametrize("question", [
    "DeepSeek 开源的原因", "屋顶菜园需要什么设备？", "王明说了什么？", "谁支持屋顶菜园？",
    "文章里关于滴灌讲了什么", "开源和闭源是什么关系", "你好", "他呢？", "更多的菜园在哪里",
    "What are the risks of open-source AI?", "who supports rooftop gardens?",
    "《城市菜园调查》里王明怎么看滴灌",          # a question about one article, not its digest
    "男子和女子的平均收入分别是多少",              # a fact about each, not a comparison
    "埃及的菜园和温室",                            # 及 inside a word separates nothing
    "哪篇文章讲了滴灌", "咖啡的来源是哪里",        # what an article says, where coffee comes from
    "王明说谁最喜欢菜园",                          # what was said, not who spoke
    "未来谁会掌握话语权",                          # 话语权 is no 话
])
def test_ordinary_questions_are_not_captured(tiny, question: str) -> None:
    assert discussion(tiny).recognize(question) is None


def test_comparison_sides_and_topic_are_read_from_the_question(tiny) -> None:
    d = discussion(tiny)
    assert d.recognize("王明和张强对滴灌的看法有什么不同？").sides == ("王明", "张强")
    assert d.recognize("王明和张强对滴灌的看法有什么不同？").topic == "滴灌"
    assert d.recognize("阿里巴巴和 DeepSeek 开源的目的有什么不一样").topic == "开源的目的"
    assert d.recognize("精品咖啡和普通咖啡之间的区别是什么").sides == ("精品咖啡", "普通咖啡")
    english = d.recognize("How do Anna Berg and Wang Ming differ on coffee?")
    assert english.sides == ("Anna Berg", "Wang Ming") and english.topic == "coffee"   # as written
    # A second question after the first leaves no words of difference in the topic.
    two = d.recognize("王明和张强的区别是什么？谁更专业？")
    assert two.sides == ("王明", "张强") and two.topic == "专业"


def test_who_spoke_of_a_topic_reads_the_topic_without_the_words_around_it(tiny) -> None:
    d = discussion(tiny)
    assert d.recognize("关于咖啡的价格，都有谁发表过看法").topic == "咖啡价格"
    assert d.recognize("哪些人谈过屋顶菜园的事？").topic == "屋顶菜园"   # 人谈过 is one word of jieba's
    assert d.recognize("文章引用了哪些人的话？").topic == ""             # everyone quoted
    assert d.recognize("Who else commented on the coffee prices?").topic == "the coffee prices"


def test_none_of_the_projects_retrieval_questions_is_captured(bundled) -> None:
    import yaml
    cases = yaml.safe_load((Path(__file__).parent / "eval" / "questions.yaml").read_text(encoding="utf-8"))["cases"]
    d = discussion(bundled)
    assert [c["q"] for c in cases if d.recognize(c["q"])] == []


# --- overview ---------------------------------------------------------------------------------------

async def test_overview_quotes_each_articles_summary_lead_or_central_passage(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "这些文章都讲了什么？")
    assert reply.kind is ReplyKind.OVERVIEW and not reply.has_more
    assert [g.label for g in reply.groups] == ["城市菜园调查", "b_coffee", "咖啡师访谈"]
    garden, coffee, interview = texts(reply)
    assert garden.startswith("本文介绍了")                 # announced as the summary
    assert not interview.startswith("记者")               # an opening question is no lead
    # without a title the file may start anywhere: its most central statement stands for it
    assert "咖啡" in coffee and not coffee.startswith("相比之下")
    shown = render_text(reply)
    assert "1. 《城市菜园调查》" in shown and "「本文介绍了" in shown


async def test_overview_of_a_bigger_library_pages(tmp_path: Path, tiny) -> None:
    config, _, _ = tiny
    seeds = write_library(tmp_path / "many", {f"{i:02d}.txt": f"# 第{i}号文章\n\n第{i}号文章讲的是编号为{i}的一种植物，它喜欢阳光和温暖湿润的土壤。\n"
                                               for i in range(PAGE_ITEMS + 2)})
    many = config.with_overrides(corpus={"seeds_dir": seeds})
    corpus = load_corpus(many.corpus)
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as history:
        engine = Engine(many, corpus, Retriever(corpus, many.retrieval), history)
        first = await engine.handle(1, 1, "这些文章讲了什么")
        second = await engine.handle(1, 1, "更多")
        third = await engine.handle(1, 1, "更多")
    assert first.kind is ReplyKind.OVERVIEW and first.has_more and len(first.hits) == PAGE_ITEMS
    assert second.kind is ReplyKind.OVERVIEW and second.offset == PAGE_ITEMS and not second.has_more
    assert {h.passage.source_id for h in first.hits}.isdisjoint(h.passage.source_id for h in second.hits)
    assert render_text(second).splitlines()[1].startswith(f"{PAGE_ITEMS + 1}. 《")
    assert third.kind is ReplyKind.NO_MORE


# --- who is quoted ----------------------------------------------------------------------------------

async def test_who_is_quoted_names_each_speaker_with_their_words_and_source(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "文章里引用了哪些人的话？")
    assert reply.kind is ReplyKind.SPEAKERS
    said = {g.label: g.hits[0] for g in reply.groups}
    assert set(said) == {"李华", "王明", "张强", "Anna Berg"}       # 物业公司 is no one's name
    assert said["李华"].snippet == "自己种的菜吃起来更放心，孩子也喜欢来帮忙。"
    assert said["Anna Berg"].snippet.startswith("因为咖啡能让人慢下来")
    assert said["王明"].passage.source_title == "城市菜园调查"
    for hit in reply.hits:
        assert hit.snippet.rstrip("…") in hit.passage.text and hit.speaker
    assert "—— 李华，《城市菜园调查》 · 居民看法" in render_text(reply)


# --- comparison -------------------------------------------------------------------------------------

async def test_comparison_quotes_each_side_under_its_name(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "王明和张强有什么不同？")
    assert reply.kind is ReplyKind.COMPARISON
    wang, zhang = reply.groups
    assert (wang.label, zhang.label) == ("王明", "张强")
    assert all("王明" in h.passage.text for h in wang.hits) and wang.hits
    assert all("张强" in h.passage.text for h in zhang.hits) and zhang.hits
    shown = render_text(reply)
    assert shown.index("【王明】") < shown.index("滴灌") < shown.index("【张强】") < shown.index("精品咖啡")


async def test_comparison_starts_from_the_articles_own_contrast(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "精品咖啡和普通咖啡的收购价格有什么区别？")
    both, special, ordinary = reply.groups
    assert "高出一倍" in both.hits[0].snippet                    # the passage that compares them
    assert ordinary.hits[0].passage.text.startswith("相比之下，普通咖啡")   # answers the one before it
    assert "每公斤四十元" in special.hits[0].passage.text
    assert not any("普通咖啡" in h.passage.text for h in special.hits)


async def test_comparison_says_so_for_a_side_the_articles_lack(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "王明和马斯克有什么不同")
    wang, musk = reply.groups
    assert wang.hits and not musk.hits and "没有找到马斯克" in musk.note
    assert reply.hits == wang.hits   # nothing of the other side fills the empty one
    assert "【马斯克】\n   文章里没有找到马斯克" in render_text(reply)


async def test_comparison_on_a_topic_neither_side_is_found_with_quotes_each_side(engine: Engine) -> None:
    # "谁更有钱？": the articles say it of neither; it had shown the heading and no passage.
    reply = await engine.handle(1, 1, "王明和张强谁更有钱？")
    assert reply.kind is ReplyKind.COMPARISON
    assert reply.lines[0] == "文章里没有就“有钱”谈到王明和张强；下面是两者在文章里各自的原话。"
    wang, zhang = reply.groups
    assert wang.hits and zhang.hits and "滴灌" in render_text(reply)


# --- who said it ------------------------------------------------------------------------------------

async def test_who_said_names_the_speaker_of_the_words(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "谁说过“自己种的菜吃起来更放心”？")
    assert reply.kind is ReplyKind.WHO_SAID and reply.hits[0].speaker == "李华"
    assert reply.lines == ("这句话是 李华 说的：",)
    unnamed = await engine.handle(2, 2, "“楼板难以承受浇透水以后的重量”是谁说的")
    assert unnamed.hits and unnamed.hits[0].speaker is None and "没有写明" in unnamed.lines[0]
    assert unnamed.hits[0].snippet.strip("…") in unnamed.hits[0].passage.text


async def test_who_said_it_after_an_answer_is_about_that_answer(engine: Engine) -> None:
    await engine.handle(1, 1, "滴灌能节省多少用水？")
    reply = await engine.handle(1, 1, "这是谁说的？")
    assert reply.kind is ReplyKind.WHO_SAID and reply.hits[0].speaker == "王明"


async def test_who_spoke_of_a_topic_names_those_quoted_on_it(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "哪些人谈到了滴灌？")
    assert reply.kind is ReplyKind.SPEAKERS and [g.label for g in reply.groups] == ["王明"]
    assert reply.lines == ("就「滴灌」，文章引用了 1 位人物或机构的话（第 1–1 位）：",)
    assert "滴灌可以节省一半的用水" in reply.hits[0].snippet
    # Nobody quoted on it: said so, with what the articles cover, and no second "nothing found".
    none = await engine.handle(2, 2, "哪些人谈过火星移民？")
    assert none.kind is ReplyKind.NO_MATCH and not none.hits
    assert none.lines[0] == "文章里没有找到谁就「火星移民」说过什么。"
    assert not any("没有找到和这个问题相关" in line for line in none.lines)


async def test_who_said_with_nothing_asked_before_asks_for_a_question(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "谁说的？")
    assert reply.kind is ReplyKind.NO_MORE and reply.lines == ("先问一个问题，我再告诉你那段话是谁说的。",)


# --- where it comes from ----------------------------------------------------------------------------

async def test_where_from_after_an_answer_names_its_article(engine: Engine) -> None:
    first = await engine.handle(1, 1, "滴灌能节省多少用水？")
    reply = await engine.handle(1, 1, "这段出自哪篇文章？")
    assert reply.kind is ReplyKind.WHERE_FROM and reply.lines[0] == "这段出自《城市菜园调查》。"
    assert [h.passage.id for h in reply.hits] == [first.hits[0].passage.id]


async def test_where_from_with_nothing_asked_before_asks_for_a_question(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "出处呢？")
    assert reply.kind is ReplyKind.NO_MORE and reply.lines == ("先问一个问题，我再告诉你那段话出自哪篇文章。",)


async def test_after_asking_about_a_shown_passage_the_conversation_goes_on_from_its_question(engine: Engine) -> None:
    # 谁说的 and 出处呢 ask about the answer shown; a follow-up leans on the question it answered,
    # and 更多 goes on with that question's pages.
    first = await engine.handle(1, 1, "屋顶菜园种什么菜？")
    await engine.handle(1, 1, "这是谁说的？")
    await engine.handle(1, 1, "出处呢？")
    more = await engine.handle(1, 1, "更多")
    assert more.query == first.query and more.offset == len(first.hits)
    follow = await engine.handle(2, 2, "屋顶菜园种什么菜？")
    await engine.handle(2, 2, "这是谁说的？")
    follow = await engine.handle(2, 2, "为什么？")
    assert "（接着上一个问题：屋顶菜园种什么菜？）" in follow.lines


# --- one article ------------------------------------------------------------------------------------

async def test_digest_gives_each_section_with_its_key_sentence(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "《城市菜园》讲了什么？")   # part of the title is enough
    assert reply.kind is ReplyKind.DIGEST
    assert [g.label for g in reply.groups] == ["开头", "兴起", "种植方法", "居民看法"]
    for hit in reply.hits:
        assert hit.snippet.strip("…") in hit.passage.text
    assert reply.lines[0].startswith("《城市菜园调查》共 4 部分")


async def test_digest_of_an_article_without_sections_gives_its_paragraphs_in_order_and_pages(engine: Engine) -> None:
    first = await engine.handle(1, 1, "第二篇文章的要点")
    more = await engine.handle(1, 1, "更多")
    assert first.kind is more.kind is ReplyKind.DIGEST
    assert [g.label for g in first.groups] == [f"第 {n} 段" for n in range(1, PAGE_ITEMS + 1)]
    positions = [h.passage.position for h in first.hits + more.hits]
    assert positions == sorted(positions) and more.offset == PAGE_ITEMS
    assert first.has_more and not more.has_more


async def test_digest_button_records_a_question_that_more_continues(engine: Engine, tiny) -> None:
    _, corpus, _ = tiny
    reply = await engine.digest(1, 1, corpus.sources[1].id, "en")
    assert reply.kind is ReplyKind.DIGEST and reply.lang == "en" and reply.has_more
    more = await engine.handle(1, 1, "more")
    assert more.kind is ReplyKind.DIGEST and more.offset == PAGE_ITEMS
    assert (await engine.digest(1, 1, "no-such-article", "zh")).kind is ReplyKind.NO_MORE


# --- the bundled articles ---------------------------------------------------------------------------

@pytest.fixture
async def bundled_engine(bundled, tmp_path: Path):
    async with engine_over(bundled, tmp_path / "h.sqlite3") as engine:
        yield engine


async def test_bundled_overview_uses_the_articles_own_leads(bundled_engine: Engine) -> None:
    reply = await bundled_engine.handle(1, 1, "这些文章讲了什么")
    assert len({h.passage.source_id for h in reply.hits}) == 4
    leads = {h.passage.source_id[:3]: h.passage for h in reply.hits}
    assert leads["001"].text.startswith("本文介绍了")
    assert leads["003"].position == 0   # the blockquote before 亮点


async def test_bundled_speakers_merge_spellings_and_include_organisations(bundled_engine: Engine) -> None:
    first = await bundled_engine.handle(1, 1, "Who is quoted in the articles?")
    names = [g.label for g in first.groups]
    while first.has_more:
        first = await bundled_engine.handle(1, 1, "more")
        names += [g.label for g in first.groups]
    assert {"李彦宏", "Sarah Guo", "Eric Schmidt", "幻方量化", "OpenAI", "Sam Altman"} <= set(names)
    assert len([n for n in names if n in ("梁文锋", "梁文峰", "梁云峰")]) == 1   # one person, three spellings
    assert len(names) == len(set(names))


async def test_bundled_comparison_and_who_said(bundled_engine: Engine) -> None:
    reply = await bundled_engine.handle(1, 1, "Eric Schmidt 与 Sarah Guo 在开源问题上的区别")
    schmidt, guo = reply.groups
    assert (schmidt.label, guo.label) == ("Eric Schmidt", "Sarah Guo")
    # A side's passages name it, in the text or as the speaker of the interview turn they continue.
    assert all("Schmidt" in h.passage.text + h.passage.speaker for h in schmidt.hits)
    assert all("Guo" in h.passage.text + h.passage.speaker for h in guo.hits)
    said = await bundled_engine.handle(2, 2, "谁说开源其实是一种智商税")
    assert said.hits[0].speaker == "李彦宏" and "智商税" in said.hits[0].snippet


async def test_a_comparison_naming_one_side_by_a_pronoun_compares_whom_it_stands_for(bundled_engine: Engine) -> None:
    # 他 after "谁说开源是智商税？" is the person its answer quoted; 她 after a question on Sarah Guo
    # is her, the two Latin words one name.
    await bundled_engine.handle(3, 3, "谁说开源是智商税？")
    reply = await bundled_engine.handle(3, 3, "他和梁文锋的观点有什么不同？")
    assert reply.kind is ReplyKind.COMPARISON
    assert [g.label for g in reply.groups][:1] == ["李彦宏"] and len(reply.groups) == 2
    await bundled_engine.handle(4, 4, "Sarah Guo 怎么看开源？")
    reply = await bundled_engine.handle(4, 4, "她跟李彦宏有什么区别？")
    assert reply.kind is ReplyKind.COMPARISON
    assert [g.label for g in reply.groups] == ["Sarah Guo", "李彦宏"]


async def test_judging_what_was_shown_with_no_one_quoted_on_it_gets_the_articles_other_passages(
        bundled_engine: Engine) -> None:
    # "这个数字靠谱吗？" after the training cost: no one quoted takes a side on 训练花钱, so the
    # reply is the question's other passages (one says the figure is underestimated), not nothing.
    first = await bundled_engine.handle(5, 5, "DeepSeek 训练花了多少钱？")
    reply = await bundled_engine.handle(5, 5, "这个数字靠谱吗？")
    assert reply.kind is ReplyKind.ANSWER and reply.hits
    assert reply.lines[0].startswith("（我只引用文章的原话，不发表自己的看法。文章里没有人就此表态")
    assert not {h.passage.id for h in first.hits} & {h.passage.id for h in reply.hits}
    assert any("低估" in h.passage.text for h in first.hits + reply.hits)
    # Recorded once, as any answer: 更多 goes on past both.
    more = await bundled_engine.handle(5, 5, "更多")
    assert not {h.passage.id for h in first.hits + reply.hits} & {h.passage.id for h in more.hits}
    history = await bundled_engine.handle(5, 5, "/history")
    assert [t.text for t in history.turns if t.role == "user"].count("这个数字靠谱吗？") == 1


async def test_a_comparison_asked_in_english_finds_each_side_by_its_translation(bundled_engine: Engine) -> None:
    # The articles write 开源 and 闭源, never "open source": each side is named by its translation.
    reply = await bundled_engine.handle(6, 6, "open source vs closed source")
    assert reply.kind is ReplyKind.COMPARISON and reply.hits
    labels = [g.label for g in reply.groups]
    assert "open source" in labels and "closed source" in labels


async def test_bundled_who_spoke_of_export_controls(bundled_engine: Engine) -> None:
    reply = await bundled_engine.handle(1, 1, "关于出口管制，都有谁发表了看法？")
    assert reply.kind is ReplyKind.SPEAKERS and "Dario Amodei" in [g.label for g in reply.groups]
    assert all(h.passage.text.find(h.snippet.strip("…")) >= 0 for h in reply.hits)   # verbatim


async def test_bundled_where_from_gives_the_articles_link(bundled_engine: Engine) -> None:
    await bundled_engine.handle(1, 1, "Sarah Guo 怎么看应用层公司？")
    reply = await bundled_engine.handle(1, 1, "原文链接")
    assert reply.lines == ("这段出自《开源AI模型的崛起:谁将主导未来的科技战场?》。",
                           "原文：https://www.youtube.com/watch?v=fwodaUGKSPk")
    assert "《开源AI模型的崛起" in render_text(reply)


async def test_bundled_digest_by_partial_title(bundled_engine: Engine) -> None:
    reply = await bundled_engine.handle(1, 1, "《OpenAI走向闭源》的要点")
    assert reply.kind is ReplyKind.DIGEST
    assert {h.passage.source_id[:3] for h in reply.hits} == {"002"}
    assert [g.label for g in reply.groups] == ["开头", "闭源和开源的互补", "开放,才是未来"]


async def test_passages_naming_both_sides_come_first_under_both_names(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "张强和普通咖啡有什么不同")   # one passage compares them
    both, zhang, ordinary = reply.groups
    assert both.label == "张强 和 普通咖啡 一并提到" and "高出一倍" in both.hits[0].snippet
    assert zhang.hits == () and "只在上面" in zhang.note            # named nowhere else: said so,
    assert ordinary.hits and all("张强" not in h.passage.text for h in ordinary.hits)  # not "nothing"


async def test_an_article_in_traditional_script_is_summed_up_as_in_simplified(tmp_path: Path, tiny) -> None:
    # The summary's mark (本文介绍) is written in Simplified Chinese; the same article in Traditional
    # script (本文介紹) is read alike, and its own words are quoted.
    import opencc
    config, _, _ = tiny
    # The summary is announced after the first section's opening, so only its mark tells it.
    article = GARDEN.replace("本文介绍了城市屋顶菜园的兴起、种植方法和居民对屋顶菜园的看法。\n\n## 兴起\n\n", "## 兴起\n\n")
    article = article.replace("## 种植方法\n\n", "本文介绍三件事：它们怎样兴起，怎么种，大家怎么看。\n\n## 种植方法\n\n")
    seeds = write_library(tmp_path / "tw", {"garden.md": opencc.OpenCC("s2t").convert(article)})
    library = config.with_overrides(corpus={"seeds_dir": seeds})
    corpus = load_corpus(library.corpus)
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as history:
        engine = Engine(library, corpus, Retriever(corpus, library.retrieval), history)
        reply = await engine.handle(1, 1, "這些文章都講了什麼？")
    assert reply.kind is ReplyKind.OVERVIEW
    assert texts(reply)[0].startswith("本文介紹三件事")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_example_help_gives_is_recognized_as_its_kind(bundled, lang: str) -> None:
    # /help shows these; each must do what its line says.
    from bot.messages import DISCUSSION_EXAMPLES
    d = discussion(bundled)
    title = bundled[1].sources[0].title
    kinds = {"overview": Kind.OVERVIEW, "speakers": Kind.SPEAKERS, "speakers_on": Kind.SPEAKERS,
             "comparison": Kind.COMPARISON, "who_said": Kind.WHO_SAID, "where_from": Kind.WHERE_FROM,
             "digest": Kind.DIGEST}
    for kind, example in DISCUSSION_EXAMPLES[lang].items():
        intent = d.recognize(example.format(title=title))
        assert intent is not None and intent.kind is kinds[kind], example
        assert bool(intent.topic) is (kind == "speakers_on") or kind == "comparison", example


STANCE_NOTICE = "（文章里没有直接说谁「反对」；下面是谈到这个话题的人的原话，各自的立场请从原话判断。）"


async def test_who_takes_a_side_no_passage_names_gets_those_quoted_on_the_topic(engine: Engine) -> None:
    # No article says 反对: not "nothing relevant", but who spoke of 屋顶菜园, in their own words,
    # with a line saying the bot does not sort them into sides.
    reply = await engine.handle(1, 1, "谁反对屋顶菜园？")
    assert reply.kind is ReplyKind.SPEAKERS
    assert reply.lines[0] == STANCE_NOTICE
    assert reply.lines[1].startswith("就「屋顶菜园」，文章引用了")
    assert "李华" in [g.label for g in reply.groups]
    assert any("自己种的菜吃起来更放心" in h.snippet for h in reply.hits)
    # In Traditional script and in English too.
    hant = await engine.handle(2, 2, "誰反對屋頂菜園？")
    assert hant.kind is ReplyKind.SPEAKERS and "李华" in [g.label for g in hant.groups]
    english = await engine.handle(3, 3, "Who opposes rooftop gardens?")
    assert english.kind is not ReplyKind.SPEAKERS or english.lines[0].startswith("(No passage says in so many words who opposes it")


async def test_who_takes_a_side_asked_yes_or_no_still_gets_the_people(engine: Engine) -> None:
    # "有人反对…吗？" asks who, as "谁反对…？" does: those quoted on the topic, in their words.
    for question in ("有人反对屋顶菜园吗？", "有没有人反对屋顶菜园？", "有人反對屋頂菜園嗎？"):
        reply = await engine.handle(4, 4, question)
        assert reply.kind is ReplyKind.SPEAKERS and reply.lines[0] == STANCE_NOTICE, question
        assert "李华" in [g.label for g in reply.groups]


async def test_who_takes_a_side_naming_no_topic_asks_it_of_the_topic_discussed(engine: Engine) -> None:
    # "谁反对？" after a question with no side in it: the side on that question's topic, said so.
    await engine.handle(5, 5, "屋顶菜园有什么好处？")
    reply = await engine.handle(5, 5, "谁反对？")
    assert reply.lines[0] == "（按上一个问题的话题来问：谁反对屋顶菜园）"
    assert reply.kind is ReplyKind.SPEAKERS and "李华" in [g.label for g in reply.groups]
    # With nothing discussed before, there is no topic to ask it of.
    alone = await engine.handle(6, 6, "谁反对？")
    assert not any("按上一个问题的话题" in line for line in alone.lines)


async def test_who_sides_against_him_asks_it_of_his_topic_not_of_him(engine: Engine) -> None:
    # "有人不同意他吗？" after a question on 王明: the topic was 屋顶菜园's 滴灌, not "他" (it had
    # answered "文章里没有找到谁就「他」说过什么").
    await engine.handle(7, 7, "王明怎么看滴灌？")
    reply = await engine.handle(7, 7, "有人不同意他吗？")
    assert reply.lines[0] == "（按上一个问题的话题来问：谁不同意滴灌）"
    assert reply.kind is ReplyKind.SPEAKERS and "王明" in [g.label for g in reply.groups]
    assert not any("「他」" in line for line in reply.lines)


async def test_who_disagrees_after_a_why_asks_it_of_the_topic_of_his_view(engine: Engine) -> None:
    # "有人不同意吗？" after "王明怎么看滴灌？" and a bare "为什么？": the topic is 滴灌 (the why
    # brought no word of its own), and not 王明, whose view it was: it had found nothing.
    for chat, turns in ((8, ("王明怎么看滴灌？", "为什么？")), (9, ("王明怎么看滴灌？",))):
        for turn in turns:
            await engine.handle(chat, chat, turn)
        reply = await engine.handle(chat, chat, "有人不同意吗？")
        assert reply.lines[0] == "（按上一个问题的话题来问：谁不同意滴灌）", turns
        assert reply.kind is ReplyKind.SPEAKERS


OWN_VIEW = "（我只引用文章的原话，不发表自己的看法。下面是文章里谈到这个话题的人怎么说。）"


async def test_the_bots_own_view_asked_for_gets_those_quoted_on_the_topic(engine: Engine) -> None:
    # "你怎么看？" asks the bot's opinion: it has none, and says so; those quoted on the topic have theirs.
    await engine.handle(10, 10, "滴灌有什么好处？")
    reply = await engine.handle(10, 10, "你怎么看？")
    assert reply.kind is ReplyKind.SPEAKERS and reply.lines[0] == OWN_VIEW
    assert "王明" in [g.label for g in reply.groups]
    english = await engine.handle(10, 10, "What do you think?")
    assert english.kind is ReplyKind.SPEAKERS and english.lines[0].startswith("(I only quote the articles")
    # Of a topic it names, with nothing asked before.
    for question in ("你对滴灌怎么看？", "你怎么看待滴灌"):
        named = await engine.handle(11, 11, question)
        assert named.kind is ReplyKind.SPEAKERS and "王明" in [g.label for g in named.groups], question
    # Asked to judge what was shown, likewise: it judges nothing.
    for chat, question in ((15, "这个说法对吗？"), (16, "有道理吗"), (17, "這個數字靠譜嗎？")):
        await engine.handle(chat, chat, "滴灌有什么好处？")
        judged = await engine.handle(chat, chat, question)
        assert judged.kind is ReplyKind.SPEAKERS and judged.lines[0] == OWN_VIEW, question
    # With nothing asked before, it says so and asks for a question.
    alone = await engine.handle(12, 12, "你觉得呢？")
    assert alone.kind is ReplyKind.EMPTY and alone.lines[0].startswith("我只引用文章的原话，不发表自己的看法。")
    # A question about the articles that opens with 你觉得 is one.
    asked = await engine.handle(13, 13, "你觉得滴灌为什么重要？")
    assert asked.kind is ReplyKind.ANSWER


@pytest.mark.parametrize("question", ["你是谁？", "你能做什么", "Who are you?", "怎么用？"])
async def test_a_question_about_the_bot_gets_what_start_says(engine: Engine, question: str) -> None:
    reply = await engine.handle(14, 14, question)
    assert reply.kind is ReplyKind.START


async def test_who_takes_a_side_on_a_topic_nobody_spoke_of_says_only_that(engine: Engine) -> None:
    reply = await engine.handle(1, 1, "谁反对火星移民？")
    assert reply.kind is ReplyKind.NO_MATCH
    assert reply.lines[0] == "文章里没有找到谁就「火星移民」说过什么。"
    assert STANCE_NOTICE not in reply.lines


async def test_who_is_on_the_other_side_after_who_is_on_one_shows_those_quoted_on_the_topic(engine: Engine) -> None:
    await engine.handle(1, 1, "哪些人赞成种屋顶菜园？")
    reply = await engine.handle(1, 1, "谁反对？")
    assert reply.kind is ReplyKind.SPEAKERS
    assert reply.lines[0].startswith("（上一个问题反过来问：")
    assert STANCE_NOTICE in reply.lines
    assert "李华" in [g.label for g in reply.groups]


async def test_who_takes_a_side_the_articles_do_name_is_answered_from_the_passages(bundled, tmp_path: Path) -> None:
    config, corpus, retriever = bundled
    async with await HistoryStore.open(tmp_path / "h.sqlite3", 200) as history:
        engine = Engine(config, corpus, retriever, history)
        reply = await engine.handle(1, 1, "有哪些人支持开源模型？")
    # The articles say 支持者: their passages answer, not a list of speakers.
    assert reply.kind is ReplyKind.ANSWER
    assert any("开源模型的支持者认为" in h.passage.text for h in reply.hits)


async def test_a_topic_is_named_as_the_question_wrote_it(engine: Engine) -> None:
    # A Traditional question's topic is named in its own script, not the Simplified it was read in.
    spoke = await engine.handle(1, 1, "哪些人談到了屋頂菜園？")
    assert spoke.kind is ReplyKind.SPEAKERS and spoke.lines[0].startswith("就「屋頂菜園」")
    side = await engine.handle(2, 2, "誰反對屋頂菜園？")
    assert any(line.startswith("就「屋頂菜園」") for line in side.lines)

"""Follow-ups in conversation on the bundled articles: each kind of leaning question, with the
real engine, retriever and a SQLite history. The questions are the project's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from engines import engine_over

from bot.conversation import Engine, ReplyKind
from bot.followup import asks, has_pronoun, points_back


@pytest.fixture(scope="module")
def parts(bundled_parts):
    return bundled_parts


@pytest.fixture
async def engine(parts, tmp_path: Path):
    async with engine_over(parts, tmp_path / "h.sqlite3") as engine:
        yield engine


def texts(reply) -> str:
    return "\n".join(h.passage.text for h in reply.hits)


@pytest.mark.parametrize("question, leans", [
    ("他怎么看？", True), ("那中国呢", True), ("为什么要这么做？", True), ("What does he think?", True),
    ("DeepSeek 呢？", True), ("其他公司怎么看开源", False), ("梁文锋怎么看开源", False),
    ("和 OpenAI 比呢", True), ("跟华为是什么关系", True), ("与此相比，开源有什么好处", False),
    ("compared to OpenAI?", True), ("Compare OpenAI and DeepSeek", False),
    ("为什么中国工程师热衷开源，这一点在文章里怎么解释的？这是一个很长的问题，不算追问", False),
])
def test_pointing_back_is_told_by_pronouns_and_particles(question: str, leans: bool) -> None:
    assert points_back(question) is leans


async def test_this_much_of_degree_is_a_question_of_its_own(engine: Engine) -> None:
    # 这么 before an adjective is degree (这么低: "so low"), not "like that" (这么做).
    await engine.handle(9, 9, "梁文锋为什么要开源？")
    reply = await engine.handle(9, 9, "DeepSeek 的成本为什么这么低？")
    assert reply.kind is ReplyKind.ANSWER and not any("接着上一个问题" in line for line in reply.lines)
    assert reply.context is None and "成本" in texts(reply)
    reply = await engine.handle(9, 9, "他为什么这么说？")
    assert any("接着上一个问题" in line for line in reply.lines)
    # Before a feeling too (这么怕, 这么重视): only the manner of doing, saying or thinking points back.
    reply = await engine.handle(9, 9, "为啥美国这么怕 DeepSeek？")
    assert reply.kind is ReplyKind.ANSWER and reply.context is None
    assert not any("接着上一个问题" in line for line in reply.lines) and "美国" in texts(reply)


async def test_the_follow_up_notice_quotes_the_last_question_as_asked(engine: Engine) -> None:
    # What a follow-up searched (its words joined with the names it leaned on) is no question to
    # show; a page of 更多 asked nothing.
    await engine.handle(8, 8, "梁文锋为什么要开源？")
    second = await engine.handle(8, 8, "他还说过什么？")
    assert "（接着上一个问题：梁文锋为什么要开源？）" in second.lines
    assert (await engine.handle(8, 8, "更多")).kind is ReplyKind.ANSWER
    third = await engine.handle(8, 8, "为什么？")
    assert "（接着上一个问题：他还说过什么？）" in third.lines


async def test_the_follow_up_notice_skips_a_message_answered_with_the_question_before(engine: Engine) -> None:
    # "有证据吗？" is answered with the first passage's surroundings, of the question before: the
    # next follow-up leans on that question, and its notice says so, not "接着上一个问题：有证据吗".
    await engine.handle(16, 16, "OpenAI 为什么指控 DeepSeek？")
    around = await engine.handle(16, 16, "有证据吗？")
    assert around.kind is ReplyKind.ANSWER and not any("接着上一个问题" in line for line in around.lines)
    reply = await engine.handle(16, 16, "他们打算怎么应对？")
    assert "（接着上一个问题：OpenAI 为什么指控 DeepSeek？）" in reply.lines
    # A bare 为什么 after a follow-up asks that follow-up again, with what it leaned on.
    await engine.handle(24, 24, "Who is Sarah Guo?")
    await engine.handle(24, 24, "What does she think about DeepSeek?")
    await engine.handle(24, 24, "Why?")
    reply = await engine.handle(24, 24, "What about Eric Schmidt?")
    assert "(Following up on: What does she think about DeepSeek?)" in reply.lines


async def test_a_follow_up_in_traditional_script_leans_as_in_simplified(engine: Engine) -> None:
    # 還 and 這麼 are 还 and 这么: "她還投了哪些公司？" asks for something else, so what the first
    # answer showed is left out, as for "她还投了哪些公司？".
    first = await engine.handle(11, 11, "Sarah Guo 看好哪些公司？")
    other = await engine.handle(11, 11, "她還投了哪些公司？")
    assert other.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in other.lines)
    assert not {h.passage.id for h in first.hits} & {h.passage.id for h in other.hits}
    assert points_back("為什麼要這麼做？") and asks("這是真的嗎")


async def test_what_else_leaves_out_what_was_shown(engine: Engine) -> None:
    first = await engine.handle(7, 7, "Sarah Guo 看好哪些公司？")
    other = await engine.handle(7, 7, "她还投了哪些公司？")
    assert other.kind is ReplyKind.ANSWER
    assert not {h.passage.id for h in first.hits} & {h.passage.id for h in other.hits}
    still = await engine.handle(7, 7, "她还看好应用层吗？")   # 还 without a question word: "still"
    assert {h.passage.id for h in still.hits} & {h.passage.id for h in first.hits}


async def test_a_message_that_asks_nothing_leans_on_nothing(engine: Engine) -> None:
    # "为什么？" alone asks the earlier question again; "嗯" asks nothing: it gets a prompt for a
    # question, not the earlier answer again, and leaves the conversation as it was.
    first = await engine.handle(6, 6, "梁文锋是谁？")
    assert first.kind is ReplyKind.ANSWER
    for message in ("嗯", "a"):
        reply = await engine.handle(6, 6, message)
        assert reply.kind is ReplyKind.EMPTY and not reply.hits
    why = await engine.handle(6, 6, "为什么？")
    assert why.kind is ReplyKind.ANSWER and "（接着上一个问题：梁文锋是谁？）" in why.lines


async def test_a_quotation_shown_alone_names_its_speaker(engine: Engine) -> None:
    # The article names 李彦宏 in the sentence before his quoted paragraphs, not in them.
    reply = await engine.handle(5, 5, "开源模型打不过闭源模型吗？")
    quoted = [h for h in reply.hits if h.passage.text.startswith("“开源模型打不过闭源模型")]
    assert quoted and quoted[0].speaker == "李彦宏"
    assert all(h.speaker is None for h in reply.hits if not h.passage.text.startswith("“"))


async def test_a_known_name_asked_what_the_articles_never_say_is_told_so(engine: Engine) -> None:
    reply = await engine.handle(4, 4, "李彥宏多大年紀？")
    assert reply.kind is ReplyKind.NO_MATCH
    assert any("文章里提到了李彥宏" in line for line in reply.lines)
    other = await engine.handle(4, 4, "今天北京天气怎么样？")
    assert other.kind is ReplyKind.NO_MATCH and not any("文章里提到了" in line for line in other.lines)
    # A topic the articles hold (开源) said nothing: no "ask what 开源 said".
    topic = await engine.handle(4, 4, "开源的保质期有多长？")
    assert topic.kind is ReplyKind.NO_MATCH
    assert "文章里提到了开源，但没有说到你问的这一点。" in topic.lines
    assert not any("说了什么" in line for line in topic.lines)


def test_a_pronoun_is_told_apart_from_other_pointers() -> None:
    assert has_pronoun("他怎么看？") and has_pronoun("What does he think?")
    assert not has_pronoun("那中国呢") and not has_pronoun("其他产区")


async def test_a_bare_why_asks_the_earlier_question_again(engine: Engine) -> None:
    first = await engine.handle(1, 1, "中国政府在 2000 年代初做了什么？")
    assert first.kind is ReplyKind.ANSWER
    why = await engine.handle(1, 1, "为什么？")
    assert why.kind is ReplyKind.ANSWER and "2000 年代初" in why.query
    assert "削弱 Microsoft Windows" in texts(why) or "减少对外国软件依赖" in texts(why)


async def test_a_name_of_another_kind_stands_for_the_earlier_one(engine: Engine) -> None:
    # jieba calls 华为 a person and 阿里 a transliterated name: with one name in the earlier
    # question, the new one takes its place whatever kind each was given.
    await engine.handle(12, 12, "华为为什么支持开源？")
    reply = await engine.handle(12, 12, "那阿里呢？")
    assert reply.kind is ReplyKind.ANSWER and reply.context is not None
    assert "华为" not in reply.context and "开源" in reply.context
    assert all("阿里" in h.passage.text for h in reply.hits)
    assert any("Qwen" in h.passage.text for h in reply.hits)


async def test_a_pronoun_stands_for_the_earlier_name(engine: Engine) -> None:
    await engine.handle(2, 2, "李彦宏是谁？")
    reply = await engine.handle(2, 2, "他对开源怎么看？")
    assert reply.kind is ReplyKind.ANSWER and "李彦宏" in reply.query
    assert "智商税" in texts(reply) or "打不过闭源模型" in texts(reply)


async def test_another_place_in_place_of_one_is_the_other_side(engine: Engine) -> None:
    first = await engine.handle(3, 3, "美国为什么要封锁芯片？")
    other = await engine.handle(3, 3, "那中国这边呢？")
    assert other.kind is ReplyKind.ANSWER
    # The other side: what the first answer showed is left out, on this page and the next.
    shown = {h.passage.id for h in first.hits}
    assert not shown & {h.passage.id for h in other.hits}
    more = await engine.handle(3, 3, "更多")
    assert not shown & {h.passage.id for h in more.hits}
    assert not {h.passage.id for h in other.hits} & {h.passage.id for h in more.hits}


async def test_a_place_in_place_of_one_keeps_the_topic_not_the_verb_of_viewing(engine: Engine) -> None:
    # "那中国呢？" after "美国人怎么看待开源模型的崛起？" asks how China views it: 看待 frames the
    # question, and passages that say 看待 of something else are no answer.
    await engine.handle(4, 4, "美国人怎么看待开源模型的崛起？")
    other = await engine.handle(4, 4, "那中国呢？")
    assert other.kind is ReplyKind.ANSWER
    assert other.context and "看待" not in other.context and "开源" in other.context
    assert all("看待" not in h.passage.text for h in other.hits)


async def test_an_attribute_the_articles_never_mention_is_not_answered_by_the_earlier_topic(engine: Engine) -> None:
    await engine.handle(4, 4, "Dario Amodei 说了什么？")
    reply = await engine.handle(4, 4, "他住在哪个城市？")
    assert reply.kind is ReplyKind.NO_MATCH and not reply.hits
    await engine.handle(5, 5, "梁文锋说过什么？")
    assert (await engine.handle(5, 5, "他老家在哪儿？")).kind is ReplyKind.NO_MATCH


async def test_a_number_the_articles_never_give_is_not_answered_by_the_earlier_topic(engine: Engine) -> None:
    # 梁文锋's passages hold years ("在 2023 年的一次采访中"), none an age: the honest reply names him.
    await engine.handle(7, 7, "梁文锋是谁？")
    reply = await engine.handle(7, 7, "他多大了？")
    assert reply.kind is ReplyKind.NO_MATCH and not reply.hits
    assert any("文章里提到了梁文锋" in line for line in reply.lines)
    # A date the passages do give is still found.
    await engine.handle(8, 8, "DeepSeek 遭受了什么攻击？")
    reply = await engine.handle(8, 8, "什么时候？")
    assert reply.kind is ReplyKind.ANSWER and "1 月 28 日" in texts(reply)


async def test_a_new_question_after_a_follow_up_stands_alone(engine: Engine) -> None:
    await engine.handle(6, 6, "OpenAI 指控 DeepSeek 什么？")
    await engine.handle(6, 6, "他们打算怎么应对？")
    reply = await engine.handle(6, 6, "京东云上线了哪些模型？")
    assert reply.kind is ReplyKind.ANSWER and reply.context is None
    assert "京东云已正式上线DeepSeek-R1和DeepSeek-V3模型" in texts(reply)
    assert not any("接着" in line for line in reply.lines)


async def test_more_keeps_paging_while_passages_cover_the_question(engine: Engine) -> None:
    answers: list[str] = []
    reply = await engine.handle(7, 7, "出口管制有用吗？")
    while reply.kind is ReplyKind.ANSWER and not any(h.nearby for h in reply.hits):
        answers += [h.passage.id for h in reply.hits]
        assert all(("出口管制" in h.passage.text or "出口控制" in h.passage.text) for h in reply.hits)
        reply = await engine.handle(7, 7, "更多")
    assert len(answers) >= 5 and len(answers) == len(set(answers))


async def test_past_the_answers_more_reads_on_in_their_sections_and_says_so(engine: Engine) -> None:
    first = await engine.handle(11, 11, "DeepSeek 遭受了什么攻击？")
    assert first.kind is ReplyKind.ANSWER and all("攻击" in h.passage.text for h in first.hits)
    # Two passages speak of the attacks; the first page shows only them, and says there is more.
    assert not any(h.nearby for h in first.hits) and first.has_more
    shown = {h.passage.id for h in first.hits}
    read = [h.passage.text for h in first.hits]
    section = (first.hits[0].passage.source_id, first.hits[0].passage.section)
    reply, pages = first, 0
    while reply.has_more and pages < 10:
        reply = await engine.handle(11, 11, "更多")
        pages += 1
        assert reply.kind is ReplyKind.ANSWER and all(h.nearby for h in reply.hits)
        assert any("章节" in line for line in reply.lines)
        assert {(h.passage.source_id, h.passage.section) for h in reply.hits} == {section}
        assert not shown & {h.passage.id for h in reply.hits}
        shown |= {h.passage.id for h in reply.hits}
        read += [h.passage.text for h in reply.hits]
    # The white house weighing the national-security impact is in the attacks' section.
    assert any("国家安全的影响" in text for text in read)
    assert (await engine.handle(11, 11, "更多")).kind is ReplyKind.NO_MORE


async def test_an_english_pronoun_follow_up(engine: Engine) -> None:
    await engine.handle(8, 8, "Who is Eric Schmidt?")
    reply = await engine.handle(8, 8, "What does he think about open source?")
    assert reply.kind is ReplyKind.ANSWER and reply.lang == "en"
    assert "Schmidt" in texts(reply)


async def test_the_opposite_of_an_earlier_word_asks_for_the_other_side(engine: Engine) -> None:
    first = await engine.handle(9, 9, "哪些公司支持开源？")
    assert first.kind is ReplyKind.ANSWER
    # The articles quote nobody "反对" anything: to oppose open source is to side with closed source.
    other = await engine.handle(9, 9, "哪些公司反对？")
    assert other.kind is ReplyKind.ANSWER and other.query == "闭源"
    assert any("反过来" in line and "哪些公司支持闭源" in line for line in other.lines)
    assert all("闭源" in h.passage.text + h.passage.source_title for h in other.hits)
    assert not {h.passage.id for h in first.hits} & {h.passage.id for h in other.hits}


async def test_an_opposite_the_articles_use_is_swapped_in(engine: Engine) -> None:
    await engine.handle(10, 10, "开源有什么好处？")
    other = await engine.handle(10, 10, "那闭源呢？")
    assert other.kind is ReplyKind.ANSWER and other.query == "闭源"
    assert any("闭源有什么好处" in line for line in other.lines)
    assert all("闭源" in h.passage.text + h.passage.source_title for h in other.hits)


async def test_a_contrast_after_a_follow_up_shows_the_question_as_asked(engine: Engine) -> None:
    # What the follow-up searched ("她怎么看开源模型 Sarah Guo" and the question before it) is not
    # shown turned round: the user's own last question is.
    await engine.handle(11, 11, "Sarah Guo 是谁？")
    await engine.handle(11, 11, "她怎么看开源模型？")
    other = await engine.handle(11, 11, "那闭源呢？")
    assert "（上一个问题反过来问：她怎么看闭源模型？）" in other.lines


async def test_a_question_of_its_own_with_an_opposite_is_no_contrast(engine: Engine) -> None:
    await engine.handle(11, 11, "哪些公司支持开源？")
    reply = await engine.handle(11, 11, "京东云上线了哪些模型？")
    assert reply.query == "京东云上线了哪些模型？" and not any("反过来" in line for line in reply.lines)


@pytest.mark.parametrize("question, leans", [
    ("DeepSeek 对它有什么威胁？", True), ("谁支持他？", True), ("还有别人这么说吗", True),
    ("梁文锋和他的团队怎么看开源", False), ("还有谁表态了？", True),
])
def test_a_pronoun_after_a_preposition_and_what_else_point_back(question: str, leans: bool) -> None:
    assert points_back(question) is leans


async def test_an_aspect_of_the_earlier_topic_leans_on_it(engine: Engine) -> None:
    # 效果 and 前景 ask about whatever was being discussed; the articles never say either word.
    await engine.handle(21, 21, "美国限制对华芯片出口")
    reply = await engine.handle(21, 21, "效果如何？")
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert any(word in texts(reply) for word in ("出口管制", "出口控制", "芯片"))


async def test_a_reason_asked_with_a_pronoun_needs_no_passage_saying_reason(engine: Engine) -> None:
    # 理由 frames the question like 为什么: the passage answering it need not hold the word.
    await engine.handle(22, 22, "李彦宏对开源是什么态度")
    reply = await engine.handle(22, 22, "他为什么更看好闭源，理由是什么？")
    assert reply.kind is ReplyKind.ANSWER and "李彦宏" in texts(reply)


async def test_a_time_word_points_at_the_time_discussed(engine: Engine) -> None:
    # 当时 is no topic the articles lack: the follow-up leans on the earlier question.
    await engine.handle(23, 23, "中科红旗是干什么的")
    reply = await engine.handle(23, 23, "当时为啥要搞它？")
    assert reply.kind is ReplyKind.ANSWER and "Windows" in texts(reply)


async def test_a_latin_name_in_place_of_another_after_a_chain_of_follow_ups(engine: Engine) -> None:
    # "那 OpenAI 呢？" after 梁文锋为什么不融资？ and 他对钱怎么看？: OpenAI for 梁文锋, the chain naming
    # him twice (it had repeated his passages).
    await engine.handle(47, 47, "梁文锋为什么不融资")
    await engine.handle(47, 47, "他对钱怎么看")
    reply = await engine.handle(47, 47, "那 OpenAI 呢")
    assert reply.kind is ReplyKind.ANSWER and all("OpenAI" in h.passage.text for h in reply.hits)
    # Beside other words a Latin name is a subject of its own, not one in place of the earlier.
    await engine.handle(48, 48, "幻方量化是什么公司？")
    related = await engine.handle(48, 48, "和 DeepSeek 什么关系？")
    assert "幻方量化" in texts(related)


async def test_a_name_in_place_of_another_keeps_a_shown_passage_naming_it(engine: Engine) -> None:
    # The one passage on 腾讯 also names 华为 and was shown for it: it answers "腾讯呢？" too.
    first = await engine.handle(24, 24, "华为在开源方面有什么动作")
    assert "腾讯" in texts(first)
    reply = await engine.handle(24, 24, "那腾讯呢？")
    assert reply.kind is ReplyKind.ANSWER and "腾讯" in texts(reply)


async def test_a_short_question_that_finds_nothing_alone_leans_on_the_earlier_one(engine: Engine) -> None:
    # jieba cuts 哪来 as a word the articles never hold; leaning on the attack question, the
    # question's own word 攻击 finds where the attacks came from.
    await engine.handle(25, 25, "DeepSeek 哪天遭到了网络攻击")
    reply = await engine.handle(25, 25, "攻击是从哪来的？")
    assert reply.kind is ReplyKind.ANSWER and "美国 IP 地址" in texts(reply)
    assert any("接着上一个问题" in line for line in reply.lines)
    # A thing the articles never mention does not lean its way into an answer.
    assert (await engine.handle(25, 25, "京东的快递几天能到？")).kind is ReplyKind.NO_MATCH


@pytest.mark.parametrize("chat, first, follow_up, topic", [
    # 解决 alone met 京东云's 解决方案 (a product, not the risks' remedy).
    (36, "开源有什么风险？", "怎么解决？", "风险"),
    (37, "美国为什么要搞出口管制？", "有用吗？", "出口管制"),
    (38, "開源有什麼風險？", "怎麼解決？", "风险"),
])
async def test_a_question_with_only_a_verb_asks_it_of_the_earlier_topic(
        engine: Engine, chat: int, first: str, follow_up: str, topic: str) -> None:
    await engine.handle(chat, chat, first)
    reply = await engine.handle(chat, chat, follow_up)
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert "京东云" not in texts(reply)
    assert all(topic in h.passage.text for h in reply.hits[:2])


async def test_what_someone_thinks_with_no_topic_asks_it_of_the_earlier_one(engine: Engine) -> None:
    # "美国怎么看？" after a question on national security: America's view of that, not any
    # passage naming America.
    await engine.handle(46, 46, "开源AI会威胁国家安全吗")
    reply = await engine.handle(46, 46, "美国怎么看")
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert "国家安全" in reply.hits[0].passage.text


def test_what_someone_thinks_is_told_from_a_question_of_its_own(parts) -> None:
    from bot.followup import FollowUps
    _, _, retriever = parts
    followups = FollowUps(retriever.analyzer, retriever.necessity, lambda word: word in retriever.vocab)
    for question, leans in [("美国怎么看", True), ("李彦宏如何评价？", True), ("Sarah Guo 怎么看？", True),
                            ("梁文锋是谁", False), ("美国怎么看开源", False), ("开源怎么看", False)]:
        assert followups.opinion_of_name(question, followups.own_words(question)) is leans, question


def test_only_a_verb_is_told_from_a_thing_or_a_who(parts) -> None:
    from bot.followup import FollowUps
    _, _, retriever = parts
    followups = FollowUps(retriever.analyzer, retriever.necessity, lambda word: word in retriever.vocab)
    for question, verb_only in [("怎么解决？", True), ("该怎么应对", True), ("能成功吗？", True),
                                ("谁反对？", False), ("华为呢？", False), ("成本多少？", False)]:
        assert followups.names_nothing(question, followups.own_words(question)) is verb_only, question


async def test_what_else_when_all_was_shown_says_so(engine: Engine) -> None:
    # The articles hold two passages on 京东云, both shown: "what else" is told there is no more,
    # not that the articles never say what was asked.
    first = await engine.handle(26, 26, "京东云在 DeepSeek 热潮里做了哪些事")
    assert first.kind is ReplyKind.ANSWER
    reply = await engine.handle(26, 26, "它还做了什么？")
    assert reply.kind is ReplyKind.NO_MATCH and not reply.hits
    assert "文章里没有别的相关内容了：上面那几段就是全部。" in reply.lines


@pytest.mark.parametrize("message", ["好的", "谢谢", "哈哈", "ok", "明白了"])
async def test_an_acknowledgement_after_an_answer_does_not_lean_into_one(engine: Engine, message: str) -> None:
    # A short message that finds nothing alone may lean on the earlier question, but only when it
    # asks something with words the articles know: 好的 is no question about 开源.
    await engine.handle(27, 27, "中国公司怎么用开源反哺社区")
    reply = await engine.handle(27, 27, message)
    assert reply.kind in (ReplyKind.EMPTY, ReplyKind.NO_MATCH) and not reply.hits


@pytest.mark.parametrize("message, line", [
    ("好的", "好的。还想知道什么，直接问就行。"), ("好的，谢谢！", "好的。还想知道什么，直接问就行。"),
    ("明白了", "好的。还想知道什么，直接问就行"), ("OK, thanks", "OK. Ask me anything else"),
])
async def test_an_acknowledgement_is_told_to_ask_on_not_that_nothing_was_found(engine: Engine, message: str,
                                                                               line: str) -> None:
    # "好的" answered with "文章里没有找到和这个问题相关的内容" reads as if the bot misheard.
    await engine.handle(35, 35, "中国公司怎么用开源反哺社区")
    reply = await engine.handle(35, 35, message)
    assert reply.kind is ReplyKind.EMPTY and reply.lines[0].startswith(line)
    # A question after the acknowledgement is one: "好的，那梁文锋怎么看？" is answered.
    assert (await engine.handle(35, 35, "好的，那梁文锋怎么看开源？")).kind is ReplyKind.ANSWER


async def test_after_a_who_question_a_pronoun_stands_for_whom_the_answer_names(engine: Engine) -> None:
    # "谁说开源是智商税？" names no one; its answer names 李彦宏, whom the later 他 means.
    first = await engine.handle(28, 28, "开源是智商税这话是谁说的？")
    assert "李彦宏" in texts(first)
    reply = await engine.handle(28, 28, "他是哪家公司的？")
    assert "李彦宏" in (reply.query or "") and "百度" in texts(reply)


@pytest.mark.parametrize("chat, first, follow_up, shown", [
    # 建议 frames "他的建议是什么？" as 看法 does: the passages quote Eric Schmidt calling for open
    # source (呼吁, 应该) and never say 建议 of him; no passage need hold the word.
    (29, "Eric Schmidt 说了什么？", "他的建议是什么？", "Schmidt"),
    # "和 DeepSeek 什么关系？" says 和 without what comes before it: the company just asked about.
    # The one passage on 幻方量化 says it funds DeepSeek; 关系 frames the question, as 区别 would.
    (34, "幻方量化是什么公司？", "和 DeepSeek 什么关系？", "幻方量化"),
])
async def test_a_follow_up_framed_by_what_it_asks_leans_on_the_earlier_question(
        engine: Engine, chat: int, first: str, follow_up: str, shown: str) -> None:
    await engine.handle(chat, chat, first)
    reply = await engine.handle(chat, chat, follow_up)
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert shown in texts(reply)


async def test_a_verb_carrying_an_aspect_noun_frames_the_question_too(engine: Engine) -> None:
    # 扮演 only carries 角色: neither is in the articles, and "它扮演了什么角色？" asks what the
    # passages on 华为 say of it.
    await engine.handle(30, 30, "华为和开源有什么关系？")
    reply = await engine.handle(30, 30, "它扮演了什么角色？")
    assert reply.kind is ReplyKind.ANSWER and "华为" in texts(reply)


@pytest.mark.parametrize("request_text", ["详细说说", "展开讲讲。", "能举个例子吗？", "再具体一点", "比如呢？",
                                          "tell me more", "Can you elaborate?"])
async def test_a_request_to_be_told_more_is_the_next_page(engine: Engine, request_text: str) -> None:
    # A request with no topic of its own asks for more of what was discussed: the next passages
    # on the question, as 更多 brings them, kept in the history as the user wrote it.
    first = await engine.handle(31, 31, "DeepSeek 为什么要开源？")
    assert first.kind is ReplyKind.ANSWER
    reply = await engine.handle(31, 31, request_text)
    assert reply.kind is ReplyKind.ANSWER and reply.offset == len(first.hits)
    assert not {h.passage.id for h in reply.hits} & {h.passage.id for h in first.hits}
    history = await engine.handle(31, 31, "/history")
    assert request_text in [turn.text for turn in history.turns if turn.role == "user"]


async def test_a_request_with_nothing_asked_before_asks_for_a_question(engine: Engine) -> None:
    reply = await engine.handle(32, 32, "详细说说")
    assert reply.kind is ReplyKind.NO_MORE and not reply.hits


async def test_a_request_with_a_topic_of_its_own_is_a_question(engine: Engine) -> None:
    # "详细说说出口管制" names what to tell about: it is searched, not paged.
    await engine.handle(33, 33, "DeepSeek 为什么要开源？")
    reply = await engine.handle(33, 33, "详细说说出口管制")
    assert reply.kind is ReplyKind.ANSWER and reply.offset == 0
    assert any(word in texts(reply) for word in ("出口管制", "出口控制"))


async def test_what_someone_says_includes_their_quotations_that_do_not_name_them(engine: Engine) -> None:
    # 李彦宏's two quotations follow the passage naming him ("李彦宏……表示:"): their words never
    # say 李彦宏, yet they are what he said, signed with his name.
    reply = await engine.handle(36, 36, "李彦宏说了什么？")
    shown = texts(reply)
    assert "智商税" in shown and "永远应该选择闭源模型" in shown and "开源模型打不过闭源模型" in shown
    assert {h.speaker for h in reply.hits if "李彦宏" not in h.passage.text} == {"李彦宏"}


async def test_what_else_someone_said_is_their_words_only(engine: Engine) -> None:
    # After "谁说开源是智商税？", 他 is 李彦宏 and what else he said is his two quotations; once
    # all his words were shown, "他还说过什么？" is told there is nothing else, not given others' words.
    await engine.handle(37, 37, "谁说开源是智商税？")
    reply = await engine.handle(37, 37, "他还说了啥？")
    assert "永远应该选择闭源模型" in texts(reply) and "开源模型打不过闭源模型" in texts(reply)
    await engine.handle(38, 38, "李彦宏怎么看开源？")
    more = await engine.handle(38, 38, "他还说过什么？")
    assert more.kind is ReplyKind.NO_MATCH and "文章里没有别的相关内容了：上面那几段就是全部。" in more.lines


@pytest.mark.parametrize("question", ["梁文锋怎么看开源？", "李彦宏说了什么？", "Sarah Guo 说了什么？"])
async def test_pages_of_what_someone_says_never_repeat_a_passage(engine: Engine, question: str) -> None:
    # Their quotations are put in one order, which every page is cut from.
    reply = await engine.handle(39, 39, question)
    seen = [h.passage.id for h in reply.hits]
    while reply.kind is ReplyKind.ANSWER and reply.has_more:
        reply = await engine.handle(39, 39, "更多")
        seen += [h.passage.id for h in reply.hits]
    assert len(seen) == len(set(seen)) and len(seen) >= 3


async def test_both_sides_compares_the_two_last_named(engine: Engine) -> None:
    # "两边有什么不同？" after questions on 中国 and on 美国 compares them, on the first question's topic.
    await engine.handle(40, 40, "中国为什么重视开源？")
    await engine.handle(40, 40, "那美国呢？")
    reply = await engine.handle(40, 40, "两边有什么不同？")
    assert reply.kind is ReplyKind.COMPARISON
    assert {"中国", "美国"} <= {g.label for g in reply.groups if g.heading}
    await engine.handle(41, 41, "李彦宏怎么看开源？")
    await engine.handle(41, 41, "那梁文锋呢？")
    people = await engine.handle(41, 41, "两者的观点有什么区别？")
    assert people.kind is ReplyKind.COMPARISON and "智商税" in texts(people)
    # A Latin name of two words is one side, and no word of a side is the topic.
    await engine.handle(44, 44, "Sarah Guo 怎么看开源？")
    await engine.handle(44, 44, "那 Eric Schmidt 呢？")
    latin = await engine.handle(44, 44, "两者有什么区别？")
    assert {"Sarah Guo", "Eric Schmidt"} <= {g.label for g in latin.groups if g.heading}
    assert latin.lines[0].startswith("Sarah Guo 与 Eric Schmidt（关于“开源”）")
    # "它们谁更厲害？" after 華為 and 騰訊: which is more is a comparison of the two too.
    await engine.handle(45, 45, "華為在開源上做了什麼")
    await engine.handle(45, 45, "騰訊呢")
    which_more = await engine.handle(45, 45, "它們誰更厲害")
    assert which_more.kind is ReplyKind.COMPARISON
    assert {"華為", "騰訊"} <= {g.label for g in which_more.groups if g.heading}
    # With nothing named before, it asks which two, rather than quoting passages on 不同.
    which = await engine.handle(42, 42, "两边有什么不同？")
    assert which.kind is ReplyKind.EMPTY and not which.hits and which.lines[0].startswith("比较哪两个？")


@pytest.mark.parametrize("question, topic", [
    ("两边有什么不同？", ""), ("这两家公司哪里不一样", ""), ("两者在开源上有什么区别", "开源"),
    ("中国和美国有什么不同", None), ("两边怎么看", None), ("它们谁更厉害？", "厉害"), ("他们哪个更强大", "强大"),
    ("他们和 OpenAI 有什么不同", None), ("它们比华为谁更强大", None),
])
def test_both_sides_is_told_by_both_and_a_word_of_difference(engine: Engine, question: str, topic) -> None:
    assert engine._followups.both_sides(question) == topic


async def test_what_else_after_two_pages_leaves_out_both(engine: Engine) -> None:
    # "她还说过什么？" after 更多 asks past everything shown for the question, not only the last page.
    first = await engine.handle(43, 43, "Sarah Guo 说了什么？")
    page = await engine.handle(43, 43, "更多")
    shown = {h.passage.id for h in first.hits} | {h.passage.id for h in page.hits}
    assert len(shown) == len(first.hits) + len(page.hits) > 3
    reply = await engine.handle(43, 43, "她还说过什么？")
    assert reply.kind is ReplyKind.ANSWER and not {h.passage.id for h in reply.hits} & shown


async def test_another_gain_or_cost_asks_the_earlier_question_of_it(engine: Engine) -> None:
    first = await engine.handle(30, 30, "开源模型有哪些风险？")
    other = await engine.handle(30, 30, "那好处呢？")
    assert other.kind is ReplyKind.ANSWER
    assert any("反过来" in line and "开源模型有哪些好处" in line for line in other.lines)
    assert any("好处" in h.passage.text for h in other.hits)
    assert not {h.passage.id for h in first.hits} & {h.passage.id for h in other.hits}
    # Nothing weighed before: a bare 好处呢 is no swap of anything.
    await engine.handle(31, 31, "DeepSeek 是哪家公司？")
    plain = await engine.handle(31, 31, "好处呢？")
    assert not any("反过来" in line for line in plain.lines)


async def test_another_gain_or_cost_in_english(engine: Engine) -> None:
    await engine.handle(32, 32, "What are the risks of open source?")
    other = await engine.handle(32, 32, "And the benefits?")
    assert other.kind is ReplyKind.ANSWER
    assert "(The previous question the other way round: What are the benefits of open source?)" in other.lines


async def test_a_contrast_in_traditional_script_is_shown_in_it(engine: Engine) -> None:
    await engine.handle(33, 33, "哪些公司支持開源？")
    other = await engine.handle(33, 33, "哪些公司反對？")
    assert any("反过来" in line and "哪些公司支持閉源" in line for line in other.lines)


async def test_when_what_was_just_shown_happened_is_read_off_the_passages_shown(engine: Engine) -> None:
    # "这是什么时候的事？" asks the date of what the answer quoted: the shown passages holding one
    # (1 月 28 日), not passages on another topic that hold 时候 or 事.
    first = await engine.handle(21, 21, "DeepSeek 遭到了什么攻击？")
    dated = [h.passage.id for h in first.hits if "28 日" in h.passage.text]
    assert dated
    when = await engine.handle(21, 21, "这是什么时候的事？")
    assert when.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in when.lines)
    assert [h.passage.id for h in when.hits] == dated
    # In English and in Traditional script alike; a question of its own is searched as ever.
    await engine.handle(22, 22, "What did Dario Amodei call for?")
    english = await engine.handle(22, 22, "When was that?")
    assert english.hits and "30 日" in english.hits[0].passage.text
    await engine.handle(23, 23, "DeepSeek 遭到了什麼攻擊？")
    assert [h.passage.id for h in (await engine.handle(23, 23, "這是什麼時候的事？")).hits] == dated
    other = await engine.handle(23, 23, "中国人工智能开源软件发展联盟是什么时候成立的？")
    assert other.hits and "2018" in other.hits[0].passage.text


async def test_what_was_just_shown_means_is_shown_in_its_place_in_the_article(engine: Engine, parts) -> None:
    # The bot writes no explanation: "什么意思？" gets the first passage shown again, then the
    # author's paragraphs before and after it, not a search for 意思 or the same page again.
    _, corpus, _ = parts
    first = await engine.handle(24, 24, "华为为什么担心开源社区？")
    assert first.kind is ReplyKind.ANSWER
    centre = first.hits[0].passage.id
    around = {p.id for p in corpus.neighbours(centre)} - {centre}
    assert around
    meaning = await engine.handle(24, 24, "这句话什么意思？")
    assert meaning.kind is ReplyKind.ANSWER
    assert "（上一条回答的第一段引文，后面是文章里它前后的段落）" in meaning.lines
    assert meaning.hits[0].passage.id == centre and {h.passage.id for h in meaning.hits[1:]} == around
    # Asked again, the same place: the passage it centres on stays first.
    again = await engine.handle(24, 24, "作者到底想表达什么？")
    assert [h.passage.id for h in again.hits] == [h.passage.id for h in meaning.hits]
    # In English and in Traditional script alike.
    await engine.handle(25, 25, "Why does Huawei worry about open-source communities?")
    english = await engine.handle(25, 25, "What does that mean?")
    assert english.lines[0].startswith("(The first passage of my last answer")
    await engine.handle(26, 26, "華為為什麼擔心開源社區？")
    assert (await engine.handle(26, 26, "這是什麼意思？")).hits[0].passage.id == centre


@pytest.mark.parametrize("question, asks_meaning", [
    ("什么意思？", True), ("作者想说明什么", True), ("怎么理解？", True), ("What does it mean?", True),
    # The evidence for what was shown is beside it, if the article gives any.
    ("有证据吗？", True), ("依据是什么", True), ("有數據支持嗎", True), ("Any evidence?", True),
    ("DeepSeek 有蒸馏的证据吗", False),
    # A topic of its own, or what something implies: searched as ever.
    ("怎么理解开源社区的作用", False), ("这意味着什么？", False), ("开源是什么意思", False),
    ("What does open source mean?", False),
])
def test_asking_what_was_shown_means_names_no_topic(parts, question: str, asks_meaning: bool) -> None:
    from bot.followup import FollowUps
    _, _, retriever = parts
    followups = FollowUps(retriever.analyzer, retriever.necessity, lambda word: word in retriever.vocab)
    assert followups.asks_meaning_shown(question) is asks_meaning


async def test_a_verb_of_achieving_frames_a_follow_up_not_a_topic(engine: Engine) -> None:
    # 做到 says only that something was achieved: "为什么能做到这么便宜？" asks why it is cheap, of
    # the earlier question's DeepSeek, though the articles never write 做到.
    await engine.handle(13, 13, "DeepSeek 的模型有多便宜？")
    reply = await engine.handle(13, 13, "为什么能做到这么便宜？")
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert "成本价格低廉" in texts(reply)


async def test_a_follow_up_asking_only_a_persons_proposal_finds_what_he_said(engine: Engine) -> None:
    # 建议 frames the question: the article says Eric Schmidt 呼吁, not 建议.
    await engine.handle(14, 14, "Eric Schmidt 说了什么？")
    reply = await engine.handle(14, 14, "他的建议是什么？")
    assert reply.kind is ReplyKind.ANSWER
    assert "还必须支持一个充满活力的开源生态系统的发展" in texts(reply)


async def test_a_two_word_latin_name_asked_what_the_articles_never_say_is_told_so(engine: Engine) -> None:
    # Sam and Altman are one person: the name weighs as one word, and 结婚 is what is asked of him.
    reply = await engine.handle(15, 15, "Sam Altman 结婚了吗？")
    assert reply.kind is ReplyKind.NO_MATCH and not reply.hits
    assert any("文章里提到了Sam Altman" in line for line in reply.lines)
    # What the articles do say of him is still found.
    reply = await engine.handle(15, 15, "Sam Altman 说了什么？")
    assert reply.kind is ReplyKind.ANSWER and "Altman" in texts(reply)


async def test_a_demonstrative_with_a_noun_stands_for_the_earlier_name(engine: Engine) -> None:
    # "这家公司" points back as 它 would: the earlier question's company in its place, so a passage
    # calling another company 这家公司 (Sierra) is no answer.
    await engine.handle(17, 17, "深度求索是哪家公司搞的？")
    reply = await engine.handle(17, 17, "美国人怎么看这家公司？")
    assert reply.kind is ReplyKind.ANSWER and any("接着上一个问题" in line for line in reply.lines)
    assert "深度求索" in reply.query and "这家公司" not in reply.query
    assert not any("Sierra" in h.passage.text for h in reply.hits)
    # The noun of an event is the topic and stays (这次攻击); beside a name the phrase is apposition.
    await engine.handle(18, 18, "DeepSeek 遭受了什么攻击？")
    reply = await engine.handle(18, 18, "这次攻击是谁干的？")
    assert "攻击" in reply.query and "DeepSeek" in reply.query
    reply = await engine.handle(18, 18, "OpenAI 这家公司为什么转向闭源？")
    assert reply.context is None and not any("接着上一个问题" in line for line in reply.lines)
    # 这家 is a firm's measure word: of a question naming a person and a company, the company.
    await engine.handle(19, 19, "DeepSeek 为什么要开源？")
    await engine.handle(19, 19, "梁文锋怎么看？")
    reply = await engine.handle(19, 19, "这家公司的估值是多少？")
    assert "DeepSeek" in reply.query and "梁文锋" not in reply.query


async def test_a_question_saying_where_to_look_finds_what_it_asks(engine: Engine) -> None:
    # 文章里 says where to look; passages saying 文章 of an article someone wrote are no answer.
    reply = await engine.handle(20, 20, "文章里怎么说开源的好处？")
    assert reply.kind is ReplyKind.ANSWER and "好处" in texts(reply)
    assert "撰写了一篇文章" not in texts(reply)


async def test_the_asking_alone_asks_for_a_question(engine: Engine) -> None:
    # "帮我查一下？" asks nothing yet: a prompt, not a search for 查.
    for message in ("帮我查一下？", "请问？", "麻烦你"):
        reply = await engine.handle(25, 25, message)
        assert reply.kind is ReplyKind.EMPTY and not reply.hits, message
    assert (await engine.handle(25, 25, "谢谢")).lines == ("好的。还想知道什么，直接问就行。",)


async def test_a_follow_up_put_politely_leans_as_it_would_bare(engine: Engine) -> None:
    # 请问 opens how it is put, not what it asks: 他 still starts the question.
    await engine.handle(21, 21, "梁文锋是谁？")
    reply = await engine.handle(21, 21, "请问他怎么看商业化？谢谢")
    assert reply.kind is ReplyKind.ANSWER and "梁文锋" in reply.query and "请问" not in reply.query
    assert any("接着上一个问题：梁文锋是谁？" in line for line in reply.lines)


async def test_a_traditional_name_in_a_chain_of_follow_ups_stands_once(engine: Engine) -> None:
    # 梁文鋒 is 梁文锋 normalized: named twice along the chain, put in once.
    await engine.handle(22, 22, "梁文鋒為什麼不怕別人抄？")
    await engine.handle(22, 22, "他怎麼看人才？")
    reply = await engine.handle(22, 22, "他對錢怎麼看？")
    assert reply.query.count("梁文鋒") == 1


async def test_a_place_in_place_of_part_of_a_word_keeps_the_rest_of_it(engine: Engine) -> None:
    # 美国政府 is one word of jieba's: "那中国呢？" asks of 中国政府, not of China at large.
    await engine.handle(23, 23, "美国政府对 DeepSeek 的态度是什么？")
    reply = await engine.handle(23, 23, "那中国呢？")
    assert reply.kind is ReplyKind.ANSWER and "政府" in (reply.context or "")
    assert "中国政府" in texts(reply)


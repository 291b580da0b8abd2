"""Ranking (BM25F over words and bigrams), the idf rule, abstention, duplicates, snippets, paging, cache."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
from collections import Counter
from pathlib import Path

import jieba
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.config import Config, RetrievalConfig, load_config
from bot.corpus import Corpus, Passage, load_corpus
from bot.retrieval import Hit, Retriever, bm25_idf
from bot.retrieval import retriever as retriever_module
from bot.retrieval.cache import cache_path
from bot.retrieval.model import Model, SnippetParams, load_model


def tiny_corpus(*texts: str, title: str = "Tiny") -> Corpus:
    """A corpus of one source whose passages are the given texts, in order."""
    passages = tuple(Passage(id=f"t#{i}", source_id="t", source_title=title, section="", position=i, text=text)
                     for i, text in enumerate(texts))
    return Corpus(sources=(), passages=passages)


def plain_model(config: RetrievalConfig, k1: float = 1.5, b: float = 0.75) -> Model:
    """The fitted model with the words scored as plain BM25 of the body (no head, no bigrams)."""
    model = load_model(config.model_file)
    words = dataclasses.replace(model.ranking.words, k1=k1, b=b, head_weight=0.0)
    ranking = dataclasses.replace(model.ranking, words=words, bigram_weight=0.0, necessity_power=0.0)
    return dataclasses.replace(model, ranking=ranking)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The bundled config with its index cache in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    base = load_config(env={"HOME": str(home)})
    return base.with_overrides(retrieval={"cache_dir": home / "cache"})


@pytest.fixture(scope="module")
def retriever(bundled: Config) -> Retriever:
    """A retriever over the four bundled articles, built once for the module."""
    return Retriever(load_corpus(bundled.corpus), bundled.retrieval)


@pytest.fixture(scope="module")
def fruit(bundled: Config) -> Retriever:
    """Three sentences whose plain BM25 scores can be checked by hand."""
    corpus = tiny_corpus("苹果和香蕉都是水果。", "香蕉很甜。香蕉是黄色的水果。", "汽车在公路上行驶。")
    settings = dataclasses.replace(bundled.retrieval, cache_dir=None)
    return Retriever(corpus, settings, model=plain_model(settings))


def ids(hits: list[Hit]) -> list[str]:
    return [h.passage.id for h in hits]


# --- ranking ---------------------------------------------------------------------------------

def test_tiny_corpus_ranks_by_the_bm25_formula(fruit: Retriever) -> None:
    docs = [["苹果", "香蕉", "水果"], ["香蕉", "很甜", "香蕉", "黄色", "水果"], ["汽车", "公路", "上", "行驶"]]
    assert [sorted(d) for d in fruit.token_lists()] == [sorted(d) for d in docs]  # a bag: order is free
    k1, b, avgdl = 1.5, 0.75, 4.0
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # 香蕉 is in 2 of 3 passages
    expected = [idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / avgdl)) for tf, d in
                ((1, docs[0]), (2, docs[1]), (0, docs[2]))]
    assert np.allclose(fruit.score_all(["香蕉"]), expected)
    # Two mentions in the longer passage still beat one in the shorter; the car is not offered.
    assert ids(fruit.search("香蕉")) == ["t#1", "t#0"]
    assert ids(fruit.search("汽车")) == ["t#2"]


def test_head_field_is_bm25f_combined_before_saturation(bundled: Config) -> None:
    """tf~ = body / B_body + head_weight * head / B_head, then idf * tf~ (k1 + 1) / (tf~ + k1)."""
    settings = dataclasses.replace(bundled.retrieval, cache_dir=None)
    base = plain_model(settings, k1=1.2, b=0.0)
    words = dataclasses.replace(base.ranking.words, head_weight=2.0, head_b=0.0)
    model = dataclasses.replace(base, ranking=dataclasses.replace(base.ranking, words=words))
    corpus = Corpus(sources=(), passages=(
        Passage("k#0", "k", "袋鼠", "", 0, "它的体重约八公斤。"),
        Passage("k#1", "k", "袋鼠", "", 1, "袋鼠跳得很远。"),
        Passage("o#0", "o", "考拉", "", 0, "考拉的体重很轻。"),
    ))
    retriever = Retriever(corpus, settings, model=model)
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # 袋鼠: in the head of two passages
    head_only, both = 2.0, 1 + 2.0
    expected = [idf * tf * 2.2 / (tf + 1.2) for tf in (head_only, both)] + [0.0]
    assert np.allclose(retriever.score_all(["袋鼠"]), expected)
    # A passage that never names its subject is found through its article's title.
    assert ids(retriever.search("袋鼠的体重"))[0] == "k#0"


def test_a_fixed_head_length_makes_a_long_title_weaker_evidence_of_each_word(bundled: Config) -> None:
    """With head_ref, B_head = 1 - head_b + head_b * len_head / head_ref, whatever the other heads."""
    settings = dataclasses.replace(bundled.retrieval, cache_dir=None)
    base = plain_model(settings, k1=1.2, b=0.0)
    corpus = Corpus(sources=(), passages=(
        Passage("s#0", "s", "袋鼠", "", 0, "它跳得很远。"),
        Passage("l#0", "l", "袋鼠 考拉 鸭嘴兽 袋熊 澳洲 动物 图鉴", "", 0, "它们都生活在澳洲。"),
    ))

    def scores(head_ref: float):
        words = dataclasses.replace(base.ranking.words, head_weight=2.0, head_b=1.0, head_ref=head_ref)
        model = dataclasses.replace(base, ranking=dataclasses.replace(base.ranking, words=words))
        retriever = Retriever(corpus, settings, model=model)
        return retriever.score_all(["袋鼠"]), retriever.analyzer

    fixed, analyzer = scores(2.0)
    idf = math.log(1 + (2 - 2 + 0.5) / (2 + 0.5))
    lengths = [len(analyzer.tokenize(p.source_title)) for p in corpus.passages]
    expected = [idf * tf * 2.2 / (tf + 1.2) for tf in (2.0 / (n / 2.0) for n in lengths)]
    assert np.allclose(fixed, expected)
    assert fixed[0] > fixed[1]
    # Without it the heads are compared with their mean: another length, another score.
    mean, _ = scores(0.0)
    assert not np.allclose(mean, fixed)


def test_score_all_matches_rank_bm25_fed_the_same_tokens_and_idf(bundled: Config) -> None:
    settings = bundled.retrieval
    plain = Retriever(load_corpus(bundled.corpus), settings, model=plain_model(settings))
    reference = BM25Okapi(plain.token_lists(), k1=1.5, b=0.75)
    reference.idf = plain.idf
    for question in ("DeepSeek-V3 的训练成本", "梁文锋 开源情怀", "出口管制 芯片 英伟达", "未知词 开源"):
        tokens = plain.analyzer.tokenize(question)
        assert np.allclose(plain.score_all(tokens), reference.get_scores(tokens))


def test_idf_floor_trap_is_avoided_on_the_real_articles(retriever: Retriever) -> None:
    # The plain approach: jieba.lcut, no stop words, rank-bm25's epsilon floor.
    plain = [jieba.lcut(p.text) for p in retriever.passages]
    trap = BM25Okapi(plain)
    n = len(plain)
    df = Counter(w for doc in plain for w in set(doc))
    assert df["的"] > n / 2
    assert trap.idf["的"] >= trap.idf["开源"]  # the trap: the commonest word weighs as much as the topic
    # Our rule, on the same document frequencies: strictly falling, so commoner always weighs less.
    common = [w for w, count in df.items() if count > n / 2]
    assert "的" in common
    for word in common:
        for topic in ("开源", "DeepSeek"):
            if df[word] > df[topic]:
                assert bm25_idf(df[word], n) < bm25_idf(df[topic], n)
        assert bm25_idf(df[word], n) > 0
    # And in our index every passage that holds a query word scores above zero.
    scores = retriever.score_all(["deepseek"])
    holding = [i for i, toks in enumerate(retriever.token_lists()) if "deepseek" in toks]
    assert len(holding) > len(retriever.passages) / 2 and (scores[holding] > 0).all()
    assert "的" not in retriever.idf and "是" not in retriever.idf


def test_frame_words_do_not_change_the_best_passage(retriever: Retriever) -> None:
    # Stop words and frame words (是什么, 是啥) add nothing to find; the pairs they make with the
    # question's words (情怀是) may move later ranks, not the first.
    best = ids(retriever.search("开源情怀"))[0]
    for question in ("开源情怀是什么？", "什么是开源情怀", "开源情怀是啥"):
        assert ids(retriever.search(question))[0] == best


def test_a_questions_frame_makes_no_character_pairs(retriever: Retriever) -> None:
    # 为什么 is no topic: its pairs (为什) would favour the section "为什么开源AI模型突然成为焦点"
    # over the article "DeepSeek为何选择开源" for a question that says only DeepSeek and 开源.
    analyzer = retriever.analyzer
    pairs = analyzer.question_bigrams(analyzer.normalize("DeepSeek 为什么要开源？"))
    assert "为什" not in pairs and "开源" in pairs
    assert "的原" in analyzer.question_bigrams("开源的原因是什么")   # a one-character stop word still pairs
    hit = retriever.search("deepseek 为什么要开源")[0]
    assert hit.passage.source_title.startswith("DeepSeek为何选择开源")


@pytest.mark.parametrize("polite, plain", [
    ("你好，请问一下 DeepSeek 为什么要开源啊？谢谢！", "DeepSeek 为什么要开源？"),
    ("您好，麻烦问下李彦宏怎么看开源", "李彦宏怎么看开源"),
    ("hi, does DeepSeek have outside investors? thanks", "does DeepSeek have outside investors?"),
    ("总结一下开源的好处", "开源的好处"),
    ("Why did DeepSeek open-source its models? Thanks a lot", "Why did DeepSeek open-source its models?"),
    # A particle said over and over is one word to jieba (啊啊啊), unknown to every article.
    ("deepseek为啥开源啊啊啊", "deepseek为啥开源"),
    ("哈哈哈 deepseek为啥开源", "deepseek为啥开源"),
])
def test_greetings_and_thanks_around_a_question_change_nothing(retriever: Retriever, polite: str,
                                                               plain: str) -> None:
    # 你好 and 谢谢 are in no article: counted as words of the question, they made it look like
    # one about something the library never mentions, and it got "nothing relevant".
    found = retriever.search(polite)
    assert found and ids(found) == ids(retriever.search(plain))


def test_misspelled_name_finds_the_right_spelling(retriever: Retriever) -> None:
    hits = retriever.search("梁文峰说 DeepSeek 的目标是什么")
    assert "推动技术前沿" in hits[0].passage.text
    assert "梁文锋" in hits[0].matched_terms  # highlighted as it is written in the passage


def test_english_question_finds_the_chinese_passage(retriever: Retriever) -> None:
    hits = retriever.search("export controls")
    assert hits and all(("出口管制" in h.passage.text or "出口控制" in h.passage.text) for h in hits)
    hits = retriever.search("Why does Robin Li call open source an IQ tax?")
    assert "智商税" in hits[0].passage.text


def test_an_english_word_meets_each_usual_translation(retriever: Retriever) -> None:
    # The articles call Sarah Guo a 投资人, not a 投资者: both are what "investor" means.
    hits = retriever.search("What do investors think about open-source models?")
    assert hits and "投资人" in hits[0].passage.text


def test_an_english_question_on_the_us_finds_what_the_articles_say_of_it(retriever: Retriever) -> None:
    # "worried" is glossed 担心, its base form "worry" 担忧 too, the articles' word; "US" is 美国.
    hits = retriever.search("Why is the US worried about DeepSeek?")
    assert hits and "美国对其技术优势的担忧" in hits[0].passage.text


def test_traditional_question_finds_the_simplified_passage(retriever: Retriever) -> None:
    assert "开源情怀" in retriever.search("甚麼是開源情懷？")[0].passage.text


def test_taiwan_vocabulary_meets_the_mainland_words(retriever: Retriever) -> None:
    # 晶片, 網際網路 and 軟體 are Taiwan's words for 芯片, 互联网 and 软件: phrase by phrase, not
    # character by character (which would give 晶片, 网际网路, 软体).
    assert "芯片" in retriever.search("美國限制哪款輝達晶片出口")[0].passage.text
    assert "互联网" in retriever.search("開源模型依賴網際網路嗎")[0].passage.text
    hits = retriever.search("中國政府為什麼要減少對外國軟體的依賴")
    assert any("减少对外国软件依赖" in h.passage.text for h in hits)


def test_english_words_without_a_glossary_entry_use_the_dictionary(retriever: Retriever) -> None:
    # Neither "hesitate" nor "embrace" is in the aliases file's glossary; CC-CEDICT's senses are,
    # and only those the library holds (拥抱) count.
    hits = retriever.search("Why might regulators hesitate to embrace open source?")
    assert any("不乐于拥抱开源" in h.passage.text for h in hits)


def test_a_latin_title_in_a_chinese_question_is_matched_as_written(bundled: Config) -> None:
    # The glossary translates world -> 世界 and real -> 实际 for English questions; in a Chinese
    # question the Latin words are the title as the article writes it, not two English words.
    corpus = tiny_corpus("《Real world》是这支乐队的第十五张单曲，在日本发行。",
                         "乐队的新专辑在世界各地发行。",
                         "乐队成员都来自大阪。")
    found = Retriever(corpus, dataclasses.replace(bundled.retrieval, cache_dir=None)).search(
        "《real world》什么时候发行的？")
    assert found and found[0].passage.id == "t#0"


def test_a_name_the_question_cuts_badly_is_found_through_the_library_words(bundled: Config) -> None:
    # jieba's HMM glues an unknown name to the next character in a short question (刘七是); the
    # articles use the name in several passages, so it is taught to the question analyzer.
    corpus = tiny_corpus("刘七率领农民起义，转战各地。", "刘七后来在狼山战死。", "明朝的军队镇压了起义。")
    found = Retriever(corpus, dataclasses.replace(bundled.retrieval, cache_dir=None)).search("刘七是怎么死的？")
    assert found and found[0].passage.id == "t#1"


@pytest.mark.parametrize("question, answer", [
    ("王小明23岁时做了什么？", "t#1"), ("王小明在一九九八年做了什么？", "t#2"), ("王小明第3次参赛是哪一年？", "t#3"),
])
def test_a_number_is_found_in_either_script(bundled: Config, question: str, answer: str) -> None:
    # 23 and 二十三 are one number: a question writes it one way, an article the other.
    corpus = tiny_corpus("王小明出生于上海，从小喜欢画画。", "王小明二十三岁进入一家公司做设计。",
                         "1998年王小明开了自己的画廊。", "王小明第三次参赛是在2005年。",
                         "王小明的画廊有十三位画家和二十位学生。")
    found = Retriever(corpus, dataclasses.replace(bundled.retrieval, cache_dir=None)).search(question)
    assert found and found[0].passage.id == answer


def test_an_article_titled_with_a_name_teaches_the_name(bundled: Config) -> None:
    # jieba cuts 史继偕 as 史继 / 偕 in the article and glues it to the next character in a
    # question (史继偕著); the article's title says it is one word, for passages and questions.
    passages = (Passage("a#0", "a", "史继偕", "", 0, "史继偕（），字世程，明朝政治人物、榜眼。"),
                Passage("a#1", "a", "史继偕", "", 1, "继偕著有《云台藏稿》十六卷、《奏议》四卷传世。"),
                Passage("b#0", "b", "魏玩（词人）", "", 0, "魏玩，北宋女词人，著有词集一卷传世。"),
                Passage("c#0", "c", "从「蒸馏」指控到芯片封锁", "", 0, "这是一篇讲芯片的文章。"))
    retriever = Retriever(Corpus(sources=(), passages=passages), dataclasses.replace(bundled.retrieval, cache_dir=None))
    assert "史继偕" in retriever.analyzer.tokenize("史继偕著有哪些书册传世？")
    assert "史继偕" in [token for token, *_ in retriever._passage_tokens(0)]
    assert "魏玩" in retriever.analyzer.tokenize("魏玩写过什么")   # the qualifier in brackets set aside
    assert retriever.analyzer.learn_titles(["从「蒸馏」指控到芯片封锁", "开源模型的崛起谁将主导未来"]) == 0  # headlines
    found = retriever.search("史继偕著有哪些书册传世？")
    assert found and found[0].passage.source_id == "a"


def test_an_interviewers_question_comes_after_the_answers_unless_the_asker_is_asked_about(bundled: Config) -> None:
    # The interviewer's turn restates the topic in the reader's words; it answers nothing.
    passages = (Passage("i#0", "i", "访谈", "", 0, "王芳: 很多人说开源模型是国家安全威胁,你怎么看开源模型的这种威胁?"),
                Passage("i#1", "i", "访谈", "", 1, "李明: 我认为开源模型不是威胁,它让全世界的开发者都能用上先进的技术。"),
                Passage("i#2", "i", "访谈", "", 2, "李明: 当然,出口管制的争论还会继续。", speaker="李明"),
                Passage("j#0", "j", "天气", "", 0, "今天北京下了一场大雨,气温明显下降。"))
    retriever = Retriever(Corpus(sources=(), passages=passages), dataclasses.replace(bundled.retrieval, cache_dir=None))
    found = [h.passage.id for h in retriever.search("李明怎么看开源模型的威胁", top_k=4)]
    assert found[0] == "i#1" and ("i#0" not in found or found[-1] == "i#0")
    assert retriever.search("王芳问了什么关于开源模型威胁的问题")[0].passage.id == "i#0"


def test_a_lead_in_and_its_quotation_are_one_hit(retriever: Retriever) -> None:
    hit = retriever.search("梁文峰被问是不是在做疯狂的事，他怎么回答")[0]
    assert "他的回答则十分有意思" in hit.passage.text and "不知道是不是疯狂" in hit.passage.text
    hit = retriever.search("幻方量化说这与金融无关")[0]
    assert "幻方量化公司强调" in hit.snippet and "这与金融无关" in hit.snippet


# --- abstention ------------------------------------------------------------------------------

@pytest.mark.parametrize("question", [
    "今天上海天气怎么样？", "红烧肉怎么做才好吃", "股票怎么开户", "你好", "谢谢！",
    "DeepSeek 总部在哪个城市",
    "hello", "What's the best pizza in New York?", "量子纠缠与超导体", "1+1等于几", "明天東京會下雨嗎",
    "", "   ", "的了吗？", "😀😀", "<b>hi</b>", "他有多高", "钱",
])
def test_off_topic_questions_get_no_passage(retriever: Retriever, question: str) -> None:
    assert retriever.search(question) == []


@pytest.mark.parametrize("question", [
    "开源情怀", "DeepSeek 有外部投资者吗", "什么是指令集架构", "星际之门", "Janus Pro",
    "李彦宏", "Who is Sarah Guo?", "蒸馏", "开源好吗", "闭源好不好",
])
def test_short_on_topic_questions_are_answered(retriever: Retriever, question: str) -> None:
    assert retriever.search(question)


def test_one_chance_word_is_not_enough(fruit: Retriever) -> None:
    # 水果 is in the corpus, but the question is about something the corpus never mentions.
    assert fruit.search("热带水果榴莲怎么挑选才新鲜") == []
    assert fruit.search("黄色的香蕉")


# --- near-duplicates, snippets ---------------------------------------------------------------

def test_near_duplicate_passages_are_shown_once(bundled: Config) -> None:
    original = "尽管深度求索声称单次训练运行成本为600万美元,但实验和基础设施的实际成本被大大低估,因此资本效率仍是问题。"
    copy = "正如前文所说,尽管深度求索声称单次训练运行成本为600万美元,但实验和基础设施的实际成本被大大低估,因此资本效率仍是问题。"
    other = "有人说训练只花了600万美元,可这个数字被低估了。"
    corpus = tiny_corpus(original, other, copy)
    found = Retriever(corpus, dataclasses.replace(bundled.retrieval, cache_dir=None)).search(
        "训练成本 600万美元 被低估", top_k=3)
    shown = ids(found)
    assert ("t#0" in shown) != ("t#2" in shown)
    assert "t#1" in shown  # related, but not a copy


def test_many_candidates_are_compared_with_a_kept_passage_exactly_as_one_at_a_time() -> None:
    """duplicates.Candidates against duplicates.repeats: random term sets of 5-40 terms sharing
    much or little with the kept one, idf values that make some ratios fall on OVERLAP itself."""
    import random

    from bot.retrieval import duplicates

    pick = random.Random(3)
    idf = np.array([pick.choice([1.0, 2.0, 0.5, 3.0, pick.uniform(0.1, 9.0)]) for _ in range(300)])
    idf[:50] = 1.0

    def idf_of(terms: frozenset[int]) -> float:
        return float(idf[list(terms)].sum()) if terms else 0.0

    decided_exactly = 0
    for _ in range(60):
        kept = frozenset(pick.sample(range(300), pick.randint(5, 40)))
        others = []
        for _ in range(40):
            shared = pick.sample(sorted(kept), pick.randint(0, len(kept)))
            others.append(frozenset(shared + pick.sample(range(300), pick.randint(0, 30))))
        if pick.random() < 0.3:
            # Ten terms of weight 1, seven of them kept's: a ratio of exactly OVERLAP.
            kept = frozenset(pick.sample(range(50), 10))
            others = [frozenset(pick.sample(sorted(kept), 7) + pick.sample(sorted(set(range(50)) - kept), 3))
                      for _ in range(5)]
        others = [t for t in others if t != kept]
        asked: list[int] = []
        lengths = np.array([len(t) for t in others])
        long = [sorted(t) for t in others if len(t) >= duplicates.MIN_WORDS]
        candidates = duplicates.Candidates(lengths, np.array([j for t in long for j in t], dtype=np.int64), idf)

        def exact(n: int) -> bool:
            asked.append(n)
            return duplicates.repeats(others[n], kept, idf_of)

        got = candidates.repeating(kept, idf_of(kept), exact)
        assert got.tolist() == [duplicates.repeats(t, kept, idf_of) for t in others]
        decided_exactly += len(asked)
    # Ratios of exactly OVERLAP (7 of 10 equal weights) were left to repeats itself.
    assert decided_exactly > 0


def test_summary_bullet_and_its_body_paragraph_are_not_both_shown(retriever: Retriever) -> None:
    pages = retriever.search("深度求索声称单次训练成本600万美元 实验和基础设施成本被低估", top_k=10)
    texts = [h.passage.text for h in pages]
    bullet = [t for t in texts if t.startswith("尽管深度求索声称单次训练运行成本为600万美元")]
    dialog = [t for t in texts if "这大大低估了实验和基础设施的总成本" in t]
    assert len(bullet) + len(dialog) == 1


def test_a_long_passage_shows_the_sentence_of_what_is_asked_not_of_its_title(bundled: Config) -> None:
    # Every sentence of an article is about its title, and the source line under the quote shows
    # the title: the name weighs the model's head share in choosing the sentences shown, so the
    # sentence that holds 面积 is shown, not the passage's opening that names the park.
    text = ("青石公园位于城市东郊的青石镇，是三条大路之间的一处公众游园地，早年由铁路局捐出土地修建而成。"
            "公园在一九八零年的冬天正式开放，园里有一片湖、一座小山和几条林荫小路，湖边种着柳树和桃树，"
            "山上有一座木头搭的小亭子，从亭子里可以望见整片湖面，周末常有附近的居民带着孩子来这里散步、钓鱼、放风筝和野餐。"
            "它的面积约为零点三平方公里，是全城第二大的公园。"
            "后来又在邻近的地段增辟了两座小公园，彼此之间只隔着一条街，"
            "每年春天三座公园一起举办花展，吸引了不少从外地赶来的游客，公园门口的小吃摊也因此热闹起来。")
    assert len(text) > 160
    corpus = Corpus(sources=(), passages=(
        Passage("p#0", "p", "青石公园", "", 0, text),
        Passage("q#0", "q", "白河大桥", "", 0, "白河大桥横跨白河，全长八百米，是城里最长的桥。")))
    settings = dataclasses.replace(bundled.retrieval, cache_dir=None)
    fitted = load_model(settings.model_file)
    assert fitted.snippets.head_share < 1.0

    def shown(share: float) -> str:
        model = dataclasses.replace(fitted, snippets=SnippetParams(head_share=share))
        hits = Retriever(corpus, settings, model=model).search("青石公园的面积有多大？", top_k=1)
        assert hits and hits[0].passage.id == "p#0"
        return hits[0].snippet

    assert "面积约为零点三平方公里" in shown(fitted.snippets.head_share)
    assert "面积约为零点三平方公里" not in shown(1.0)   # the title's name chose the opening


def test_snippets_are_verbatim(retriever: Retriever) -> None:
    questions = ["Sarah Guo 认为蛋糕会变大吗", "开源", "DeepSeek 的成功", "出口管制", "中国政府 开源 联盟",
                 "DeepSe 对冲基金 指令调优 推理模型"]
    long_seen = False
    for question in questions:
        for hit in retriever.search(question, top_k=5):
            text = hit.passage.text
            inner = hit.snippet.removeprefix("…").removesuffix("…")
            assert inner and inner in text
            if len(text) <= 160:
                assert hit.snippet == text
            else:
                long_seen = True
                assert len(inner) < len(text)
                assert hit.snippet.startswith("…") == (not text.startswith(inner))
                assert hit.snippet.endswith("…") == (not text.endswith(inner))
            for term in hit.matched_terms:
                assert term in hit.snippet
            lengths = [len(t) for t in hit.matched_terms]
            assert lengths == sorted(lengths, reverse=True)
            assert len(set(hit.matched_terms)) == len(hit.matched_terms)
    assert long_seen, "expected at least one long passage among the hits"


def test_snippet_of_a_long_passage_holds_the_matched_sentence(retriever: Retriever) -> None:
    hit = retriever.search("Sarah Guo 以哪家公司为例 Sierra 客户体验")[0]
    assert "Sierra" in hit.snippet
    assert "Sierra" in hit.matched_terms or "sierra" in [t.lower() for t in hit.matched_terms]


# --- follow-ups and paging -------------------------------------------------------------------

def test_follow_up_uses_the_previous_question(retriever: Retriever) -> None:
    assert retriever.search("那他呢？") == []
    hits = retriever.search("那他呢？", context="梁文锋怎么看顶尖人才")
    assert hits and "顶尖人才在中国是被低估的" in hits[0].passage.text
    hits = retriever.search("他怎么回答的？", context="采访者问梁文峰你们在做一件很疯狂的事吗")
    assert hits and "疯狂" in hits[0].passage.text


def test_follow_up_context_weighs_less_than_the_question(retriever: Retriever) -> None:
    hits = retriever.search("那英伟达呢", context="Dario 对出口管制持什么观点")
    assert "英伟达" in hits[0].passage.text
    hits = retriever.search("开源情怀是什么", context="出口管制")
    assert "开源情怀" in hits[0].passage.text


def test_pages_never_repeat_a_passage(retriever: Retriever) -> None:
    seen: list[str] = []
    for page in range(8):
        hits = retriever.search("开源模型", top_k=3, offset=3 * page)
        if not hits:
            break
        seen.extend(ids(hits))
    assert len(seen) >= 6
    assert len(seen) == len(set(seen))
    assert seen == ids(retriever.search("开源模型", top_k=len(seen)))


def test_paging_past_the_end_is_empty(fruit: Retriever) -> None:
    assert ids(fruit.search("香蕉", top_k=1, offset=1)) == ["t#0"]
    assert fruit.search("香蕉", top_k=3, offset=2) == []


# --- index cache -----------------------------------------------------------------------------

@pytest.fixture
def settings(bundled: Config, tmp_path: Path) -> RetrievalConfig:
    """Copies of the bundled retrieval files in tmp_path, with the cache there too."""
    config = bundled.retrieval
    files = {}
    for name in ("aliases_file", "userdict_file", "stopwords_file"):
        source = getattr(config, name)
        files[name] = tmp_path / source.name
        shutil.copy(source, files[name])
    return dataclasses.replace(config, cache_dir=tmp_path / "cache", **files)


SMALL = tiny_corpus("幻方量化公司强调其研究不会用于股票交易。", "梁文锋说目标是推动技术前沿。",
                    "出口管制无法阻挡这一趋势。")


def test_cache_is_written_then_used(settings: RetrievalConfig) -> None:
    first = Retriever(SMALL, settings)
    assert not first.cache_hit
    assert list(settings.cache_dir.glob("index-*/manifest.json"))
    second = Retriever(SMALL, settings)
    assert second.cache_hit
    assert ids(second.search("梁文峰的目标")) == ids(first.search("梁文峰的目标")) == ["t#1"]
    assert np.array_equal(second.score_all(["出口管制"]), first.score_all(["出口管制"]))


def test_cache_is_rebuilt_when_a_passage_changes(settings: RetrievalConfig) -> None:
    Retriever(SMALL, settings)
    changed = tiny_corpus(*(p.text for p in SMALL.passages[:2]), "出口管制挡不住人才流动。")
    rebuilt = Retriever(changed, settings)
    assert not rebuilt.cache_hit
    assert ids(rebuilt.search("人才流动")) == ["t#2"]


def test_cache_is_rebuilt_when_the_tokenizer_settings_change(settings: RetrievalConfig) -> None:
    Retriever(SMALL, settings)
    with settings.userdict_file.open("a", encoding="utf-8") as handle:
        handle.write("\n技术前沿 10 n\n")
    assert not Retriever(SMALL, settings).cache_hit
    with settings.stopwords_file.open("a", encoding="utf-8") as handle:
        handle.write("\n公司\n")
    assert not Retriever(SMALL, settings).cache_hit
    with settings.aliases_file.open("a", encoding="utf-8") as handle:
        handle.write("  trend: 趋势\n")
    rebuilt = Retriever(SMALL, settings)
    assert not rebuilt.cache_hit
    assert Retriever(SMALL, settings).cache_hit


@pytest.mark.parametrize("from_files", [False, True])
def test_cache_is_rebuilt_when_the_counting_code_changes(settings: RetrievalConfig, from_files: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """What a head holds is the counting code's (index.head_text): the passages alone do not key it."""
    corpus = dataclasses.replace(SMALL, key="a loaded library's passages hash") if from_files else SMALL
    Retriever(corpus, settings)
    assert Retriever(corpus, settings).cache_hit
    monkeypatch.setattr(retriever_module, "counting_fingerprint", lambda: "heads made another way")
    assert not Retriever(corpus, settings).cache_hit


def test_corrupt_cache_is_rebuilt_with_a_warning(settings: RetrievalConfig, caplog: pytest.LogCaptureFixture) -> None:
    first = Retriever(SMALL, settings)
    [path] = settings.cache_dir.glob("index-*/words_body_data.npy")
    path.write_bytes(b"not a cache" * 10)
    [weights] = settings.cache_dir.glob("weights-*")
    shutil.rmtree(weights)
    with caplog.at_level(logging.WARNING):
        again = Retriever(SMALL, settings)
    assert not again.cache_hit
    assert [r.message for r in caplog.records if "unusable" in r.message and "rebuilding" in r.message]
    assert len(caplog.records) == 1
    assert ids(again.search("股票交易")) == ids(first.search("股票交易")) == ["t#0"]
    assert Retriever(SMALL, settings).cache_hit  # the rebuilt index was written back


@pytest.mark.parametrize("damage", ["truncate", "manifest", "shape"])
def test_damaged_weights_are_rebuilt_with_one_warning(settings: RetrievalConfig, caplog: pytest.LogCaptureFixture,
                                                      damage: str) -> None:
    first = Retriever(SMALL, settings)
    [weights] = settings.cache_dir.glob("weights-*")
    if damage == "truncate":
        data = weights / "words.data.npy"
        data.write_bytes(data.read_bytes()[:-4])
    elif damage == "manifest":
        (weights / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        np.save(weights / "bigrams.indices.npy", np.zeros(3, dtype=np.int32))
    with caplog.at_level(logging.WARNING):
        again = Retriever(SMALL, settings)
    assert len(caplog.records) == 1 and "unusable" in caplog.records[0].message
    assert ids(again.search("股票交易")) == ids(first.search("股票交易")) == ["t#0"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Retriever(SMALL, settings)
    assert not caplog.records  # the weights were written back whole


def test_unwritable_cache_folder_still_answers(settings: RetrievalConfig, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    unwritable = dataclasses.replace(settings, cache_dir=blocker / "cache")  # a folder under a file
    with caplog.at_level(logging.WARNING):
        retriever = Retriever(SMALL, unwritable)
    assert "cannot write index cache" in caplog.text
    assert ids(retriever.search("股票交易")) == ["t#0"]


def test_cache_file_name_depends_on_the_key(settings: RetrievalConfig) -> None:
    assert cache_path(Path("/c"), "a" * 64) != cache_path(Path("/c"), "b" * 64)


def test_runs_gathered_from_a_cached_array_are_its_slices_in_the_order_asked(tmp_path: Path) -> None:
    """cache.gather over a FileArray (runs overlapping, adjacent, far apart, empty, out of order)
    gives what slicing the array gives."""
    from bot.retrieval import cache

    data = np.arange(50_000, dtype=np.int32) * 7
    np.save(tmp_path / "a.npy", data)
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    array = cache.FileArray(tmp_path / "a.npy", mapped.offset, mapped.dtype, len(mapped))
    rng = np.random.default_rng(5)
    for _ in range(20):
        starts = rng.integers(0, 50_000, rng.integers(1, 60))
        stops = np.minimum(starts + rng.integers(0, 3_000, len(starts)), 50_000)
        want = np.concatenate([data[a:b] for a, b in zip(starts, stops)])
        assert cache.gather(array, starts, stops).tolist() == want.tolist()
        assert cache.gather(data, starts, stops).tolist() == want.tolist()
    assert len(cache.gather(array, np.zeros(0), np.zeros(0))) == 0


# --- token spans kept with the index ----------------------------------------------------------

def cut(retriever: Retriever, row: int) -> tuple:
    """What the analyzer's cut gives a passage: its terms, spans and whether whole."""
    return tuple((t.text, t.start, t.end, t.whole) for t in retriever.analyzer.tokens(retriever.passages[row].text))


def test_kept_spans_are_the_analyzers_cut_of_every_bundled_passage(retriever: Retriever) -> None:
    assert retriever._token_spans is not None
    for row in range(len(retriever.passages)):
        assert retriever._passage_tokens(row) == cut(retriever, row)


@pytest.mark.parametrize("cached", [False, True])
def test_spans_round_trip_through_the_cache(settings: RetrievalConfig, cached: bool) -> None:
    settings = settings if cached else dataclasses.replace(settings, cache_dir=None)
    built = Retriever(SMALL, settings)
    again = Retriever(SMALL, settings)
    assert again.cache_hit == cached
    assert bool(list(settings.cache_dir.glob("spans-*/manifest.json"))) if cached else True
    for retriever in (built, again):
        assert retriever._token_spans is not None
        assert [retriever._passage_tokens(r) for r in range(3)] == [cut(retriever, r) for r in range(3)]
        assert all(isinstance(whole, bool) for tokens in map(retriever._passage_tokens, range(3))
                   for _, _, _, whole in tokens)


def test_spans_of_a_parallel_build_are_each_chunks_in_passage_order(settings: RetrievalConfig,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.retrieval import index
    monkeypatch.setattr(index, "PARALLEL_FROM", 1)
    monkeypatch.setattr(index, "CHUNK", 2)   # many chunks, the last one short, vocabularies joined
    corpus = tiny_corpus(*(p.text for p in SMALL.passages), "梁文锋强调出口管制。", "研究不会用于交易。")
    parallel = Retriever(corpus, dataclasses.replace(settings, cache_dir=None))
    assert [parallel._passage_tokens(r) for r in range(5)] == [cut(parallel, r) for r in range(5)]


@pytest.mark.parametrize("damage", ["removed", "truncate", "manifest", "short", "missing"])
def test_damaged_or_absent_spans_are_cut_again(settings: RetrievalConfig, caplog: pytest.LogCaptureFixture,
                                               damage: str) -> None:
    expected = ids(Retriever(SMALL, settings).search("股票交易"))   # before its files are damaged
    [spans] = settings.cache_dir.glob("spans-*")
    if damage == "removed":    # an index cached before the spans were kept
        shutil.rmtree(spans)
    elif damage == "truncate":
        data = spans / "spans.start.npy"
        data.write_bytes(data.read_bytes()[:-4])
    elif damage == "manifest":
        (spans / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "short":
        np.save(spans / "spans.end.npy", np.zeros(3, dtype=np.int32))
        manifest = json.loads((spans / "manifest.json").read_text(encoding="utf-8"))
        manifest["arrays"]["spans.end"] = ["<i4", [3]]
        (spans / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    else:
        manifest = json.loads((spans / "manifest.json").read_text(encoding="utf-8"))
        del manifest["arrays"]["spans.whole"]
        (spans / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="bot.retrieval"):
        again = Retriever(SMALL, settings)
    assert again.cache_hit   # the index itself was fine
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == (0 if damage == "removed" else 1)
    assert all("unusable" in r.message and "rebuilding" in r.message for r in warnings)
    assert [r for r in caplog.records if "token spans of 3 passages built" in r.message]
    assert [again._passage_tokens(r) for r in range(3)] == [cut(again, r) for r in range(3)]
    assert ids(again.search("股票交易")) == expected == ["t#0"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.retrieval"):
        Retriever(SMALL, settings)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or "token spans" in r.message]


def test_spans_of_another_version_are_cut_again(settings: RetrievalConfig, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    Retriever(SMALL, settings)
    monkeypatch.setattr(retriever_module, "SPANS_VERSION", "another")
    with caplog.at_level(logging.INFO, logger="bot.retrieval"):
        again = Retriever(SMALL, settings)
    assert again.cache_hit
    assert [r for r in caplog.records if "token spans of 3 passages built" in r.message]
    assert [again._passage_tokens(r) for r in range(3)] == [cut(again, r) for r in range(3)]


def test_counts_a_fitting_script_passes_keep_no_spans_and_cut_as_before(settings: RetrievalConfig) -> None:
    from bot.retrieval.index import build_counts
    from bot.text import Analyzer
    analyzer = Analyzer(settings)
    analyzer.learn_titles(SMALL.titles())
    fitted = Retriever(SMALL, settings, analyzer=analyzer, counts=build_counts(SMALL.passages, analyzer, workers=1))
    assert fitted._token_spans is None
    assert [fitted._passage_tokens(r) for r in range(3)] == [cut(fitted, r) for r in range(3)]

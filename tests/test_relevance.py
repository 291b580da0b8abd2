"""The parts of the ranking that decide and fit: relevance features, the model file, necessity,
Taiwan phrases and the English dictionary. Small cases checked by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.config import load_config
from bot.english import EnglishDictionary, _plain_forms
from bot.normalize import Normalizer
from bot.retrieval.model import ModelError, RelevanceParams, load_model
from bot.retrieval.necessity import Necessity, word_class
from bot.retrieval.relevance import FEATURES, Evidence, Relevance, Word, features
from bot.text import Analyzer


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_config(env={}).retrieval)


def word(informative: float, necessity: float = 1.0, *, name: bool = False, weak: bool = False) -> Word:
    """A question word in the library (one form) with the given weights."""
    return Word(informative=informative, necessity=necessity, rarity=0.5, forms=((0, informative),),
                form_shares=(("w", 1.0),), pairs=(), pair_count=0, pair_texts=(), specific=name,
                weak=weak, name=name)


def evidence(covered: list[list[float]]) -> Evidence:
    matrix = np.array(covered, dtype=float)
    return Evidence(covered=matrix, windows=[row[None, :] for row in matrix], head=np.zeros_like(matrix),
                    article=matrix, bigram_coverage=np.zeros(len(matrix)), scores=np.ones(len(matrix)),
                    ideal_score=2.0)


# --- features ---------------------------------------------------------------------------------

def test_a_missing_frame_word_costs_less_than_a_missing_topic_word() -> None:
    topic, frame = word(4.0, 0.9), word(4.0, 0.1)
    # One passage holds the topic word only, the other the frame word only.
    values = features([topic, frame], evidence([[1, 0], [0, 1]]))
    assert values["coverage"][0] == pytest.approx(0.9 * 4 / (0.9 * 4 + 0.1 * 4))
    assert values["coverage"][0] > 0.8 > 0.2 > values["coverage"][1]
    assert values["plain_coverage"][0] == values["plain_coverage"][1] == pytest.approx(0.5)


def test_a_lone_general_character_weighs_nothing() -> None:
    values = features([word(3.0), word(5.0, weak=True)], evidence([[1, 0]]))
    assert values["coverage"][0] == pytest.approx(1.0)


def test_what_is_asked_about_a_name_is_its_topic_coverage() -> None:
    # "李彦宏多大年纪": the passage names him but says nothing of his age.
    person, age = word(3.0, name=True), word(5.0, 0.8)
    values = features([person, age], evidence([[1, 0]]))
    assert values["topic_coverage"][0] == 0.0
    assert 0 < values["coverage"][0] < 1
    # A question of names only has nothing else to cover.
    assert features([person], evidence([[1]]))["topic_coverage"][0] == 1.0


def test_words_no_passage_holds_are_missing() -> None:
    held = word(3.0)
    unseen = Word(5.0, 1.0, 1.0, (), (), (), 0, (), False)
    values = features([held, unseen], evidence([[1, 0]]))
    assert values["missing"][0] == pytest.approx(5 / 8)
    assert values["found_words"][0] == pytest.approx(np.log1p(1))


def test_every_feature_is_computed_for_every_row() -> None:
    values = features([word(2.0), word(3.0)], evidence([[1, 1], [0, 1], [0, 0]]))
    assert set(values) == set(FEATURES)
    assert all(len(v) == 3 for v in values.values())


def test_probability_is_the_logistic_of_the_weighted_features() -> None:
    params = RelevanceParams(features=("coverage", "found_words"), weights=(2.0, -1.0), bias=-0.5,
                             threshold=0.5, page_coverage=0.3)
    p = Relevance(params).probability({"coverage": np.array([1.0, 0.0]), "found_words": np.array([0.5, 0.0])})
    assert p == pytest.approx(1 / (1 + np.exp(-np.array([2.0 - 0.5 - 0.5, -0.5]))))


def test_the_few_candidates_sums_are_alike_compiled_and_in_python() -> None:
    """Relevance.probability's sums over lists: the compiled loop (_scatter.linear_sums) adds what
    _linear_sums adds, byte for byte, on random weights and features of every magnitude; and the
    probabilities of lists and of numpy's arrays are the same floats either way."""
    from bot.retrieval.relevance import _linear_sums
    from bot.retrieval.topk import compiled_loops

    rng = np.random.default_rng(5)
    params = RelevanceParams(features=FEATURES, weights=tuple(rng.normal(0, 3, len(FEATURES)).tolist()), bias=-1.7,
                             threshold=0.5, page_coverage=0.3)
    relevance = Relevance(params)
    loops = compiled_loops()
    for rows in (0, 1, 5, 16):
        columns = [(rng.random(rows) * rng.choice([1e-9, 1.0, 1e6], rows)).tolist() for _ in FEATURES]
        expected = _linear_sums(params.bias, list(params.weights), columns)
        if loops is not None:
            assert np.array(loops.linear_sums(params.bias, list(params.weights), columns)).tobytes() == \
                np.array(expected).tobytes()
        values = dict(zip(FEATURES, columns))
        compiled = relevance.probability(values)
        relevance._sums = None
        assert relevance.probability(values).tobytes() == compiled.tobytes()
        relevance._sums = loops.linear_sums if loops is not None else None
    if loops is not None:
        with pytest.raises(ValueError):
            loops.linear_sums(0.0, [1.0, 2.0], [[1.0], [1.0, 2.0]])


def test_the_walk_over_each_rows_words_is_alike_compiled_and_in_python() -> None:
    """feature_lists' walk (the rarest lacking and found, necessary ones found, a specific one
    found): _scatter.found_facts gives _found_facts' values, on random shares at and around 0.5."""
    from bot.retrieval.relevance import _found_facts
    from bot.retrieval.topk import compiled_loops

    loops = compiled_loops()
    if loops is None:
        pytest.skip("bot/retrieval/_scatter.c is not built here")
    rng = np.random.default_rng(6)
    for _ in range(500):
        rows, width = int(rng.integers(0, 7)), int(rng.integers(1, 9))
        covered = rng.choice([0.0, 0.25, 0.4999, 0.5, 0.9, 1.0], (rows, width))
        rare, rarity = rng.random(width).tolist(), rng.choice([0.0, 0.3, 0.3, 1.0], width).tolist()
        necessary, specific = (rng.random(width) < 0.5).tolist(), (rng.random(width) < 0.3).tolist()
        expected = _found_facts(covered, rare, rarity, necessary, specific)
        assert loops.found_facts(covered, rare, rarity, necessary, specific) == expected
    with pytest.raises(ValueError):
        loops.found_facts(np.zeros((2, 3)), [0.0] * 4, [0.0] * 4, [True] * 4, [False] * 4)


def test_an_unknown_feature_is_refused() -> None:
    params = RelevanceParams(("colour",), (1.0,), 0.0, 0.5, 0.3)
    with pytest.raises(ValueError, match="colour"):
        Relevance(params)


# --- the model file ---------------------------------------------------------------------------

@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    bundled = load_config(env={}).retrieval.model_file
    copy = tmp_path / "ranking.yaml"
    copy.write_text(bundled.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def _edit(path: Path, change) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def test_the_bundled_model_loads_with_every_feature(model_file: Path) -> None:
    model = load_model(model_file)
    assert set(model.relevance.features) <= set(FEATURES)
    assert 0 < model.relevance.threshold < 1 and 0 <= model.relevance.page_coverage < 1
    assert model.necessity.words and model.necessity.classes


@pytest.mark.parametrize("change, key", [
    (lambda raw: raw["ranking"].update(bigram_wieght=1), "ranking.bigram_wieght"),
    (lambda raw: raw["ranking"]["words"].update(k1="high"), "ranking.words.k1"),
    (lambda raw: raw["relevance"].update(weights=[1.0]), "relevance.weights"),
    (lambda raw: raw["relevance"].update(threshold=2), "relevance.threshold"),
    (lambda raw: raw["necessity"]["words"].update({"原因": [1, 5]}), "necessity.words.原因"),
    (lambda raw: raw["snippets"].update(head_share=1.5), "snippets.head_share"),
    (lambda raw: raw["snippets"].update(head_shares=0.5), "snippets.head_shares"),
])
def test_a_broken_model_file_names_the_file_and_the_key(model_file: Path, change, key: str) -> None:
    _edit(model_file, change)
    with pytest.raises(ModelError) as caught:
        load_model(model_file)
    assert str(model_file) in str(caught.value) and key in str(caught.value)


# --- necessity --------------------------------------------------------------------------------

@pytest.mark.parametrize("token, expected", [
    ("啥", "function"), ("为啥", "function"), ("2018", "number"), ("三", "number"),
    ("openai", "latin"), ("梁文锋", "name"), ("乍都节", "unknown"), ("死", "char"),
    ("面积", "frequent"), ("年纪", "common"),
    # jieba's dictionary tags these as adverbs: a class fitted on its own, not grammar words.
    ("已经", "adverb"), ("反对", "adverb"), ("首都", "adverb"),
    # A verb with a colloquial question pronoun asks, whatever jieba tags it (干嘛 n, 干吗 v).
    ("干嘛", "function"), ("干吗", "function"), ("为嘛", "function"), ("干部", "common"),
])
def test_word_classes_come_from_what_is_known_without_a_library(analyzer: Analyzer, token: str,
                                                                 expected: str) -> None:
    assert word_class(token, analyzer) == expected


def test_necessity_learns_frame_words_and_falls_back_to_the_class(analyzer: Analyzer) -> None:
    model = load_model(load_config(env={}).retrieval.model_file)
    necessity = Necessity(model.necessity, analyzer)
    # Learned from questions and their answers: 何时 frames a question, 面积 is what it asks.
    assert model.necessity.words["何时"][1] == 0
    assert necessity("何时") < 0.3 < 0.6 < necessity("面积")
    # Never seen in training: the class decides. A pronoun frames, a name is asked for.
    assert necessity("咋") == pytest.approx(model.necessity.classes["function"])
    assert necessity("咋") < necessity("从未见过的名字")


def test_latin_words_side_by_side_in_a_chinese_question_are_one_word(analyzer: Analyzer) -> None:
    # Sam Altman is one name: one group, so it weighs as one word of the question.
    def groups(question: str) -> dict[str, int]:
        return {t.token: t.group for t in analyzer.query_terms(question) if t.kind == "word"}
    names = groups("Sam Altman 结婚了吗")
    assert names["sam"] == names["altman"] and names["结婚"] != names["sam"]
    # Chinese between them keeps two names; an English question's words stay words.
    apart = groups("DeepSeek 和 OpenAI 的关系")
    assert apart["deepseek"] != apart["openai"]
    english = groups("does Sam Altman like open source")
    assert english["sam"] != english["altman"]


# --- Taiwan phrases and the English dictionary ----------------------------------------------

def test_taiwan_phrases_map_with_their_offsets(analyzer: Analyzer) -> None:
    text = "這台電腦的記憶體和晶片"
    tokens = {t.text: text[t.start:t.end] for t in analyzer.tokens(text)}
    assert tokens["内存"] == "記憶體" and tokens["芯片"] == "晶片"
    # A word mainland Chinese uses in a sense of its own is never rewritten.
    assert "程序" in analyzer.tokenize("这个程序很好") and "执行" in analyzer.tokenize("执行命令")


def test_a_normalizer_without_phrases_is_plain_t2s() -> None:
    normalizer = Normalizer({})
    assert normalizer.normalize("開源軟體") in ("开源软件", "开源软体")


def test_english_plain_forms_and_phrases(tmp_path: Path) -> None:
    assert "risk" in _plain_forms("risks") and "company" in _plain_forms("companies")
    assert "stock market" in _plain_forms("stock markets")
    table = tmp_path / "english.tsv"
    table.write_text("# test\nrisk\tn\t风险 危险\nstock market\tn\t股市\nstock\tn\t股票\n", encoding="utf-8")
    dictionary = EnglishDictionary(table)
    assert dictionary.translate(["stock", "markets", "risks"]) == [(0, 2, ("股市",)), (2, 3, ("风险", "危险"))]
    assert EnglishDictionary(tmp_path / "missing.tsv").lookup("risk") == ()
    # A form of its own (worried) keeps its base form's senses too (worry: 担忧).
    table.write_text("worried\tn\t担心 不安\nworry\tv\t担心 担忧\n", encoding="utf-8")
    assert EnglishDictionary(table).lookup("worried") == ("担心", "不安", "担忧")


def test_an_english_function_word_is_dropped_through_its_first_sense(analyzer: Analyzer) -> None:
    # "might" is first 可能, a Chinese stop word: it says nothing about the topic.
    tokens = {t.token for t in analyzer.query_terms("Why might regulators hesitate?") if t.kind == "word"}
    assert "might" not in tokens and "hesitate" in tokens


def test_dataclass_fields_of_word_match_the_features_inputs() -> None:
    # The relevance features read only what a Word carries: a guard against drift.
    assert {f.name for f in dataclasses.fields(Word)} >= {"informative", "necessity", "rarity", "forms", "name"}


def test_a_title_holds_a_name_jieba_cut_otherwise_through_its_character_pairs(tmp_path: Path) -> None:
    """The question's jieba glues 史继偕 to the next character; the title's cuts it in two: the
    name's character pairs still find it in the head, as they do in the body. (A title that is
    the name alone would teach it: this one is a headline.)"""
    from bot.corpus import load_corpus
    from bot.retrieval import Retriever
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("# 史继偕，明朝的榜眼\n\n崇祯二年与泉州知府蔡善继建溜石铳台，卒谥文简。\n\n著有《云台藏稿》十六卷。\n",
                                 encoding="utf-8")
    (seeds / "b.txt").write_text("# 黄蝉\n\n黄蝉是夹竹桃科的植物，花为黄色。\n", encoding="utf-8")
    config = load_config(env={"HOME": str(tmp_path)}).with_overrides(
        corpus={"seeds_dir": seeds}, retrieval={"cache_dir": tmp_path / "cache"})
    retriever = Retriever(load_corpus(config.corpus), config.retrieval)
    query = retriever.prepare("史继偕著有哪些书？")
    assert "史继偕" not in {t.token for t in query.terms}, "the case needs a name jieba cuts otherwise"
    rows = np.arange(len(retriever.passages))
    head = retriever.features(query, rows, retriever.scores(query))["head_coverage"]
    titled = [p.source_title.startswith("史继偕") for p in retriever.passages]
    assert all(h > 0 for h, t in zip(head, titled) if t) and all(h == 0 for h, t in zip(head, titled) if not t)


def test_a_question_asking_a_number_is_not_answered_by_a_passage_without_one() -> None:
    # 李彦宏多大年纪: the only passages naming him hold no numeral, so none can be the answer.
    from bot.corpus import Corpus, Passage
    from bot.retrieval import Retriever, holds_asked_number
    from bot.retrieval.retriever import _ASKS_NUMBER, _NUMERAL
    assert all(_NUMERAL.search(t) for t in ("成立于 2015 年", "二十三岁", "两个校区", "第二位皇后", "一半以上", "每天六小时"))
    assert not any(_NUMERAL.search(t) for t in ("一种智商税", "一样的看法", "统一", "一个人", "H20 芯片", "Yi-34B", "GPT-5", "01.AI",
                                             "Claude 3 Opus", "Windows 10 Pro"))
    # A number between two Latin words is a name's only when a capital word follows it.
    assert all(_NUMERAL.search(t) for t in ("GPT 4 发布了", "founded in 2019 by", "DeepSeek 3 个月后"))
    # Passages are read as written: a Traditional article's numerals and full-width digits count.
    assert all(_NUMERAL.search(t) for t in ("顏色有白色與黑色兩種", "人口約一萬", "２０２３年"))
    assert not _NUMERAL.search("一種智商稅")
    assert all(_ASKS_NUMBER.search(q) for q in ("他多大年纪", "有几个孩子", "股价多少", "什么时候发布", "How old is he?"))
    assert not any(_ASKS_NUMBER.search(q) for q in ("有哪几家公司", "他为什么这么说"))
    config = load_config(None)
    passages = (Passage("a#0", "a", "访谈", "", 0, "张大山是这家公司的创始人,他认为开源是一种智商税。"),
                Passage("a#1", "a", "访谈", "", 1, "这家公司成立于 2015 年,如今有 300 名员工。"),
                Passage("a#2", "a", "访谈", "", 2, "张大山生于浙江,是家中长子。"))
    retriever = Retriever(Corpus(sources=(), passages=passages), dataclasses.replace(config.retrieval, cache_dir=None))
    rows = np.arange(3)
    # An age is said in years of age or by a birth: the year the company was founded is none.
    for question, expected in (("张大山多大年纪", [1.0, 1.0, 0.0]), ("这家公司有多少员工", [1.0, 0.0, 1.0]),
                               ("张大山怎么看开源", [0.0, 0.0, 0.0])):
        query = retriever.prepare(question)
        assert list(retriever.features(query, rows, retriever.scores(query))["number_missing"]) == expected
    # A follow-up is held to the same kinds.
    texts = [p.text for p in passages]
    assert [holds_asked_number("张大山多大年纪", t) for t in texts] == [False, False, True]
    assert [holds_asked_number("这家公司有多少员工", t) for t in texts] == [False, True, False]
    assert all(holds_asked_number("张大山怎么看开源", t) for t in texts)
    assert holds_asked_number("张大山多大年纪", "張大山今年四十歲。")
    # A price is a sum of money: a machine "sold in two versions" (两种) says nothing of what it costs.
    priced = (Passage("b#0", "b", "发布", "", 0, "这家公司发布了一体机,提供两种版本。"),
              Passage("b#1", "b", "发布", "", 1, "这家公司的一体机售价 20 万元。"))
    retriever = Retriever(Corpus(sources=(), passages=priced), dataclasses.replace(config.retrieval, cache_dir=None))
    query = retriever.prepare("一体机卖多少钱")
    assert query.asks_money
    assert list(retriever.features(query, np.arange(2), retriever.scores(query))["number_missing"]) == [1.0, 0.0]
    assert [holds_asked_number("一体机卖多少钱", p.text) for p in priced] == [False, True]
    assert holds_asked_number("一体机有几种版本", priced[0].text)

"""The analyzer: normalization, segmentation with the user dictionary, aliases and expansion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import RetrievalConfig, load_config
from bot.text import Analyzer, AnalyzerError


@pytest.fixture(scope="module")
def retrieval_config(tmp_path_factory: pytest.TempPathFactory) -> RetrievalConfig:
    """The bundled retrieval settings (user dictionary, stop words, aliases)."""
    home = tmp_path_factory.mktemp("home")
    return load_config(env={"HOME": str(home)}).retrieval


@pytest.fixture(scope="module")
def analyzer(retrieval_config: RetrievalConfig) -> Analyzer:
    """One analyzer for the module: building jieba's dictionary takes a good half second."""
    return Analyzer(retrieval_config)


def test_normalize_folds_full_width_case_and_traditional(analyzer: Analyzer) -> None:
    assert analyzer.normalize("ＤｅｅｐＳｅｅｋ－Ｖ３，１２３") == "deepseek-v3,123"
    assert analyzer.normalize("開源模型真的打不過閉源模型嗎？") == "开源模型真的打不过闭源模型吗?"
    assert analyzer.normalize("OpenAI") == "openai"


def test_traditional_and_simplified_questions_give_the_same_terms(analyzer: Analyzer) -> None:
    assert analyzer.tokenize("梁文鋒說 DeepSeek 的目標是什麼？") == analyzer.tokenize("梁文锋说 DeepSeek 的目标是什么?")


def test_the_particle_written_the_taiwan_way_meets_the_mainland_one(analyzer: Analyzer) -> None:
    # Taiwan writes the particle 着 as 著, which is Simplified too (著名): t2s leaves it, and 随著
    # or 意味著 never met 随着 and 意味着, while 面临著 kept a stray 著 as a word of the question.
    assert analyzer.normalize("隨著開源，這意味著什麼？") == "随着开源,这意味着什么?"
    assert analyzer.tokenize("DeepSeek 面臨著哪些攻擊？") == analyzer.tokenize("DeepSeek 面临着哪些攻击？")
    assert analyzer.normalize("著手") == "着手"
    # Read zhù, it stays: the dictionary knows these words with 著, not with 着.
    for word in ("著名", "顯著", "著作", "名著", "土著", "臭名昭著"):
        assert "著" in analyzer.normalize(word)


def test_variant_forms_t2s_keeps_become_the_mainland_ones(analyzer: Analyzer) -> None:
    # 甚麼 is 什么 (so 甚麼時候 asks a date, as 什么时候 does); 妳 and 牠 are 你 and 它.
    assert analyzer.normalize("妳覺得牠甚麼時候會來？") == "你觉得它什么时候会来?"
    assert analyzer.normalize("甚至") == "甚至"


@pytest.mark.parametrize("question, searched", [
    ("文章里怎么说开源的好处", "怎么说开源的好处"), ("文中提及，廩君蠻原本在哪裡？", "提及,廪君蛮原本在哪里?"),
    ("这几篇文章中谁支持开源", "谁支持开源"), ("文章提到了哪些公司", "提到了哪些公司"),
    ("有没有文章讲 OpenAI", "有没有 讲 openai"),
    # An article someone wrote is a topic.
    ("Dario 的文章被谁驳斥了", "dario 的文章被谁驳斥了"), ("Eric Schmidt 那篇文章叫什么名字", "eric schmidt 那篇文章叫什么名字"),
])
def test_a_reference_to_the_library_is_no_word_of_the_question(analyzer: Analyzer, question: str, searched: str) -> None:
    assert analyzer.normalize_question(question) == searched


@pytest.mark.parametrize("question, searched", [
    ("帮我查一下 Sarah Guo 的观点", "sarah guo 的观点"), ("请问梁文锋对开源是什么态度", "梁文锋对开源是什么态度"),
    ("能不能告诉我 DeepSeek 的训练成本", "deepseek 的训练成本"), ("麻烦问下蒸馏是什么意思", "蒸馏是什么意思"),
    ("请教一下，出口管制能挡住中国的 AI 吗？多谢", "出口管制能挡住中国的 ai 吗?"),
    # Only how it is put: inside the question, or alone, the words stay.
    ("美国查了 DeepSeek 吗", "美国查了 deepseek 吗"), ("查一下", "查一下"), ("谢谢", "谢谢"),
])
def test_how_a_question_is_put_to_the_bot_is_no_word_of_it(analyzer: Analyzer, question: str, searched: str) -> None:
    assert analyzer.normalize_question(question) == searched


def test_user_dictionary_terms_stay_whole(analyzer: Analyzer) -> None:
    tokens = analyzer.tokenize("幻方量化强调出口管制挡不住星际之门，梁文锋谈开源情怀")
    for term in ("幻方量化", "出口管制", "星际之门", "梁文锋", "开源情怀"):
        assert term in tokens


def test_latin_names_with_hyphens_are_kept_whole_and_split(analyzer: Analyzer) -> None:
    tokens = analyzer.tokenize("DeepSeek-V3 和 DeepSeek-R1 发布")
    assert "deepseek-v3" in tokens and "deepseek-r1" in tokens
    # The parts too, so "DeepSeek V3" written with a space still meets the hyphenated name.
    assert {"deepseek", "v3", "r1"} <= set(tokens)
    assert analyzer.tokenize("01.AI 的 Yi-34B")[:2] == ["01.ai", "01"]


def test_stop_words_and_punctuation_are_dropped(analyzer: Analyzer) -> None:
    tokens = analyzer.tokenize("什么是“开源”的意义？！……")
    assert "什么" not in tokens and "的" not in tokens and "是" not in tokens
    assert all(any(ch.isalnum() for ch in t) for t in tokens)
    assert "开源" in tokens
    assert analyzer.tokenize("的了吗？") == []


def test_spellings_of_one_name_index_as_one(analyzer: Analyzer) -> None:
    for spelling in ("梁文锋", "梁文峰", "梁云峰"):
        assert "梁文锋" in analyzer.tokenize(f"{spelling}表示")
    assert "deepseek" in analyzer.tokenize("深度求索公司")
    assert "deepseek" in analyzer.tokenize("DeepSe 的崛起")


def test_expand_adds_synonyms_at_lower_weight(analyzer: Analyzer) -> None:
    weights = dict(analyzer.expand(["限制", "美国"]))
    assert weights["限制"] == 1.0 and weights["美国"] == 1.0
    assert 0 < weights["管制"] < 1 and 0 < weights["封锁"] < 1
    assert 0 < weights["美方"] < 1


def test_question_phrase_finds_its_synonyms(analyzer: Analyzer) -> None:
    terms = {t.token: t for t in analyzer.query_terms("DeepSeek 花了多少钱？")}
    assert "成本" in terms and terms["成本"].weight < 1
    assert terms["成本"].kind == "synonym"


def test_english_question_gets_chinese_terms(analyzer: Analyzer) -> None:
    terms = {t.token: t for t in analyzer.query_terms("Why do export controls fail against open-source models?")}
    assert terms["出口管制"].weight == 1.0 and terms["出口管制"].kind == "translation"
    assert "开源" in terms and "模型" in terms
    # The English word and its translation stand for one word of the question.
    assert terms["出口管制"].group == terms["export"].group


def test_the_us_of_an_english_question_is_the_country(analyzer: Analyzer) -> None:
    # Lower case would make it the pronoun "us", which the dictionary reads as 我们 (a stop word).
    assert "美国" in {t.token for t in analyzer.query_terms(analyzer.normalize_question("What did the U.S. ban?"))}
    assert analyzer.normalize_question("Why is the US worried?") == "why is the usa worried?"
    assert analyzer.normalize_question("Tell us about USB chips") == "tell us about usb chips"


def test_token_spans_point_into_the_original_text(analyzer: Analyzer) -> None:
    text = "“这与金融无关……”梁文峰说，ＤｅｅｐＳｅｅｋ－Ｖ３很强"
    for token in analyzer.tokens(text):
        surface = text[token.start:token.end]
        assert analyzer.normalize(surface) in (token.text, "梁文峰", "deepseek-v3")
    spans = {text[t.start:t.end] for t in analyzer.tokens(text)}
    assert "梁文峰" in spans and "ＤｅｅｐＳｅｅｋ－Ｖ３" in spans


def test_building_an_analyzer_prints_nothing(retrieval_config: RetrievalConfig, capfd: pytest.CaptureFixture[str]) -> None:
    Analyzer(retrieval_config)
    out, err = capfd.readouterr()
    assert out == ""
    assert "prefix dict" not in err


def test_fingerprint_changes_with_the_user_dictionary(retrieval_config: RetrievalConfig, tmp_path: Path) -> None:
    userdict = tmp_path / "userdict.txt"
    userdict.write_text(retrieval_config.userdict_file.read_text(encoding="utf-8") + "\n蓝色鲸鱼 10 n\n",
                        encoding="utf-8")
    changed = Analyzer(_with(retrieval_config, userdict_file=userdict))
    assert changed.fingerprint != Analyzer(retrieval_config).fingerprint
    assert "蓝色鲸鱼" in changed.tokenize("一条蓝色鲸鱼横空出世")


def test_malformed_aliases_file_is_a_clear_error(retrieval_config: RetrievalConfig, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("spelings:\n  - [a, b]\n", encoding="utf-8")
    with pytest.raises(AnalyzerError, match="unknown key 'spelings'"):
        Analyzer(_with(retrieval_config, aliases_file=aliases))
    aliases.write_text("synonym_weight: 3\n", encoding="utf-8")
    with pytest.raises(AnalyzerError, match="synonym_weight"):
        Analyzer(_with(retrieval_config, aliases_file=aliases))


def _with(config: RetrievalConfig, **changes: object) -> RetrievalConfig:
    """A copy of the retrieval config with some files replaced."""
    return dataclasses.replace(config, **changes)


def test_jieba_prefix_dictionary_is_cached_exactly_and_a_damaged_cache_rewritten(
        retrieval_config: RetrievalConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The cached prefix dictionary is the very dict jieba builds, so segmentation stays the same."""
    import logging

    import jieba

    from bot import prefixdict

    reference = jieba.Tokenizer()
    reference.FREQ, reference.total = reference.gen_pfdict(reference.get_dict_file())
    reference.initialized = True
    cache = tmp_path / "cache"
    for _ in range(2):  # written, then read
        tokenizer = jieba.Tokenizer()
        prefixdict.initialize(tokenizer, cache)
        assert tokenizer.initialized and tokenizer.total == reference.total
        assert tokenizer.FREQ == reference.FREQ and list(tokenizer.FREQ) == list(reference.FREQ)
    [path] = cache.glob("jieba-*.marshal")
    text = "梁文锋说DeepSeek的目标是推动技术前沿，出口管制挡不住开源模型的崛起。"
    assert list(tokenizer.tokenize(text)) == list(reference.tokenize(text))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        damaged = jieba.Tokenizer()
        prefixdict.initialize(damaged, cache)
    assert len(caplog.records) == 1 and "unusable" in caplog.records[0].message
    assert damaged.FREQ == reference.FREQ
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        prefixdict.initialize(jieba.Tokenizer(), cache)
    assert not caplog.records  # rewritten whole

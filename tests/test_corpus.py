"""Corpus loading: debris removal, titles, sections and passage splitting, on fixtures and the real seeds."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from bot.config import CorpusConfig, load_config
from bot.corpus import CorpusError, load_corpus, sentence_spans

FIXTURES = Path(__file__).parent / "fixtures" / "corpus"


def fixture_config(**changes) -> CorpusConfig:
    values = {"seeds_dir": FIXTURES / "seeds", "sources_file": FIXTURES / "sources.yaml",
              "max_passage_chars": 120, "min_passage_chars": 12}
    values.update(changes)
    return CorpusConfig(**values)


def sentences(text: str) -> list[str]:
    """Sentences split independently of the code under test: after 。！？!? and any closing quote."""
    pieces = re.split(r"(?<=[。！？!?])(?![”」』])|(?<=[。！？!?][”」』])", text)
    return [p.strip() for p in pieces if p.strip()]


# ---------------------------------------------------------------------------------------------
# Fixtures: two tiny hand-made articles.

@pytest.fixture(scope="module")
def fixture_corpus():
    return load_corpus(fixture_config())


def test_fixture_titles_dates_and_urls(fixture_corpus):
    blog, notes = fixture_corpus.sources
    assert (blog.id, blog.title, blog.date, blog.url) == ("a_blog", "小镇咖啡馆的十年", "2024-03-05", None)
    assert (notes.id, notes.title, notes.date) == ("b_notes", "冬天的咖啡馆", "2020-01-01")
    assert notes.url == "https://example.org/cafe-winter"
    assert notes.origin == "小镇日报"
    assert all(p.source_title == s.title for s in fixture_corpus.sources for p in s.passages)


@pytest.mark.parametrize("debris", [
    "📅", "分钟阅读", "#咖啡", "#生活", "目录", "文章信息", "字数", "阅读时间", "标签", "分享这篇文章",
    "相关文章推荐", "另一家咖啡馆的故事", "本文介绍了另一家", "公众号", "回复", "还没有评论", "来说两句",
    "原链接", "example.org",
])
def test_fixture_debris_is_gone(fixture_corpus, debris):
    assert not [p.id for p in fixture_corpus.passages if debris in p.text]
    assert all(debris not in s.text for s in fixture_corpus.sources)


def test_the_same_debris_in_traditional_script_is_gone(tmp_path):
    # The debris patterns are written in Simplified Chinese (相关文章推荐, 分享这篇文章, 公众号); a
    # page in Traditional script (相關文章推薦, 分享這篇文章, 公眾號) is read through them alike.
    import opencc
    to_traditional = opencc.OpenCC("s2t")
    for seed in (FIXTURES / "seeds").iterdir():
        (tmp_path / seed.name).write_text(to_traditional.convert(seed.read_text(encoding="utf-8")), encoding="utf-8")
    corpus = load_corpus(fixture_config(seeds_dir=tmp_path))
    everything = "\n".join(p.text for p in corpus.passages)
    for debris in ("分鐘閱讀", "目錄", "文章信息", "字數", "閱讀時間", "標籤", "分享這篇文章", "相關文章推薦",
                   "公眾號", "還沒有評論", "來說兩句", "原鏈接", "example.org"):
        assert debris not in everything, debris
    assert corpus.sources[1].url == "https://example.org/cafe-winter"
    assert len(corpus.passages) == len(load_corpus(fixture_config()).passages)


def test_fixture_sections_and_markup(fixture_corpus):
    blog, notes = fixture_corpus.sources
    by_text = {p.text: p for p in fixture_corpus.passages}
    assert by_text["这是一篇关于小镇咖啡馆的回忆，写给每一位来过的客人。"].section == ""  # "> " stripped
    assert by_text["第一年只卖三种咖啡豆，每天只营业六个小时。"].section == "开店"      # bullet kept as content
    assert [p.section for p in notes.passages][0] == ""
    assert {p.section for p in notes.passages[1:]} == {"冬天的生意"}  # "01" then the heading line
    for heading in ("小镇咖啡馆的十年", "开店", "经营", "冬天的生意", "01"):
        assert heading not in by_text
    caption = next(p for p in notes.passages if "图片来源" in p.text)  # a short caption is content
    assert caption.text.endswith("热闹的门口 | 图片来源:小镇日报")


def test_fixture_every_content_sentence_is_kept_once(fixture_corpus):
    expected = [
        "这是一篇关于小镇咖啡馆的回忆，写给每一位来过的客人。", "店主张三在十年前开了这家咖啡馆。",
        "第二年开始烘焙自己的咖啡豆，生意慢慢好了起来。", "生意好吗？",
        "张三表示：“做咖啡和做人一样，要有耐心，也要有温度。”", "“一杯好咖啡能让人慢下来。”",
        "冬天最受欢迎的是热巧克力，夏天则是冰滴咖啡。", "镇上的人给这家店起了个外号叫「雪屋」。",
        "「开源让每个人都能站在巨人的肩膀上继续前进。」Anna Berg 称。",
    ]
    for sentence in expected:
        holders = [p.id for p in fixture_corpus.passages if sentence in p.text]
        assert len(holders) == 1, sentence


def test_fixture_long_paragraph_split_at_sentence_ends(fixture_corpus):
    blog = fixture_corpus.sources[0]
    pieces = [p for p in blog.passages if p.section == "经营"]
    long_paragraph = next(line for line in (FIXTURES / "seeds" / "a_blog.md").read_text().splitlines()
                          if line.startswith("咖啡馆每天早上"))
    parts = [p.text for p in pieces if p.text in long_paragraph]
    assert len(parts) >= 2 and "".join(parts) == long_paragraph
    assert all(len(t) <= 120 and t.endswith("。") for t in parts)


def test_fixture_short_fragment_joins_its_neighbour(fixture_corpus):
    question = next(p for p in fixture_corpus.passages if "生意好吗？" in p.text)
    # a question leads into what follows, so it joins the next paragraph, across the newline
    assert question.text.startswith("生意好吗？\n张三表示")
    # a short statement ends a thought, so it joins the paragraph before it
    assert fixture_corpus.sources[0].passages[-1].text == "“一杯好咖啡能让人慢下来。”\n大家都笑了。"
    assert all(len(p.text) >= 12 for p in fixture_corpus.passages)


def test_passage_text_is_exactly_in_the_cleaned_article(fixture_corpus):
    for source in fixture_corpus.sources:
        for n, p in enumerate(source.passages):
            assert p.text in source.text and p.text == p.text.strip()
            assert (p.id, p.position, p.source_id) == (f"{source.id}#{n}", n, source.id)


def test_splitting_bounds_on_a_long_paragraph(tmp_path):
    sentence_list = [f"第{i}句话讲的是一件不长也不短的小事情{'，还有一点补充' * (i % 3)}。" for i in range(30)]
    sentence_list.append("完。")  # a stray fragment at the end must not stand alone
    paragraph = "".join(sentence_list)
    (tmp_path / "long.txt").write_text(paragraph + "\n", encoding="utf-8")
    corpus = load_corpus(fixture_config(seeds_dir=tmp_path, max_passage_chars=100, min_passage_chars=20))
    texts = [p.text for p in corpus.passages]
    assert "".join(texts) == paragraph
    assert all(20 <= len(t) <= 100 for t in texts), [len(t) for t in texts]
    assert all(t.endswith("。") for t in texts)
    assert max(len(t) for t in texts) - min(len(t) for t in texts) < 60  # balanced, not greedy


def test_sentence_longer_than_max_is_cut_at_commas(tmp_path):
    sentence = "，".join(f"这是第{i}个很长的分句" for i in range(20)) + "。"
    (tmp_path / "one.txt").write_text(sentence, encoding="utf-8")
    texts = [p.text for p in load_corpus(fixture_config(seeds_dir=tmp_path, max_passage_chars=60)).passages]
    assert "".join(texts) == sentence and all(len(t) <= 60 for t in texts)


def test_sentence_spans_keep_closing_quotes_and_inner_questions():
    text = "他问“你来吗？”，她说“来。”然后走了！好"
    assert [text[s:e] for s, e in sentence_spans(text)] == ["他问“你来吗？”，她说“来。”", "然后走了！", "好"]


def test_a_latin_initial_does_not_end_a_sentence():
    text = "这个计划由Andrew W. Mellon Foundation主持。资料来自 J. R. R. Tolkien. 之后另起一句。"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "这个计划由Andrew W. Mellon Foundation主持。", "资料来自 J. R. R. Tolkien.", "之后另起一句。"]


def test_title_falls_back_to_heading_then_first_line_then_file_name(tmp_path):
    (tmp_path / "x1.md").write_text("# 新文章的标题\n\n正文的第一段，讲了一件事情。\n", encoding="utf-8")
    (tmp_path / "x2.txt").write_text("一个短标题\n正文的第一段，讲了另一件事情。\n", encoding="utf-8")
    (tmp_path / "x3.txt").write_text("正文直接开始，没有任何标题的一篇文章。\n", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_text("not an article", encoding="utf-8")
    config = load_config().corpus
    corpus = load_corpus(CorpusConfig(seeds_dir=tmp_path, sources_file=config.sources_file))
    assert [(s.id, s.title) for s in corpus.sources] == [("x1", "新文章的标题"), ("x2", "一个短标题"), ("x3", "x3")]
    assert corpus.passages[0].text == "正文的第一段，讲了一件事情。"


@pytest.mark.parametrize("content, words", [
    ("x.txt: [unclosed\n", ["sources.yaml", "YAML"]),
    ("x.txt:\n  titel: oops\n", ["sources.yaml", "x.txt.titel"]),
    ("x.txt: just a string\n", ["sources.yaml", "x.txt"]),
    ("x.txt:\n  title: 3\n", ["sources.yaml", "x.txt.title"]),
])
def test_bad_sources_file_raises_naming_it(tmp_path, content, words):
    (tmp_path / "x.txt").write_text("内容，一句完整的话。", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        load_corpus(fixture_config(seeds_dir=tmp_path, sources_file=tmp_path / "sources.yaml"))
    assert all(w in str(info.value) for w in words)


def test_missing_or_unreadable_inputs_raise(tmp_path):
    with pytest.raises(CorpusError, match="seeds folder"):
        load_corpus(fixture_config(seeds_dir=tmp_path / "nope"))
    with pytest.raises(CorpusError, match="no .txt or .md"):
        load_corpus(fixture_config(seeds_dir=tmp_path))
    (tmp_path / "bad.txt").write_bytes("中文".encode("gbk"))
    with pytest.raises(CorpusError, match="bad.txt"):
        load_corpus(fixture_config(seeds_dir=tmp_path))
    with pytest.raises(CorpusError, match="missing.yaml"):
        load_corpus(fixture_config(sources_file=tmp_path / "missing.yaml"))


# ---------------------------------------------------------------------------------------------
# The real bundled articles.

@pytest.fixture(scope="module")
def config():
    return load_config().corpus


@pytest.fixture(scope="module")
def corpus(config):
    return load_corpus(config)


SEED_DEBRIS = {
    "000": ["雪贝财经组建了"],
    "001": ["📅 2025年2月18日 ⌚ 1 分钟阅读", "#AI #DeepSeek #开源 #闭源 #LLM", "目录", "文章信息", "字数",
            "阅读时间", "发布时间", "更新时间", "标签", "#AI #DeepSeek #开源 #LLM", "分享这篇文章", "相关文章推荐",
            "DeepSeek 微调", "本文介绍了如何使用合成推理...", "Kimi k1.5: Scaling...", "MoonshotAI 开源的 Kimi k1.5...",
            "字节跳动 OmniHu...", "字节跳动开源的 OmniHuman-1..."],
    "002": ["02", "03", "还没有评论,来说两句吧..."],
    "003": ["_原链接:https://www.youtube.com/watch?v=fwodaUGKSPk_"],
}
SEED_HEADINGS = {
    "000": ["国家层面的政策规划"],
    "001": ["DeepSeek 开源 LLM 对闭源 LLM 的影响", "对闭源 LLM 的影响", "性能基准测试和竞争", "成本效益",
            "开源可用性和定制", "市场动态和战略转变", "创新与社区发展", "环境影响", "AI 研究和应用的转变", "结论",
            "对地缘政治的影响", "AI 主导地位叙事的转变", "出口管制和技术主权", "全球 AI 标准与合作", "中美科技博弈",
            "创新效率与基础设施规模", "开源作为竞争工具", "商业和军事 AI 应用", "经济和市场影响", "技术合作或孤立"],
    "002": ["闭源和开源的互补", "开放,才是未来"],
    "003": [],  # every heading of 003 is a markdown "#" line
}


def seed_lines(source) -> list[str]:
    return [line.strip() for line in source.path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_four_sources_with_titles_and_metadata(corpus):
    assert [s.id[:3] for s in corpus.sources] == ["000", "001", "002", "003"]
    titles = [s.title for s in corpus.sources]
    assert all(t and t != s.id for t, s in zip(titles, corpus.sources))
    assert titles[1] == "DeepSeek 开源 LLM 对闭源 LLM 的影响"
    assert titles[3] == "开源AI模型的崛起:谁将主导未来的科技战场?"
    assert corpus.sources[1].date == "2025-02-18"
    assert corpus.sources[3].url == "https://www.youtube.com/watch?v=fwodaUGKSPk"


def test_seed_debris_is_gone(corpus):
    for source in corpus.sources:
        for debris in SEED_DEBRIS[source.id[:3]]:
            assert not [p.id for p in source.passages if p.text == debris or debris in p.text], debris
    everything = "\n".join(p.text for p in corpus.passages)
    for word in ("公众号", "分享这篇文章", "相关文章推荐", "还没有评论", "分钟阅读", "_原链接", "#AI"):
        assert word not in everything


def test_seed_every_content_sentence_is_kept(corpus):
    """Every sentence of every raw line that is neither listed debris nor a heading is in exactly one passage."""
    checked = 0
    for source in corpus.sources:
        debris = SEED_DEBRIS[source.id[:3]]
        skip = set(SEED_HEADINGS[source.id[:3]])
        lines = seed_lines(source)
        if "相关文章推荐" in lines:
            lines = lines[:lines.index("相关文章推荐")]
        for line in lines:
            if line.startswith("#") or line in skip or any(line.startswith(d) for d in debris):
                continue
            content = re.sub(r"^(>\s?|-\s+)", "", line)
            for sentence in sentences(content):
                holders = [p.id for p in source.passages if sentence in p.text]
                assert len(holders) == 1, (source.id, sentence, holders)
                checked += 1
    assert checked > 250


def test_seed_no_passage_is_a_heading(corpus):
    for source in corpus.sources:
        headings = set(SEED_HEADINGS[source.id[:3]]) | {
            line.lstrip("#").strip() for line in seed_lines(source) if re.match(r"#+\s", line)}
        assert not [p.id for p in source.passages if p.text in headings]
        sections = {p.section.split(" / ")[-1] for p in source.passages} - {""}
        assert sections <= headings


def test_seed_sections(corpus):
    def sections(prefix):
        source = next(s for s in corpus.sources if s.id.startswith(prefix))
        return [p.section for p in source.passages]
    assert "成本效益" in sections("001")
    assert "对地缘政治的影响 / 出口管制和技术主权" in sections("001")
    assert {"闭源和开源的互补", "开放,才是未来"} <= set(sections("002"))
    assert "亮点" in sections("003") and "详细对话" in sections("003")
    highlights = [p.text for p in corpus.passages if p.section == "亮点"]
    assert len(highlights) == 5 and not any(t.startswith("-") for t in highlights)


def test_seed_passage_lengths(corpus, config):
    lengths = [len(p.text) for p in corpus.passages]
    assert 100 <= len(lengths) <= 300
    assert max(lengths) <= config.max_passage_chars + config.min_passage_chars
    assert min(lengths) >= config.min_passage_chars
    assert 50 <= statistics.median(lengths) <= config.max_passage_chars
    for source in corpus.sources:
        assert all(p.text in source.text for p in source.passages)


def test_seed_ids_are_stable_and_neighbours_work(corpus, config):
    again = load_corpus(config)
    assert [(p.id, p.text, p.section) for p in again.passages] == [(p.id, p.text, p.section) for p in corpus.passages]
    middle = corpus.sources[1].passages[5]
    assert corpus.passage(middle.id) is middle
    assert corpus.passage("nope#1") is None
    assert [p.position for p in corpus.neighbours(middle.id)] == [4, 5, 6]
    assert [p.position for p in corpus.neighbours(middle.id, radius=2)] == [3, 4, 5, 6, 7]
    first = corpus.sources[2].passages[0]
    assert corpus.neighbours(first.id) == (first, corpus.sources[2].passages[1])  # never crosses sources
    last = corpus.sources[1].passages[-1]
    assert corpus.neighbours(last.id)[-1] is last
    assert corpus.neighbours("nope#1") == ()


def test_new_article_dropped_into_seeds_gets_its_heading_as_title(tmp_path, config):
    for source in load_corpus(config).sources:
        (tmp_path / source.path.name).write_bytes(source.path.read_bytes())
    (tmp_path / "004_new.md").write_text(
        "# 开源芯片的新机会\n\n## 背景\n\nRISC-V 让更多公司可以设计自己的芯片，而不必支付授权费用。\n", encoding="utf-8")
    corpus = load_corpus(CorpusConfig(seeds_dir=tmp_path, sources_file=config.sources_file))
    new = corpus.sources[-1]
    assert (new.id, new.title) == ("004_new", "开源芯片的新机会")
    assert [(p.id, p.section, p.text) for p in new.passages] == [
        ("004_new#0", "背景", "RISC-V 让更多公司可以设计自己的芯片，而不必支付授权费用。")]
    assert corpus.sources[0].title == load_corpus(config).sources[0].title  # the YAML still applies


# ---------------------------------------------------------------------------------------------
# The parsed library cached with the index.

def copied_seeds(tmp_path: Path) -> CorpusConfig:
    """The real seeds copied into tmp_path (their own sizes and times)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    real = load_config(env={"HOME": str(tmp_path)}).corpus
    for path in real.seeds_dir.iterdir():
        (seeds / path.name).write_bytes(path.read_bytes())
    return CorpusConfig(seeds_dir=seeds, sources_file=real.sources_file)


def test_an_unchanged_library_is_read_from_the_cache_not_the_articles(tmp_path):
    import os

    config = copied_seeds(tmp_path)
    parsed = load_corpus(config, tmp_path / "cache")
    assert list((tmp_path / "cache").glob("corpus-*"))
    # Same size, same modification time, other text: only a reader of the articles would see it.
    for path in config.seeds_dir.iterdir():
        stat = path.stat()
        path.write_bytes(b"x" * stat.st_size)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    cached = load_corpus(config, tmp_path / "cache")
    assert cached == parsed and cached.key == parsed.key and cached.key
    assert [vars_of(p) for p in cached.passages] == [vars_of(p) for p in parsed.passages]
    assert [(s.id, s.title, s.path, s.date, s.url, s.origin, s.text) for s in cached.sources] == \
        [(s.id, s.title, s.path, s.date, s.url, s.origin, s.text) for s in parsed.sources]


def vars_of(passage) -> tuple:
    return (passage.id, passage.source_id, passage.source_title, passage.section, passage.position, passage.text,
            passage.speaker)


def test_an_edited_article_is_read_again(tmp_path):
    config = copied_seeds(tmp_path)
    load_corpus(config, tmp_path / "cache")
    first = sorted(config.seeds_dir.iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n\n新加的一段话，说明文章改过了。\n", encoding="utf-8")
    again = load_corpus(config, tmp_path / "cache")
    assert any("新加的一段话" in p.text for p in again.passages)
    assert again == load_corpus(config)


def test_a_damaged_corpus_cache_is_read_again_with_one_warning(tmp_path, caplog):
    import logging

    config = copied_seeds(tmp_path)
    load_corpus(config, tmp_path / "cache")
    parsed = load_corpus(config)  # not from the cache, whose files are damaged in place below
    [folder] = (tmp_path / "cache").glob("corpus-*")
    (folder / "text.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING):
        again = load_corpus(config, tmp_path / "cache")
    assert again == parsed
    assert len(caplog.records) == 1 and "unusable" in caplog.records[0].message


@pytest.mark.parametrize("lazy", [True, False])
def test_a_cached_library_behaves_as_the_parsed_one(tmp_path, monkeypatch: pytest.MonkeyPatch, lazy: bool):
    """The cache's passages and sources (made when asked for, in a big library): a tuple's
    behaviour, the same values."""
    from bot import corpus as corpus_module
    from bot.corpus import Passages

    monkeypatch.setattr(corpus_module, "LAZY_FROM", 0 if lazy else 10**9)
    config = copied_seeds(tmp_path)
    parsed = load_corpus(config, tmp_path / "cache")
    cached = load_corpus(config, tmp_path / "cache")
    assert isinstance(cached.passages, Passages) == lazy and len(cached.passages) == len(parsed.passages)
    assert cached.passages[-1] == parsed.passages[-1] and cached.passages[3:9] == parsed.passages[3:9]
    assert cached.passages[::7] == parsed.passages[::7] and list(reversed(cached.passages)) == list(reversed(parsed.passages))
    for passage in parsed.passages[::5]:
        assert cached.passage(passage.id) == passage
        assert cached.neighbours(passage.id, 2) == parsed.neighbours(passage.id, 2)
        assert cached.source(passage.source_id) == parsed.source(passage.source_id)
    speakers = [p for p in parsed.passages if p.speaker]
    assert speakers and all(cached.passage(p.id).speaker == p.speaker for p in speakers)
    for missing in ("", "#", "nope#1", f"{parsed.sources[0].id}#999999", f"{parsed.sources[0].id}#x",
                    f"{parsed.sources[0].id}#{len(parsed.sources[0].passages)}"):
        assert cached.passage(missing) is None and cached.neighbours(missing) == ()
    assert cached.source("nope") is None
    assert cached.titles() == parsed.titles() == [s.title for s in parsed.sources]
    first = cached.sources[0]
    assert first.passages == parsed.sources[0].passages
    assert not lazy or first.passages.row_of(first.passages[-1].id) == len(first.passages) - 1


@pytest.mark.parametrize("damage", ["positions", "spans", "speakers"])
def test_inconsistent_corpus_cache_arrays_are_read_again_with_one_warning(tmp_path, caplog, damage: str):
    import logging

    import numpy as np

    config = copied_seeds(tmp_path)
    load_corpus(config, tmp_path / "cache")
    parsed = load_corpus(config)  # not from the cache, whose files are damaged in place below
    [folder] = (tmp_path / "cache").glob("corpus-*")
    name = {"positions": "position", "spans": "end", "speakers": "speaker"}[damage]
    array = np.load(folder / f"{name}.npy")
    array[len(array) // 2] += 10_000
    np.save(folder / f"{name}.npy", array)
    with caplog.at_level(logging.WARNING):
        again = load_corpus(config, tmp_path / "cache")
    assert again == parsed
    assert len(caplog.records) == 1 and "unusable" in caplog.records[0].message
